// Equity curves as one SVG line chart: every run on the same axes (time since its first
// point, equity), drawn by hand — a polyline per run, no chart library.

import type { Equity } from "../api";

const WIDTH = 720;
const HEIGHT = 260;
const PAD = { left: 100, right: 10, top: 10, bottom: 24 };
export const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

export function EquityChart({ curves }: { curves: Equity[] }) {
  const series = curves.map((c) => {
    const start = c.points.length ? Date.parse(c.points[0].ts) : 0;
    return c.points.map((p) => [(Date.parse(p.ts) - start) / 1000, p.equity] as const);
  });
  const all = series.flat();
  if (all.length === 0) return <p data-testid="equity-empty">No equity points.</p>;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0 || 1)) * (WIDTH - PAD.left - PAD.right);
  const sy = (y: number) => HEIGHT - PAD.bottom - ((y - y0) / (y1 - y0)) * (HEIGHT - PAD.top - PAD.bottom);
  return (
    <svg data-testid="equity-chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width="100%" role="img"
      aria-label="equity curves">
      <line x1={PAD.left} y1={HEIGHT - PAD.bottom} x2={WIDTH - PAD.right} y2={HEIGHT - PAD.bottom} stroke="#999" />
      <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={HEIGHT - PAD.bottom} stroke="#999" />
      <text x={PAD.left - 4} y={PAD.top + 10} textAnchor="end" fontSize="11">{y1.toFixed(2)}</text>
      <text x={PAD.left - 4} y={HEIGHT - PAD.bottom} textAnchor="end" fontSize="11">{y0.toFixed(2)}</text>
      <text x={WIDTH - PAD.right} y={HEIGHT - 6} textAnchor="end" fontSize="11">
        {(x1 / 3600).toFixed(2)} h from each run's start
      </text>
      {series.map((points, i) => (
        <polyline
          key={curves[i].run_id}
          data-testid="equity-line"
          data-run-id={curves[i].run_id}
          fill="none"
          stroke={COLORS[i % COLORS.length]}
          strokeWidth="1.5"
          points={points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ")}
        />
      ))}
    </svg>
  );
}
