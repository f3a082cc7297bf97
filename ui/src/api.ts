// The one way the UI talks to the console: plain fetch, typed answers, and errors that
// carry the API's own `detail` so a page can show it as it is.
//
// `/api/...` is the console itself (status, backtest results); `/daemon/api/...` is the
// live daemon's API forwarded by the console, with the bearer token as a header.

import { getToken } from "./token";

// --- the daemon's contract ------------------------------------------------------------

export type OrderStatus =
  | "RECEIVED"
  | "ACCEPTED"
  | "SUBMITTED"
  | "PARTIALLY_FILLED"
  | "FILLED"
  | "CANCELED"
  | "REJECTED";

export const FINAL_STATUSES: OrderStatus[] = ["FILLED", "CANCELED", "REJECTED"];
export const ORDER_STATUSES: OrderStatus[] = [
  "RECEIVED", "ACCEPTED", "SUBMITTED", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED",
];

export type ExecAlgorithm = "NORMAL" | "TWAP" | "VWAP" | "ICEBERG";

export interface OrderIn {
  operation_id: string;
  instrument_key: string;
  side: "BUY" | "SELL";
  quantity: string; // decimals travel as strings
  order_type: "MARKET" | "LIMIT";
  price: string | null;
  strategy_id: string;
  exec_algorithm: ExecAlgorithm;
  exec_algorithm_params: Record<string, unknown>;
}

export interface Fill {
  fill_id: string;
  quantity: string;
  price: string;
  fee: string;
  fee_currency: string;
  liquidity_side: string;
  timestamp: string;
  text: string;
}

export interface Order {
  operation_id: string;
  order_id: string;
  status: OrderStatus;
  rejection_reason: string | null;
  venue: string | null;
  instrument_key: string;
  strategy_id: string;
  side: string;
  order_type: string;
  quantity: string;
  price: string | null;
  exec_algorithm: string;
  filled_quantity: string;
  avg_fill_price: string | null;
  fills: Fill[];
  created_at: string;
  updated_at: string;
  text: string; // the line exec-cli prints for it
}

export interface TimelineEvent {
  event_id: number;
  ts: string;
  kind: string; // submitted|risk|routed|acknowledged|filled|cancelled|rejected|recovered
  detail: Record<string, unknown>;
}

export interface Timeline {
  operation_id: string;
  order_id: string;
  events: TimelineEvent[];
}

export interface Position {
  scope: "venue" | "aggregate" | null;
  strategy_id?: string | null;
  instrument_key?: string | null;
  venue_key?: string | null;
  canonical_key?: string | null;
  quantity?: string | null;
  avg_entry_price?: string | null;
  realized_pnl?: string | null;
  unrealized_pnl?: string | null;
  fees?: string | null;
  venues?: Record<string, string> | null;
  text: string;
}

export interface LogEntry {
  event_id: number;
  ts: string;
  outcome: string;
  operation_id: string;
  order_id: string | null;
  strategy_id: string;
  instrument_key: string;
  venue: string | null;
  side: string;
  quantity: string;
  reason: string | null;
  text: string;
}

export interface Logs {
  entries: LogEntry[];
  last_event_id: number | null;
}

// --- the console's own answers --------------------------------------------------------

export interface Service {
  up: boolean;
  detail?: unknown;
  url?: string;
}

export interface Status {
  services: {
    daemon: Service;
    database: Service;
    venues: Record<string, Service>;
    results_store: Service;
    dagster: Service;
  };
  pages: { live: boolean; backtest: boolean };
}

export interface GroupFigures {
  slippage_bps: number | null;
  fill_ratio?: number;
  orders?: number;
  filled_notional?: number;
  ordered_notional?: number;
}

export interface RunSummary {
  run_id: string;
  location: string;
  day: string | null;
  n_orders: number | null;
  n_fills: number | null;
  total_fees: number | null;
  realized_pnl: number | null;
  pnl: number | null;
  final_equity: number | null;
  max_drawdown: number | null;
  strategy_ids: string[] | null;
  venues: string[] | null;
  dagster_url: string;
}

export interface RunDetail extends RunSummary {
  slippage_by_algorithm: Record<string, GroupFigures>;
  slippage_by_venue: Record<string, GroupFigures>;
  fill_ratio: number;
  fees_by_venue: Record<string, number>;
}

export interface Runs {
  store: string;
  runs: RunSummary[];
  problems: string[];
}

export interface EquityPoint {
  ts: string;
  equity: number;
  drawdown: number | null;
}

export interface Equity {
  run_id: string;
  points: EquityPoint[];
  total_points: number;
}

// --- the client -----------------------------------------------------------------------

export interface FieldError {
  field: string;
  message: string;
  type: string;
}

/** A non-2xx answer: `detail` is the API's own words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
  }
}

async function request<T>(method: string, url: string, body?: unknown, auth = false): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = getToken();
  if (auth && token) headers["Authorization"] = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `the console cannot be reached (${String(err)})`);
  }
  const text = await response.text();
  let data: unknown = undefined;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!response.ok) {
    const obj = (data ?? {}) as { detail?: unknown; errors?: FieldError[] };
    const detail =
      typeof obj.detail === "string"
        ? obj.detail
        : `HTTP ${response.status}: ${text.slice(0, 300) || response.statusText}`;
    throw new ApiError(response.status, detail, obj.errors ?? []);
  }
  return data as T;
}

/** A query string of the non-empty values. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

const daemon = <T>(method: string, path: string, body?: unknown) =>
  request<T>(method, `/daemon/api${path}`, body, true);

export const api = {
  status: () => request<Status>("GET", "/api/status"),
  runs: () => request<Runs>("GET", "/api/backtest/runs"),
  run: (id: string) => request<RunDetail>("GET", `/api/backtest/runs/${encodeURIComponent(id)}`),
  equity: (id: string) =>
    request<Equity>("GET", `/api/backtest/runs/${encodeURIComponent(id)}/equity`),

  submit: (order: OrderIn) => daemon<Order>("POST", "/orders", order),
  order: (op: string) => daemon<Order>("GET", `/orders/${encodeURIComponent(op)}`),
  timeline: (op: string) =>
    daemon<Timeline>("GET", `/orders/${encodeURIComponent(op)}/timeline`),
  orders: (filters: Record<string, string>) => daemon<Order[]>("GET", `/orders${query(filters)}`),
  positions: () => daemon<Position[]>("GET", "/positions"),
  logs: (params: Record<string, string | number | null>) =>
    daemon<Logs>("GET", `/logs${query(params)}`),
};
