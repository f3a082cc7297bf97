"""Between domain objects and the order store's rows, both ways.

The statements of :mod:`live_daemon.oms.order_sql` take their ``$n`` parameters from
requests and fills (``*_params``, in the statements' order) and return ``unified_orders``
rows with their ``fills`` as an array of ``fills`` records; the rest of the daemon only sees
the frozen :class:`~live_daemon.domain.OrderRecord` and :class:`~live_daemon.domain.Fill`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from execution_core.orders import OrderType, Side
from live_daemon.domain import EventKind, Fill, OrderRecord, OrderRequest, OrderStatus
from live_daemon.operations import OrderTerms, VenueType


def record_params(
    order_id: str, request: OrderRequest, payload_hash: str, detail: dict[str, Any] | None
) -> tuple[Any, ...]:
    """``RECORD_SQL``'s parameters: the order, and its ``submitted`` event's detail."""
    event = {"payload_hash": payload_hash, **(detail or {})}
    return (
        order_id,
        request.operation_id,
        request.strategy_id,
        request.instrument_key,
        request.side,
        request.order_type,
        request.quantity,
        request.price,
        request.exec_algorithm,
        request.exec_algorithm_params,
        payload_hash,
        event,
        request.terms.as_row(),
    )


def decided_params(
    order_id: str,
    request: OrderRequest,
    payload_hash: str,
    status: OrderStatus,
    events: list[tuple[EventKind, dict[str, Any]]],
    venue_key: str | None,
    rejection_reason: str | None,
    venue_type: VenueType | None = None,
) -> tuple[Any, ...]:
    """``RECORD_DECIDED_SQL``'s parameters: the order in its decided state, its event
    log (``submitted`` first, then ``events``, each detail with the status), and its terms
    (with ``venue_type``, the type of the venue it was routed to)."""
    log = [
        {"kind": EventKind.SUBMITTED.value, "detail": {"payload_hash": payload_hash}},
        *(
            {"kind": kind.value, "detail": {"status": status.value, **detail}}
            for kind, detail in events
        ),
    ]
    return (
        order_id, request.operation_id, request.strategy_id, request.instrument_key,
        request.side, request.order_type, request.quantity, request.price,
        request.exec_algorithm, request.exec_algorithm_params, payload_hash, status.value,
        venue_key, rejection_reason, log, {**request.terms.as_row(), "venue_type": venue_type},
    )  # fmt: skip


def fill_params(venue_key: str, fill: Fill) -> tuple[Any, ...]:
    """One fill's parameters in ``ADD_FILLS_SQL``: the fill (empty texts as NULL), and its
    event's detail (decimals as strings)."""
    event = {
        "fill_id": fill.fill_id,
        "venue_key": venue_key,
        "quantity": str(fill.quantity),
        "price": str(fill.price),
        "fee": str(fill.fee),
        "fee_currency": fill.fee_currency,
        "liquidity_side": fill.liquidity_side,
        "ts": fill.ts.isoformat(),
    }
    return (
        venue_key,
        fill.fill_id,
        fill.order_id,
        fill.quantity,
        fill.price,
        fill.fee,
        fill.fee_currency or None,
        fill.liquidity_side or None,
        fill.ts,
        event,
    )


def fill_from_row(row: Any) -> Fill:
    """A ``fills`` row as a :class:`Fill` (NULL fee currency / liquidity side → ``""``)."""
    return Fill(
        fill_id=row["fill_id"],
        order_id=row["order_id"],
        quantity=row["quantity"],
        price=row["price"],
        fee=row["fee"],
        fee_currency=row["fee_currency"] or "",
        liquidity_side=row["liquidity_side"] or "",
        ts=row["ts"],
    )


def record_from_row(row: asyncpg.Record, extra_fills: Sequence[Fill] = ()) -> OrderRecord:
    """An order row with its ``fills`` column as an :class:`OrderRecord`.

    ``extra_fills``: fills the row's array cannot show yet (one inserted by the same
    statement), merged in fill order."""
    fills = [fill_from_row(f) for f in row["fills"] or ()]
    if extra_fills:
        fills = sorted([*fills, *extra_fills], key=lambda f: (f.ts, f.fill_id))
    return OrderRecord(
        order_id=row["order_id"],
        operation_id=row["operation_id"],
        strategy_id=row["strategy_id"],
        instrument_key=row["instrument_key"],
        side=Side(row["side"]),
        order_type=OrderType(row["order_type"]),
        quantity=row["quantity"],
        price=row["price"],
        exec_algorithm=row["exec_algorithm"],
        exec_algorithm_params=row["exec_algorithm_params"],
        payload_hash=row["payload_hash"],
        status=OrderStatus(row["status"]),
        venue_key=row["venue_key"],
        rejection_reason=row["rejection_reason"],
        filled_quantity=row["filled_quantity"],
        avg_fill_price=row["avg_fill_price"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        fills=tuple(fills),
        terms=OrderTerms.from_row(row),
    )


def status_values(status: OrderStatus | str | Iterable[OrderStatus | str]) -> list[str]:
    """One status or several as the ``text[]`` of a filter (ValueError on an unknown one)."""
    items = [status] if isinstance(status, str) else list(status)
    return [OrderStatus(s).value for s in items]  # ValueError on an unknown status
