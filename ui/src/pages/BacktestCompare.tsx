// `/backtest/compare?runs=a,b`: runs side by side — slippage by algorithm and by venue,
// fill ratio, fees, PnL — and their equity curves on one chart.

import { api, type Equity, type GroupFigures, type RunDetail } from "../api";
import { ApiErrorBox } from "../components/ApiErrorBox";
import { COLORS, EquityChart } from "../components/EquityChart";
import { Link } from "../router";
import { usePoll } from "../usePoll";

const fmt = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined ? "-" : v.toLocaleString("en-US", { maximumFractionDigits: digits });

function GroupTable({ title, runs, pick, testid }: {
  title: string; runs: RunDetail[]; pick: (r: RunDetail) => Record<string, GroupFigures>; testid: string;
}) {
  const groups = [...new Set(runs.flatMap((r) => Object.keys(pick(r) ?? {})))].sort();
  return (
    <>
      <h2>{title}</h2>
      <table className="rows" data-testid={testid}>
        <thead>
          <tr>
            <th></th>
            {runs.map((r) => (
              <th key={r.run_id} colSpan={2}><code>{r.run_id}</code></th>
            ))}
          </tr>
          <tr>
            <th></th>
            {runs.map((r) => [<th key={`${r.run_id}-s`}>slippage bps</th>, <th key={`${r.run_id}-f`}>fill ratio</th>])}
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr key={g}>
              <th>{g}</th>
              {runs.map((r) => {
                const figures = (pick(r) ?? {})[g];
                return [
                  <td key={`${r.run_id}-s`}>{fmt(figures?.slippage_bps)}</td>,
                  <td key={`${r.run_id}-f`}>{fmt(figures?.fill_ratio)}</td>,
                ];
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function BacktestCompare({ runIds }: { runIds: string[] }) {
  const key = runIds.join(",");
  const loaded = usePoll(
    async () => {
      const details = await Promise.all(runIds.map(api.run));
      const curves: Equity[] = await Promise.all(runIds.map(api.equity));
      return { details, curves };
    },
    null,
    [key],
  );
  if (runIds.length === 0) {
    return (
      <section data-testid="page-backtest-compare">
        <h1>Compare backtest runs</h1>
        <p data-testid="compare-empty">
          No runs picked: choose two or more on <Link href="/backtest/runs">the runs page</Link>.
        </p>
      </section>
    );
  }
  const runs = loaded.data?.details ?? [];
  const rows: [string, (r: RunDetail) => string][] = [
    ["day", (r) => r.day ?? "-"],
    ["orders", (r) => fmt(r.n_orders, 0)],
    ["fills", (r) => fmt(r.n_fills, 0)],
    ["fill ratio", (r) => fmt(r.fill_ratio)],
    ["fees", (r) => fmt(r.total_fees)],
    ["realized PnL", (r) => fmt(r.realized_pnl)],
    ["PnL", (r) => fmt(r.pnl)],
    ["final equity", (r) => fmt(r.final_equity, 2)],
    ["max drawdown", (r) => fmt(r.max_drawdown)],
  ];
  return (
    <section data-testid="page-backtest-compare">
      <h1>Compare backtest runs</h1>
      <ApiErrorBox error={loaded.error} />
      {runs.length > 0 ? (
        <>
          <table className="rows" data-testid="compare-table">
            <thead>
              <tr>
                <th></th>
                {runs.map((r, i) => (
                  <th key={r.run_id} data-testid="compare-run" style={{ color: COLORS[i % COLORS.length] }}>
                    <code>{r.run_id}</code>{" "}
                    <a href={r.dagster_url} target="_blank" rel="noreferrer" data-testid="compare-dagster-link">
                      Dagster
                    </a>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map(([label, value]) => (
                <tr key={label}>
                  <th>{label}</th>
                  {runs.map((r) => (
                    <td key={r.run_id}>{value(r)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <GroupTable title="Slippage by algorithm" runs={runs} pick={(r) => r.slippage_by_algorithm} testid="slippage-by-algorithm" />
          <GroupTable title="Slippage by venue" runs={runs} pick={(r) => r.slippage_by_venue} testid="slippage-by-venue" />
          <h2>Equity</h2>
          <EquityChart curves={loaded.data?.curves ?? []} />
        </>
      ) : null}
    </section>
  );
}
