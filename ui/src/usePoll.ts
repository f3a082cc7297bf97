// Run `load` now and every `intervalMs` while the component is mounted (and again when a
// dependency changes); the last answer or error is kept, one request at a time.

import { useEffect, useRef, useState } from "react";
import { ApiError } from "./api";

export interface Polled<T> {
  data: T | undefined;
  error: ApiError | undefined;
  reload: () => void;
}

export function usePoll<T>(load: () => Promise<T>, intervalMs: number | null, deps: unknown[]): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let alive = true;
    let timer: number | undefined;
    const run = async () => {
      try {
        const value = await loadRef.current();
        if (!alive) return;
        setData(value);
        setError(undefined);
      } catch (err) {
        if (!alive) return;
        setError(err instanceof ApiError ? err : new ApiError(0, String(err)));
      }
      if (alive && intervalMs !== null) timer = window.setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick, intervalMs]);

  return { data, error, reload: () => setTick((t) => t + 1) };
}
