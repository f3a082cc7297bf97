// `/live/orders/<operation id>`: one order — its line, its fills' lines, and its timeline:
// the risk result, the routing decision with each venue's score, the venue's order id.

import { FINAL_STATUSES, api, type TimelineEvent } from "../api";
import { ApiErrorBox } from "../components/ApiErrorBox";
import { Link } from "../router";
import { usePoll } from "../usePoll";

const DETAIL_POLL_MS = 1000;

function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">-</span>;
  if (typeof value === "object") return <code>{JSON.stringify(value)}</code>;
  return <span>{String(value)}</span>;
}

/** An event's detail as a table of its fields. */
function DetailTable({ detail, testid }: { detail: Record<string, unknown>; testid: string }) {
  return (
    <table className="kv" data-testid={testid}>
      <tbody>
        {Object.entries(detail).map(([key, value]) => (
          <tr key={key}>
            <th>{key}</th>
            <td>
              <Value value={value} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The router's per-venue scores, whether a {venue: score} map or a list of rows. */
function Scores({ scores }: { scores: unknown }) {
  const rows: Record<string, unknown>[] = Array.isArray(scores)
    ? (scores as Record<string, unknown>[])
    : Object.entries((scores ?? {}) as Record<string, unknown>).map(([venue, score]) =>
        typeof score === "object" && score !== null ? { venue, ...score } : { venue, score },
      );
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return (
    <table data-testid="routing-scores" className="rows">
      <thead>
        <tr>{columns.map((c) => <th key={c}>{c}</th>)}</tr>
      </thead>
      <tbody>
        {rows.map((row, i) => (
          <tr key={i} data-testid="routing-score-row">
            {columns.map((c) => (
              <td key={c}>
                <Value value={row[c]} />
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function find(events: TimelineEvent[], kind: string): TimelineEvent | undefined {
  return events.find((e) => e.kind === kind);
}

export function OrderDetail({ operationId }: { operationId: string }) {
  const order = usePoll(() => api.order(operationId), DETAIL_POLL_MS, [operationId]);
  const final = order.data ? FINAL_STATUSES.includes(order.data.status) : false;
  const timeline = usePoll(() => api.timeline(operationId), final ? null : DETAIL_POLL_MS, [operationId, final]);
  const events = timeline.data?.events ?? [];
  const risk = find(events, "risk");
  const routed = find(events, "routed");
  const acknowledged = find(events, "acknowledged");
  // the acknowledgement carries it; a venue that acknowledges by filling may name it on
  // another event only (or on none: then "-")
  const venueOrderId = [acknowledged, ...events]
    .map((e) => e?.detail["venue_order_id"])
    .find((id) => id !== undefined && id !== null);
  const routedScores = routed?.detail["scores"];

  return (
    <section data-testid="page-order-detail">
      <p>
        <Link href="/live/orders">← orders</Link>
      </p>
      <h1>
        Order <code>{operationId}</code>
      </h1>
      <ApiErrorBox error={order.error} />
      {order.data ? (
        <>
          <pre className="text" data-testid="order-detail-text" data-status={order.data.status}>
            {order.data.text}
          </pre>
          <p>
            order id <code data-testid="order-id">{order.data.order_id}</code> · venue order id{" "}
            <code data-testid="venue-order-id">{venueOrderId ? String(venueOrderId) : "-"}</code>
          </p>
          <h2>Fills</h2>
          {order.data.fills.length === 0 ? <p data-testid="fills-empty">No fills.</p> : null}
          {order.data.fills.map((fill) => (
            <pre key={fill.fill_id} className="text" data-testid="fill-text">
              {fill.text}
            </pre>
          ))}
        </>
      ) : null}

      <h2>Risk</h2>
      {risk ? <DetailTable detail={risk.detail} testid="risk-result" /> : <p className="muted">no risk event</p>}
      <h2>Routing</h2>
      {routed ? (
        <>
          <DetailTable
            detail={Object.fromEntries(Object.entries(routed.detail).filter(([k]) => k !== "scores"))}
            testid="routing-decision"
          />
          {routedScores !== undefined ? <Scores scores={routedScores} /> : null}
        </>
      ) : (
        <p className="muted">not routed</p>
      )}

      <h2>Timeline</h2>
      <ApiErrorBox error={timeline.error} testid="timeline-error" />
      <table data-testid="timeline" className="rows">
        <thead>
          <tr>
            <th>#</th>
            <th>time</th>
            <th>event</th>
            <th>detail</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.event_id} data-testid="timeline-event" data-kind={event.kind}>
              <td>{event.event_id}</td>
              <td>{event.ts}</td>
              <td>{event.kind}</td>
              <td>
                <code>{JSON.stringify(event.detail)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
