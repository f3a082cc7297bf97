// `/live/orders`: the daemon's orders, newest first, with its filters and search; a row
// opens the order's detail.

import { useState } from "react";
import { ORDER_STATUSES, api } from "../api";
import { ApiErrorBox } from "../components/ApiErrorBox";
import { navigate } from "../router";
import { usePoll } from "../usePoll";

const ORDERS_POLL_MS = 2000;

interface Filters {
  status: string;
  venue: string;
  instrument: string;
  strategy: string;
  since: string; // datetime-local, read as UTC
  until: string;
  q: string;
}

const NO_FILTERS: Filters = { status: "", venue: "", instrument: "", strategy: "", since: "", until: "", q: "" };

/** `2025-01-15T10:00` typed in a datetime-local field, as UTC ISO 8601. */
function utc(local: string): string {
  if (!local) return "";
  return local.length === 16 ? `${local}:00Z` : `${local}Z`; // with or without seconds
}

export function Orders() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const params: Record<string, string> = {
    ...filters,
    since: utc(filters.since),
    until: utc(filters.until),
    limit: "200",
  };
  const orders = usePoll(() => api.orders(params), ORDERS_POLL_MS, [JSON.stringify(filters)]);
  const set = (name: keyof Filters) => (value: string) => setFilters((f) => ({ ...f, [name]: value }));
  const text = (name: keyof Filters, placeholder: string) => (
    <input
      data-testid={`filter-${name}`}
      placeholder={placeholder}
      value={filters[name]}
      onChange={(e) => set(name)(e.target.value)}
    />
  );

  return (
    <section data-testid="page-orders">
      <h1>Orders</h1>
      <div className="filters">
        {text("q", "search operation or order id")}
        <select data-testid="filter-status" value={filters.status} onChange={(e) => set("status")(e.target.value)}>
          <option value="">any status</option>
          {ORDER_STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
        {text("venue", "venue")}
        {text("instrument", "instrument")}
        {text("strategy", "strategy")}
        <label>
          since (UTC){" "}
          <input type="datetime-local" data-testid="filter-since" value={filters.since}
            onChange={(e) => set("since")(e.target.value)} />
        </label>
        <label>
          until (UTC){" "}
          <input type="datetime-local" data-testid="filter-until" value={filters.until}
            onChange={(e) => set("until")(e.target.value)} />
        </label>
        <button data-testid="filter-clear" onClick={() => setFilters(NO_FILTERS)}>
          clear
        </button>
      </div>
      <ApiErrorBox error={orders.error} />
      {orders.data && orders.data.length === 0 ? <p data-testid="orders-empty">No orders match.</p> : null}
      <table data-testid="orders-table" className="rows">
        <thead>
          <tr>
            <th>created</th>
            <th>status</th>
            <th>order (as exec-cli prints it)</th>
          </tr>
        </thead>
        <tbody>
          {(orders.data ?? []).map((order) => (
            <tr
              key={order.order_id}
              data-testid="order-row"
              data-operation-id={order.operation_id}
              data-status={order.status}
              className="clickable"
              onClick={() => navigate(`/live/orders/${encodeURIComponent(order.operation_id)}`)}
            >
              <td>{order.created_at}</td>
              <td className={`status ${order.status}`}>{order.status}</td>
              <td>
                <code data-testid="order-text">{order.text}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
