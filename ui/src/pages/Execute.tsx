// `/live/execute`: the order form. As the operator types it shows the `exec-cli submit`
// command and the JSON body of the same order; a problem names its field and nothing is
// sent; once sent, the order's line as exec-cli prints it, polled until final.

import { useEffect, useState, type ReactNode } from "react";
import { ApiError, FINAL_STATUSES, api, type Order } from "../api";
import { ApiErrorBox } from "../components/ApiErrorBox";
import {
  ALGORITHM_PARAMS,
  cliCommand,
  emptyForm,
  freshOperationId,
  orderBody,
  validate,
  type OrderForm,
} from "../orderForm";
import { Link } from "../router";

const ORDER_POLL_MS = 500;

function Field({ name, label, problem, children }: {
  name: string; label: string; problem?: string; children: ReactNode;
}) {
  return (
    <div className={problem ? "field invalid" : "field"}>
      <label htmlFor={`field-${name}`}>{label}</label>
      {children}
      {problem ? (
        <div className="problem" data-testid={`error-${name}`}>
          {problem}
        </div>
      ) : null}
    </div>
  );
}

export function Execute() {
  const [form, setForm] = useState<OrderForm>(emptyForm);
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [apiError, setApiError] = useState<ApiError>();
  const [order, setOrder] = useState<Order>();
  const [sending, setSending] = useState(false);

  // the sent order, polled until it is final
  useEffect(() => {
    if (!order || FINAL_STATUSES.includes(order.status)) return;
    const timer = window.setTimeout(async () => {
      try {
        setOrder(await api.order(order.operation_id));
      } catch (err) {
        setApiError(err as ApiError);
      }
    }, ORDER_POLL_MS);
    return () => window.clearTimeout(timer);
  }, [order]);

  const set = (name: keyof OrderForm) => (value: string) => {
    setForm((f) => ({ ...f, [name]: value }));
    setProblems((p) => {
      const { [name]: _dropped, ...rest } = p;
      return rest;
    });
  };
  const input = (name: keyof OrderForm, extra: Record<string, string> = {}) => (
    <input
      id={`field-${name}`}
      data-testid={`field-${name}`}
      value={form[name]}
      onChange={(e) => set(name)(e.target.value)}
      {...extra}
    />
  );

  const submit = async () => {
    setApiError(undefined);
    const found = validate(form);
    setProblems(found);
    if (Object.keys(found).length > 0) return; // nothing is sent
    setSending(true);
    try {
      setOrder(await api.submit(orderBody(form)));
      setForm((f) => ({ ...f, operation_id: freshOperationId() })); // the next one is new
    } catch (err) {
      setApiError(err instanceof ApiError ? err : new ApiError(0, String(err)));
    } finally {
      setSending(false);
    }
  };

  const params = ALGORITHM_PARAMS[form.exec_algorithm];
  return (
    <section data-testid="page-execute">
      <h1>Execute an order</h1>
      <form
        className="order-form"
        data-testid="order-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Field name="operation_id" label="Operation id" problem={problems.operation_id}>
          {input("operation_id")}
        </Field>
        <Field name="instrument_key" label="Instrument" problem={problems.instrument_key}>
          {input("instrument_key", { placeholder: "ANY:PERPETUAL:BTC-USDT@LIN" })}
        </Field>
        <Field name="side" label="Side">
          <select id="field-side" data-testid="field-side" value={form.side}
            onChange={(e) => set("side")(e.target.value)}>
            <option>BUY</option>
            <option>SELL</option>
          </select>
        </Field>
        <Field name="quantity" label="Quantity" problem={problems.quantity}>
          {input("quantity", { inputMode: "decimal" })}
        </Field>
        <Field name="order_type" label="Order type">
          <select id="field-order_type" data-testid="field-order_type" value={form.order_type}
            onChange={(e) => set("order_type")(e.target.value)}>
            <option>MARKET</option>
            <option>LIMIT</option>
          </select>
        </Field>
        {form.order_type === "LIMIT" ? (
          <Field name="price" label="Limit price" problem={problems.price}>
            {input("price", { inputMode: "decimal" })}
          </Field>
        ) : null}
        <Field name="strategy_id" label="Strategy" problem={problems.strategy_id}>
          {input("strategy_id")}
        </Field>
        <Field name="exec_algorithm" label="Execution algorithm">
          <select id="field-exec_algorithm" data-testid="field-exec_algorithm"
            value={form.exec_algorithm} onChange={(e) => set("exec_algorithm")(e.target.value)}>
            <option>NORMAL</option>
            <option>TWAP</option>
            <option>VWAP</option>
            <option>ICEBERG</option>
          </select>
        </Field>
        {params.map((name) => (
          <Field key={name} name={name} label={name} problem={problems[name]}>
            {input(name, { placeholder: name === "profile" ? "u_shape | flat" : "" })}
          </Field>
        ))}
        <button type="submit" data-testid="submit" disabled={sending}>
          {sending ? "Sending…" : "Submit"}
        </button>
      </form>

      {Object.keys(problems).length > 0 ? (
        <div className="error" data-testid="form-problems" role="alert">
          Not sent: {Object.values(problems).join("; ")}
        </div>
      ) : null}
      <ApiErrorBox error={apiError} />

      <h2>The same order from a shell</h2>
      <pre className="command" data-testid="cli-preview">{cliCommand(form)}</pre>
      <h2>JSON body</h2>
      <pre data-testid="json-preview">{JSON.stringify(orderBody(form), null, 2)}</pre>

      {order ? (
        <>
          <h2>
            Sent:{" "}
            <Link href={`/live/orders/${encodeURIComponent(order.operation_id)}`} data-testid="sent-link">
              {order.operation_id}
            </Link>
          </h2>
          <pre className="text" data-testid="sent-order-text" data-status={order.status}>
            {order.text}
          </pre>
        </>
      ) : null}
    </section>
  );
}
