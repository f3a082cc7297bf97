// The order form's one model: what the operator typed, turned into the JSON body the UI
// sends, the `exec-cli submit …` command that sends the same order, and the problems that
// stop it being sent (each naming its field). Pure functions, no React.

import type { ExecAlgorithm, OrderIn } from "./api";

export interface OrderForm {
  operation_id: string;
  instrument_key: string;
  side: "BUY" | "SELL";
  quantity: string;
  order_type: "MARKET" | "LIMIT";
  price: string;
  strategy_id: string;
  exec_algorithm: ExecAlgorithm;
  // the algorithm's parameters as typed; empty ones are left out
  duration_sec: string;
  max_slices: string;
  profile: string;
  display_quantity: string;
  limit_offset_bps: string;
}

/** Which parameters each algorithm takes (live_daemon/api/models.py OrderIn). */
export const ALGORITHM_PARAMS: Record<ExecAlgorithm, (keyof OrderForm)[]> = {
  NORMAL: [],
  TWAP: ["duration_sec", "max_slices"],
  VWAP: ["duration_sec", "max_slices", "profile"],
  ICEBERG: ["display_quantity", "limit_offset_bps", "duration_sec"],
};
const INTEGER_PARAMS = new Set(["duration_sec", "max_slices"]);
const NUMBER_PARAMS = new Set(["limit_offset_bps"]);

// `[ASSET_CLASS:]VENUE:INSTRUMENT_TYPE:PAYLOAD[@SUFFIX]` (execution_core/instruments/ids.py);
// whether the daemon knows the instrument, only it can say (its 422 is shown).
export const INSTRUMENT_RE =
  /^(?:[A-Z][A-Z0-9_]*:)?[A-Z0-9][A-Z0-9_-]*:[A-Z][A-Z_]*:[A-Z0-9][A-Z0-9._-]*(?:@[A-Z0-9]+)?$/;
export const OPERATION_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;
const DECIMAL_RE = /^\d+(\.\d+)?$/;

export function freshOperationId(): string {
  const stamp = new Date().toISOString().replace(/[-:TZ.]/g, "").slice(0, 14);
  const random = Math.random().toString(36).slice(2, 8);
  return `ui-${stamp}-${random}`;
}

export function emptyForm(): OrderForm {
  return {
    operation_id: freshOperationId(),
    instrument_key: "ANY:PERPETUAL:BTC-USDT@LIN",
    side: "BUY",
    quantity: "0.01",
    order_type: "MARKET",
    price: "",
    strategy_id: "operator",
    exec_algorithm: "NORMAL",
    duration_sec: "",
    max_slices: "",
    profile: "",
    display_quantity: "",
    limit_offset_bps: "",
  };
}

export function algorithmParams(form: OrderForm): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const name of ALGORITHM_PARAMS[form.exec_algorithm]) {
    const raw = form[name].trim();
    if (raw === "") continue;
    if (INTEGER_PARAMS.has(name) && /^\d+$/.test(raw)) params[name] = Number(raw);
    else if (NUMBER_PARAMS.has(name) && !Number.isNaN(Number(raw))) params[name] = Number(raw);
    else params[name] = raw; // display_quantity is a decimal string, profile a name
  }
  return params;
}

export function orderBody(form: OrderForm): OrderIn {
  return {
    operation_id: form.operation_id.trim(),
    instrument_key: form.instrument_key.trim(),
    side: form.side,
    quantity: form.quantity.trim(),
    order_type: form.order_type,
    price: form.order_type === "LIMIT" ? form.price.trim() : null,
    strategy_id: form.strategy_id,
    exec_algorithm: form.exec_algorithm,
    exec_algorithm_params: algorithmParams(form),
  };
}

/** One argument for a POSIX shell: as is when it is plainly safe, else in single quotes
 * (a single quote inside becomes '"'"'). `shlex.split` reads it back exactly. */
export function shellQuote(arg: string): string {
  if (arg !== "" && /^[A-Za-z0-9@%+=:,./_-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'"'"'`)}'`;
}

/** The `exec-cli submit …` command that sends the same order (live_daemon/cli.py). */
export function cliCommand(form: OrderForm): string {
  const body = orderBody(form);
  const args = [
    "exec-cli", "submit",
    "--operation-id", body.operation_id,
    "--instrument", body.instrument_key,
    "--side", body.side,
    "--quantity", body.quantity,
    "--strategy", body.strategy_id,
  ];
  if (body.order_type === "LIMIT") args.push("--order-type", "LIMIT", "--price", body.price ?? "");
  if (body.exec_algorithm !== "NORMAL") args.push("--algo", body.exec_algorithm);
  if (Object.keys(body.exec_algorithm_params).length > 0) {
    args.push("--algo-params", JSON.stringify(body.exec_algorithm_params));
  }
  return args.map(shellQuote).join(" ");
}

function positiveDecimal(value: string): boolean {
  return DECIMAL_RE.test(value) && Number(value) > 0;
}

/** Field → problem; empty when the order may be sent. */
export function validate(form: OrderForm): Record<string, string> {
  const problems: Record<string, string> = {};
  const body = orderBody(form);
  if (!OPERATION_ID_RE.test(body.operation_id)) {
    problems.operation_id = "operation_id: 1-64 characters of A-Z a-z 0-9 . _ : -";
  }
  if (!INSTRUMENT_RE.test(body.instrument_key)) {
    problems.instrument_key =
      "instrument_key: expected [ASSET_CLASS:]VENUE:TYPE:PAYLOAD[@SUFFIX], uppercase " +
      "(e.g. ANY:PERPETUAL:BTC-USDT@LIN)";
  }
  if (!positiveDecimal(body.quantity)) {
    problems.quantity = `quantity: must be a decimal number > 0, got '${form.quantity}'`;
  }
  if (form.order_type === "LIMIT" && !positiveDecimal(form.price.trim())) {
    problems.price =
      form.price.trim() === ""
        ? "price: is required for a LIMIT order"
        : `price: must be a decimal number > 0, got '${form.price}'`;
  }
  if (body.strategy_id.trim() === "" || body.strategy_id !== body.strategy_id.trim()) {
    problems.strategy_id = "strategy_id: required, without leading or trailing spaces";
  }
  for (const name of ALGORITHM_PARAMS[form.exec_algorithm]) {
    const raw = form[name].trim();
    if (raw === "") continue;
    if (INTEGER_PARAMS.has(name) && !/^[1-9]\d*$/.test(raw)) {
      problems[name] = `${name}: must be a whole number > 0, got '${raw}'`;
    } else if (name === "display_quantity" && !positiveDecimal(raw)) {
      problems[name] = `display_quantity: must be a decimal number > 0, got '${raw}'`;
    } else if (NUMBER_PARAMS.has(name) && Number.isNaN(Number(raw))) {
      problems[name] = `${name}: must be a number, got '${raw}'`;
    }
  }
  return problems;
}
