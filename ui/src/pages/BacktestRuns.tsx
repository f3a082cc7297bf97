// `/backtest/runs`: the runs committed to the results store with their summaries; pick two
// or more to compare them side by side.

import { useState } from "react";
import { api } from "../api";
import { ApiErrorBox } from "../components/ApiErrorBox";
import { Link } from "../router";
import { usePoll } from "../usePoll";

const fmt = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined ? "-" : v.toLocaleString("en-US", { maximumFractionDigits: digits });

export function BacktestRuns() {
  const runs = usePoll(api.runs, null, []);
  const [picked, setPicked] = useState<string[]>([]);
  const toggle = (id: string) =>
    setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id]));
  const list = runs.data?.runs ?? [];
  return (
    <section data-testid="page-backtest-runs">
      <h1>Backtest runs</h1>
      <ApiErrorBox error={runs.error} />
      {runs.data ? (
        <p className="muted">
          results store <code data-testid="results-store">{runs.data.store}</code>
        </p>
      ) : null}
      {runs.data?.problems.map((p) => (
        <div key={p} className="error" data-testid="run-problem">{p}</div>
      ))}
      {runs.data && list.length === 0 ? (
        <div data-testid="runs-empty" className="instructions">
          <p>No committed backtest run in this results store yet.</p>
          <p>
            Run <code>make demo</code>, or materialize <code>backtest_results</code> in Dagster
            (<code>make dagster-dev</code>).
          </p>
        </div>
      ) : null}
      {list.length > 0 ? (
        <>
          <table data-testid="runs-table" className="rows">
            <thead>
              <tr>
                <th></th>
                <th>run</th>
                <th>day</th>
                <th>orders</th>
                <th>fills</th>
                <th>fees</th>
                <th>PnL</th>
                <th>final equity</th>
                <th>max drawdown</th>
                <th>Dagster</th>
              </tr>
            </thead>
            <tbody>
              {list.map((run) => (
                <tr key={run.run_id} data-testid="run-row" data-run-id={run.run_id}>
                  <td>
                    <input type="checkbox" data-testid="run-pick" checked={picked.includes(run.run_id)}
                      onChange={() => toggle(run.run_id)} />
                  </td>
                  <td>
                    <Link href={`/backtest/compare?runs=${encodeURIComponent(run.run_id)}`}>
                      <code>{run.run_id}</code>
                    </Link>
                  </td>
                  <td>{run.day ?? "-"}</td>
                  <td>{fmt(run.n_orders, 0)}</td>
                  <td>{fmt(run.n_fills, 0)}</td>
                  <td>{fmt(run.total_fees)}</td>
                  <td data-testid="run-pnl">{fmt(run.pnl)}</td>
                  <td>{fmt(run.final_equity)}</td>
                  <td>{fmt(run.max_drawdown)}</td>
                  <td>
                    <a href={run.dagster_url} target="_blank" rel="noreferrer" data-testid="run-dagster-link">
                      open
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            {picked.length >= 2 ? (
              <Link href={`/backtest/compare?runs=${picked.map(encodeURIComponent).join(",")}`}
                data-testid="compare-link">
                Compare {picked.length} runs
              </Link>
            ) : (
              <span className="muted" data-testid="compare-hint">Pick two or more runs to compare them.</span>
            )}
          </p>
        </>
      ) : null}
    </section>
  );
}
