"""The execution log: every order the daemon accepted (routed to a venue) or rejected (by
risk, routing or the venue), with the reason, read from the OMS's append-only event log.

How the daemon records each decision (``LiveExecutionOrchestrator``), so what is an entry:

- accepted: a ``routed`` event without ``error`` (the router chose a venue);
- rejected: a ``risk`` event with ``passed`` false (pre-trade risk), a ``routed`` event
  with an ``error`` (no venue, the venue down, an unsupported operation), or a
  ``rejected`` event (the venue refused it, after it was accepted).

A cursor (``after``: the last ``event_id`` seen) makes polling cheap and gapless: entries
come oldest first, and an event once logged never changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import asyncpg

from live_daemon.domain import EventKind

Outcome = Literal["accepted", "rejected"]
DECISION_KINDS = [EventKind.ROUTED.value, EventKind.RISK.value, EventKind.REJECTED.value]
# the outcome of a decision event (NULL for a risk check that passed)
OUTCOME_SQL = (
    "CASE WHEN e.kind = 'routed' AND NOT (e.detail ? 'error') THEN 'accepted' "
    "WHEN e.kind = 'rejected' OR e.kind = 'routed' "
    "OR (e.kind = 'risk' AND e.detail->>'passed' = 'false') THEN 'rejected' END"
)
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class LogQuery:
    """Which entries: after the cursor, of one outcome, strategy or instrument (requested
    key or the venue key it was routed to); ``None`` filters nothing."""

    after: int = 0
    outcome: Outcome | None = None
    strategy: str | None = None
    instrument: str | None = None
    limit: int = 200


def log_sql(query: LogQuery) -> tuple[str, list[Any]]:
    """The statement and its arguments (plain function: tested without a database)."""
    if not 1 <= query.limit <= MAX_ENTRIES:
        raise ValueError(f"limit must be between 1 and {MAX_ENTRIES}, got {query.limit}")
    args: list[Any] = [DECISION_KINDS, query.after]
    where = ["e.kind = ANY($1::text[])", "e.event_id > $2"]
    if query.strategy is not None:
        args.append(query.strategy)
        where.append(f"o.strategy_id = ${len(args)}")
    if query.instrument is not None:
        args.append(query.instrument)
        where.append(f"(o.instrument_key = ${len(args)} OR o.venue_key = ${len(args)})")
    outcome = "outcome IS NOT NULL"
    if query.outcome is not None:
        args.append(query.outcome)
        outcome = f"outcome = ${len(args)}"
    args.append(query.limit)
    sql = (
        "SELECT * FROM (SELECT e.event_id, e.ts, "
        f"{OUTCOME_SQL} AS outcome, o.operation_id, o.order_id, o.strategy_id, "
        "o.instrument_key, o.venue_key, o.side, o.quantity, o.rejection_reason "
        "FROM order_events e JOIN unified_orders o ON o.order_id = e.order_id "
        f"WHERE {' AND '.join(where)}) decisions "
        f"WHERE {outcome} ORDER BY event_id LIMIT ${len(args)}"
    )
    return sql, args


class ExecutionLog:
    """Reads the execution log from the OMS database."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def entries(self, query: LogQuery) -> list[dict[str, Any]]:
        """Entries after ``query.after``, oldest first: ``event_id``, ``ts``, ``outcome``,
        ``operation_id``, ``order_id``, ``strategy_id``, ``instrument_key``, ``venue``,
        ``side``, ``quantity``, ``reason``."""
        sql, args = log_sql(query)
        return [
            {
                "event_id": row["event_id"],
                "ts": row["ts"],
                "outcome": row["outcome"],
                "operation_id": row["operation_id"],
                "order_id": row["order_id"],
                "strategy_id": row["strategy_id"],
                "instrument_key": row["instrument_key"],
                "venue": row["venue_key"],
                "side": row["side"],
                "quantity": row["quantity"],
                "reason": row["rejection_reason"] if row["outcome"] == "rejected" else None,
            }
            for row in await self.pool.fetch(sql, *args)
        ]
