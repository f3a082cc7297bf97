// `/live/positions`: one row per instrument (the daemon's aggregate rows), each with its
// per-venue rows underneath; every line is the daemon's own `text`.

import { api, type Position } from "../api";
import { ApiErrorBox } from "../components/ApiErrorBox";
import { usePoll } from "../usePoll";

const POSITIONS_POLL_MS = 2000;

/** The venue-less instrument a per-venue row belongs to (`BYBIT:PERPETUAL:X` → `PERPETUAL:X`). */
function canonical(row: Position): string {
  if (row.canonical_key) return row.canonical_key;
  const key = row.instrument_key ?? row.venue_key ?? "";
  return key.split(":").slice(1).join(":");
}

export function Positions() {
  const positions = usePoll(api.positions, POSITIONS_POLL_MS, []);
  const rows = positions.data ?? [];
  const aggregates = rows.filter((r) => r.scope === "aggregate");
  const perVenue = rows.filter((r) => r.scope !== "aggregate");
  return (
    <section data-testid="page-positions">
      <h1>Positions</h1>
      <ApiErrorBox error={positions.error} />
      {positions.data && rows.length === 0 ? <p data-testid="positions-empty">No positions.</p> : null}
      {aggregates.map((agg) => (
        <div key={agg.canonical_key ?? agg.text} className="position" data-testid="position-aggregate"
          data-instrument={agg.canonical_key ?? ""}>
          <pre className="text" data-testid="position-text">{agg.text}</pre>
          <table className="rows">
            <thead>
              <tr>
                <th>venue</th>
                <th>strategy</th>
                <th>quantity</th>
                <th>realized PnL</th>
                <th>unrealized PnL</th>
                <th>as exec-cli prints it</th>
              </tr>
            </thead>
            <tbody>
              {perVenue
                .filter((row) => canonical(row) === agg.canonical_key)
                .map((row) => (
                  <tr key={`${row.venue_key}-${row.strategy_id}`} data-testid="position-venue">
                    <td>{row.venue_key ?? row.instrument_key}</td>
                    <td>{row.strategy_id}</td>
                    <td>{row.quantity}</td>
                    <td>{row.realized_pnl ?? "-"}</td>
                    <td>{row.unrealized_pnl ?? "-"}</td>
                    <td>
                      <code data-testid="position-venue-text">{row.text}</code>
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
