// `/live/logs`: the execution log, oldest first, polled every 2 s from the `after` cursor
// (only new entries cross); changing a filter starts again from the beginning.

import { useEffect, useRef, useState } from "react";
import { ApiError, api, type LogEntry } from "../api";
import { ApiErrorBox } from "../components/ApiErrorBox";

export const LOG_POLL_MS = 2000;
const MAX_KEPT = 2000;

interface Filters {
  outcome: string;
  strategy: string;
  instrument: string;
}

export function Logs() {
  const [filters, setFilters] = useState<Filters>({ outcome: "", strategy: "", instrument: "" });
  const [entries, setEntries] = useState<LogEntry[]>([]);
  const [error, setError] = useState<ApiError>();
  const cursor = useRef<number | null>(null);

  useEffect(() => {
    let alive = true;
    let timer: number | undefined;
    cursor.current = null;
    setEntries([]);
    const poll = async () => {
      try {
        const page = await api.logs({ ...filters, after: cursor.current, limit: 500 });
        if (!alive) return;
        if (page.last_event_id !== null) cursor.current = page.last_event_id;
        if (page.entries.length) setEntries((old) => [...old, ...page.entries].slice(-MAX_KEPT));
        setError(undefined);
      } catch (err) {
        if (alive) setError(err instanceof ApiError ? err : new ApiError(0, String(err)));
      }
      if (alive) timer = window.setTimeout(poll, LOG_POLL_MS);
    };
    void poll();
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [filters]);

  const set = (name: keyof Filters) => (value: string) => setFilters((f) => ({ ...f, [name]: value }));
  return (
    <section data-testid="page-logs">
      <h1>Execution log</h1>
      <div className="filters">
        <select data-testid="log-filter-outcome" value={filters.outcome} onChange={(e) => set("outcome")(e.target.value)}>
          <option value="">accepted and rejected</option>
          <option value="accepted">accepted</option>
          <option value="rejected">rejected</option>
        </select>
        <input data-testid="log-filter-strategy" placeholder="strategy" value={filters.strategy}
          onChange={(e) => set("strategy")(e.target.value)} />
        <input data-testid="log-filter-instrument" placeholder="instrument" value={filters.instrument}
          onChange={(e) => set("instrument")(e.target.value)} />
      </div>
      <ApiErrorBox error={error} />
      {entries.length === 0 ? <p data-testid="logs-empty">No entries yet.</p> : null}
      <div className="log" data-testid="log-entries">
        {entries.map((entry) => (
          <div key={entry.event_id} data-testid="log-entry" data-outcome={entry.outcome}
            data-operation-id={entry.operation_id} className={`log-line ${entry.outcome}`}>
            {entry.text}
          </div>
        ))}
      </div>
    </section>
  );
}
