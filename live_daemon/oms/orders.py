"""The write-ahead order store (``unified_orders`` + ``order_events`` + ``fills``).

Every call that changes an order is one SQL statement (data-modifying CTEs), hence one
round trip and one atomic, durably committed transaction (``synchronous_commit = on``):

* :meth:`UnifiedOrderManager.record` inserts the order (``RECEIVED``) and its ``submitted``
  event, before anything is sent anywhere. ``operation_id`` is the idempotency key.
  :meth:`~UnifiedOrderManager.record_decided` (the daemon's hot path) does the same for an
  order already checked and routed; the orders recorded in one turn of the event loop share
  one statement and one commit (:mod:`~live_daemon.oms.order_batch`).
* :meth:`UnifiedOrderManager.transition` moves the status and appends an event; a final
  status (REJECTED, FILLED, CANCELED) is never left through it.
* :meth:`UnifiedOrderManager.add_fills` (and :meth:`~UnifiedOrderManager.add_fill` for
  one) stores a fill once per ``(venue_key, fill_id)`` and updates filled quantity,
  average price and status, with a ``filled`` event. Given a
  :class:`~live_daemon.oms.positions.PositionStore`, it also moves the position in the
  same transaction, so a position moves exactly once per fill: this is the only path by
  which fills reach the OMS (live events, reconciliation, tests alike).

All SQL is parameterised; no value is ever formatted into a statement. The statements are
in :mod:`~live_daemon.oms.order_sql`, their parameters and the ``OrderRecord`` of their rows
in :mod:`~live_daemon.oms.order_rows`, the order ids in :mod:`~live_daemon.oms.order_ids`;
the names other modules use are re-exported here (``__all__``).
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import asyncpg

from live_daemon.domain import EventKind, Fill, OrderRecord, OrderRequest, OrderStatus
from live_daemon.oms.errors import IdempotencyConflict, InvalidTransition, OrderNotFound
from live_daemon.oms.fill_batch import NewFill, VenueFill, add_fills
from live_daemon.oms.order_batch import OrderInsertBatcher
from live_daemon.oms.order_ids import new_order_id
from live_daemon.oms.order_rows import (
    decided_params,
    record_from_row,
    record_params,
    status_values,
)
from live_daemon.oms.order_sql import (
    ACKNOWLEDGED_SQL,
    APPEND_EVENT_SQL,
    COUNT_SQL,
    COUNTS_SQL,
    EVENTS_SQL,
    EXTERNAL_ORDERS_SQL,
    FINAL_STATUSES,
    GET_BY_OPERATION_SQL,
    GET_BY_ORDER_SQL,
    IN_FLIGHT_SQL,
    NO_FILLS,
    RECORD_SQL,
    STATUS_SQL,
    TRANSITION_SQL,
    fills_of,
    list_sql,
)
from live_daemon.oms.positions import PositionBatch
from live_daemon.operations import VenueType

if TYPE_CHECKING:
    from live_daemon.oms.positions import PositionStore

__all__ = [
    "FINAL_STATUSES",
    "IN_FLIGHT_STATUSES",
    "MAX_LIST_LIMIT",
    "IdempotencyConflict",
    "InvalidTransition",
    "OrderNotFound",
    "UnifiedOrderManager",
    "new_order_id",
]

IN_FLIGHT_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus.ACCEPTED,
    OrderStatus.SUBMITTED,
    OrderStatus.PARTIALLY_FILLED,
)
MAX_LIST_LIMIT = 10_000


class UnifiedOrderManager:
    """The OMS order store over an asyncpg pool (see the module docstring).

    ``positions``: when given, :meth:`add_fill` applies each new fill to that
    :class:`~live_daemon.oms.positions.PositionStore` in the fill's own transaction, so
    positions move exactly once per fill even when a venue reports it twice.
    """

    def __init__(self, pool: asyncpg.Pool, *, positions: PositionStore | None = None) -> None:
        self.pool = pool
        self.positions = positions
        # new orders recorded in the same loop turn share one statement and one commit
        self._new_orders = OrderInsertBatcher(pool)

    # --- write path ------------------------------------------------------------------

    async def record(
        self, request: OrderRequest, *, detail: dict[str, Any] | None = None
    ) -> tuple[OrderRecord, bool]:
        """Write-ahead record ``request``; return ``(order, created)``.

        On return the order (status RECEIVED) and its ``submitted`` event are committed.
        The same ``operation_id`` with the same payload returns the existing order and
        ``False``; with another payload it raises :class:`IdempotencyConflict`. Safe under
        concurrent identical requests: exactly one row is created.
        """
        payload_hash = request.payload_hash()
        args = record_params(new_order_id(), request, payload_hash, detail)
        return await self._insert(
            lambda: self.pool.fetchrow(RECORD_SQL, *args), request, payload_hash
        )

    async def record_decided(
        self,
        request: OrderRequest,
        status: OrderStatus,
        events: builtins.list[tuple[EventKind, dict[str, Any]]],
        *,
        venue_key: str | None = None,
        rejection_reason: str | None = None,
        order_id: str | None = None,
        venue_type: VenueType | None = None,
    ) -> tuple[OrderRecord, bool]:
        """Like :meth:`record`, but the order is written in the state its risk check and
        routing (done in memory) decided: REJECTED with its reason, or SUBMITTED to
        ``venue_key`` — with the ``submitted`` event and ``events`` after it, in one
        commit. Idempotent in the same way; a replay returns the stored order. A new order
        gets ``order_id`` (the caller may already have used it, e.g. in its risk book) or
        a fresh one; ``venue_type``: how its venue is reached (routed orders)."""
        payload_hash = request.payload_hash()
        args = decided_params(
            order_id or new_order_id(),
            request,
            payload_hash,
            status,
            events,
            venue_key,
            rejection_reason,
            venue_type,
        )
        return await self._insert(lambda: self._new_orders.insert(args), request, payload_hash)

    async def _insert(
        self,
        insert: Callable[[], Awaitable[asyncpg.Record | None]],
        request: OrderRequest,
        payload_hash: str,
    ) -> tuple[OrderRecord, bool]:
        for _ in range(3):
            row = await insert()
            if row is None:
                # A concurrent insert of the same operation_id committed after our statement
                # took its snapshot: it is visible to a new statement.
                row = await self.pool.fetchrow(
                    GET_BY_OPERATION_SQL.format(fills=fills_of("o")), request.operation_id
                )
            if row is not None:
                break
        else:  # pragma: no cover - the other insert rolled back three times in a row
            raise RuntimeError(f"could not record operation_id {request.operation_id!r}")
        record = record_from_row(row)
        created = bool(row.get("created", False))
        if not created and record.payload_hash != payload_hash:
            raise IdempotencyConflict(request.operation_id, record.order_id)
        return record, created

    async def transition(
        self,
        order_id: str,
        status: OrderStatus | str,
        event: EventKind | str,
        detail: dict[str, Any] | None = None,
        *,
        venue_key: str | None = None,
        rejection_reason: str | None = None,
        venue_order_id: str | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> OrderRecord:
        """Set the status (and the given fields), append ``event``; return the new state.

        Raises :class:`InvalidTransition` if the order is in a final status (or the target
        is RECEIVED), :class:`OrderNotFound` if there is no such order. ``None`` fields are
        left unchanged. The event's detail gets ``status`` (the new status) added.
        """
        target = OrderStatus(status)
        kind = EventKind(event)
        if target is OrderStatus.RECEIVED:
            raise InvalidTransition(order_id, None, target)
        db = self._db(conn)
        row = await db.fetchrow(
            TRANSITION_SQL,
            order_id,
            target.value,
            venue_key,
            rejection_reason,
            venue_order_id,
            kind.value,
            {"status": target.value, **(detail or {})},
        )
        if row is not None:
            return record_from_row(row)
        current = await db.fetchval(STATUS_SQL, order_id)
        if current is None:
            raise OrderNotFound(f"no order {order_id!r}")
        raise InvalidTransition(order_id, OrderStatus(current), target)

    async def add_fill(
        self,
        venue_key: str,
        fill: Fill,
        conn: asyncpg.Connection | None = None,
    ) -> tuple[OrderRecord, bool]:
        """Store ``fill`` (executed on the concrete instrument ``venue_key``).

        Returns ``(order, True)`` for a new fill; for a fill already stored under
        ``(venue_key, fill.fill_id)`` returns ``(order, False)`` and changes nothing.
        Raises :class:`OrderNotFound` if ``fill.order_id`` is unknown. With ``conn`` (in a
        transaction of the caller's), it runs there and commits with it.

        It is :meth:`add_fills` for one fill: fills reach the OMS by one path only, which
        stores the fill, moves its order and moves its position in one transaction."""
        async with self._in_transaction(conn) as db:
            try:
                new = await self.add_fills([(venue_key, fill)], conn=db)
            except asyncpg.ForeignKeyViolationError:
                raise OrderNotFound(
                    f"fill {fill.fill_id!r} on {venue_key}: no order {fill.order_id!r}"
                ) from None
            record = await self.get_order(fill.order_id, conn=db)
        if record is None:  # pragma: no cover - the FK makes this impossible
            raise OrderNotFound(f"no order {fill.order_id!r}")
        return record, bool(new)

    async def add_fills(
        self,
        fills: Sequence[VenueFill],
        *,
        conn: asyncpg.Connection,
        positions: PositionBatch | None = None,
    ) -> builtins.list[NewFill]:
        """Store a batch of fills in ``conn``'s transaction, a statement per round
        (:func:`~live_daemon.oms.fill_batch.add_fills`); returns the new fills. Their
        position changes go into ``positions`` when given (the caller applies the batch
        before its commit); otherwise they are applied here, in the same transaction."""
        if not fills:
            return []
        if positions is not None or self.positions is None:
            return await add_fills(conn, fills, positions)
        batch = PositionBatch()
        new = await add_fills(conn, fills, batch)
        await self.positions.apply_batch(conn, batch)
        return new

    @contextlib.asynccontextmanager
    async def _in_transaction(
        self, conn: asyncpg.Connection | None
    ) -> AsyncIterator[asyncpg.Connection]:
        """``conn`` (already in the caller's transaction), or a new transaction."""
        if conn is not None:
            yield conn
        else:
            async with self.transaction() as own:
                yield own

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a transaction, for several changes committed together (the
        venue-event consumer applies a batch of events with one commit)."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    def _db(self, conn: asyncpg.Connection | None) -> Any:
        return self.pool if conn is None else conn

    # --- read path ---------------------------------------------------------------------

    async def get(self, operation_id: str, with_fills: bool = True) -> OrderRecord | None:
        """The order recorded under ``operation_id``, or None."""
        sql = GET_BY_OPERATION_SQL.format(fills=fills_of("o") if with_fills else NO_FILLS)
        row = await self.pool.fetchrow(sql, operation_id)
        return None if row is None else record_from_row(row)

    async def get_order(
        self,
        order_id: str,
        with_fills: bool = True,
        conn: asyncpg.Connection | None = None,
    ) -> OrderRecord | None:
        """The order with ``order_id``, or None."""
        sql = GET_BY_ORDER_SQL.format(fills=fills_of("o") if with_fills else NO_FILLS)
        row = await self._db(conn).fetchrow(sql, order_id)
        return None if row is None else record_from_row(row)

    async def list(
        self,
        *,
        status: OrderStatus | str | Iterable[OrderStatus | str] | None = None,
        venue: str | None = None,
        instrument: str | None = None,
        strategy: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        search: str | None = None,
        limit: int = 100,
        with_fills: bool = True,
    ) -> builtins.list[OrderRecord]:
        """Orders matching every given filter, newest first.

        ``status``: one status or several; ``venue``: the venue part of the order's venue
        key (e.g. ``OKX``; an order not yet routed counts under its requested venue, ANY
        for an open one); ``instrument``: equal to the requested instrument key or to the
        chosen venue key; ``since`` ≤ created_at < ``until``; ``search``: a part of the
        operation id or the order id (case-insensitive); ``limit`` ≤ 10 000.
        """
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
        where: builtins.list[str] = []
        args: builtins.list[Any] = []

        def add(fragment: str, value: Any) -> None:
            args.append(value)
            where.append(fragment.replace("?", f"${len(args)}"))

        if status is not None:
            add("o.status = ANY(?::text[])", status_values(status))
        if venue is not None:
            add("o.venue = ?", venue)
        if instrument is not None:
            add("(o.instrument_key = ? OR o.venue_key = ?)", instrument)
        if strategy is not None:
            add("o.strategy_id = ?", strategy)
        if since is not None:
            add("o.created_at >= ?", since)
        if until is not None:
            add("o.created_at < ?", until)
        if search:
            add("(o.operation_id ILIKE ? OR o.order_id ILIKE ?)", contains_pattern(search))
        args.append(limit)
        sql = list_sql(where, with_fills, len(args))
        return [record_from_row(row) for row in await self.pool.fetch(sql, *args)]

    async def in_flight(self, *, include_received: bool = False) -> builtins.list[OrderRecord]:
        """Orders a venue may still be working (ACCEPTED, SUBMITTED, PARTIALLY_FILLED),
        oldest first. ``include_received`` adds RECEIVED ones (recorded, never sent)."""
        statuses = [s.value for s in IN_FLIGHT_STATUSES]
        if include_received:
            statuses.append(OrderStatus.RECEIVED.value)
        rows = await self.pool.fetch(IN_FLIGHT_SQL, statuses)
        return [record_from_row(row) for row in rows]

    async def acknowledged(self, order_ids: Sequence[str]) -> set[str]:
        """Which of ``order_ids`` have their venue's acknowledgement recorded."""
        rows = await self.pool.fetch(ACKNOWLEDGED_SQL, list(order_ids))
        return {row["order_id"] for row in rows}

    async def external_orders(self, limit: int = MAX_LIST_LIMIT) -> dict[str, OrderStatus]:
        """The status of each of the latest ``limit`` orders routed to a venue through an
        external adapter (whose record lists only its open orders), newest first."""
        rows = await self.pool.fetch(EXTERNAL_ORDERS_SQL, limit)
        return {row["order_id"]: OrderStatus(row["status"]) for row in rows}

    async def append_event(
        self,
        order_id: str,
        event: EventKind,
        detail: dict[str, Any] | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> None:
        """Log an event that does not change the status (an acknowledgement, a recovery
        note). Committed on return, or with ``conn``'s transaction."""
        await self._db(conn).execute(APPEND_EVENT_SQL, order_id, event.value, detail or {})

    async def append_events(
        self,
        events: Sequence[tuple[str, EventKind, dict[str, Any]]],
        conn: asyncpg.Connection | None = None,
    ) -> None:
        """:meth:`append_event` for several ``(order_id, kind, detail)`` at once, in their
        order, sent together (one round trip)."""
        if events:
            await self._db(conn).executemany(
                APPEND_EVENT_SQL,
                [(order_id, kind.value, detail or {}) for order_id, kind, detail in events],
            )

    async def events(self, order_id: str) -> builtins.list[dict[str, Any]]:
        """The order's event log, oldest first: ``event_id``, ``order_id``, ``ts``,
        ``kind``, ``detail``."""
        rows = await self.pool.fetch(EVENTS_SQL, order_id)
        return [dict(row) for row in rows]

    async def count(self) -> int:
        return int(await self.pool.fetchval(COUNT_SQL))

    async def counts(self) -> tuple[int, int]:
        """How many orders and fills the OMS holds (for health and supervision)."""
        row = await self.pool.fetchrow(COUNTS_SQL)
        return int(row["orders"]), int(row["fills"])


def contains_pattern(text: str) -> str:
    """An ILIKE pattern matching ``text`` anywhere, its own ``%``, ``_`` and ``\\`` taken
    literally (a search for ``OP_1`` does not match ``OPX1``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
