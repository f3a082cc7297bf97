"""An in-memory ``OrderService`` for the API and CLI tests (no database, no venues)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from live_daemon.api.ports import IdempotencyConflict
from live_daemon.domain import Fill, OrderRecord, OrderRequest, OrderStatus
from live_daemon.oms.execution_log import LogQuery

TOKEN = "test-token-0123456789"
T0 = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)
RISK_LIMIT = Decimal("100")


class FakeOrderService:
    """Orders in a dict; quantities above 100 are rejected "by risk"; every call is logged
    in ``calls`` as ``(method, argument)``."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderRecord] = {}
        self.calls: list[tuple[str, Any]] = []
        self.raise_on: dict[str, BaseException] = {}
        self.health_data: dict[str, Any] = {
            "status": "ok",
            "database": "ok",
            "venues": {"BYBIT": "connected", "OKX": "connected"},
        }
        self.position_rows: list[dict[str, Any]] = [
            {
                "scope": "venue",
                "strategy_id": "s1",
                "instrument_key": "BYBIT:PERPETUAL:BTC-USDT@LIN",
                "venue_key": "BYBIT:PERPETUAL:BTC-USDT@LIN",
                "canonical_key": "PERPETUAL:BTC-USDT@LIN",
                "quantity": Decimal("-0.250"),
                "avg_entry_price": Decimal("65000.1"),
                "realized_pnl": Decimal("0"),
                "fees": Decimal("0.0081"),
                "updated_at": T0,
            },
            {
                "scope": "aggregate",
                "canonical_key": "PERPETUAL:BTC-USDT@LIN",
                "quantity": Decimal("-0.25"),
                "avg_entry_price": Decimal("65000.1"),
                "realized_pnl": Decimal("0"),
                "fees": Decimal("0.0081"),
                "venues": {"BYBIT:PERPETUAL:BTC-USDT@LIN": Decimal("-0.25")},
                "strategies": {"s1": Decimal("-0.25")},
                "instruments": ["BYBIT:PERPETUAL:BTC-USDT@LIN"],
                "updated_at": T0,
                "note": "extra keys pass through",
            },
        ]

    def _maybe_raise(self, method: str) -> None:
        if method in self.raise_on:
            raise self.raise_on[method]

    async def submit(self, request: OrderRequest) -> tuple[OrderRecord, bool]:
        self.calls.append(("submit", request))
        self._maybe_raise("submit")
        existing = self.orders.get(request.operation_id)
        if existing is not None:
            if existing.payload_hash != request.payload_hash():
                raise IdempotencyConflict(request.operation_id, existing.order_id)
            return existing, False
        rejected = request.quantity > RISK_LIMIT
        venue = request.instrument_key.replace("ANY:", "BYBIT:")
        record = OrderRecord(
            order_id=str(uuid.uuid4()),
            operation_id=request.operation_id,
            strategy_id=request.strategy_id,
            instrument_key=request.instrument_key,
            side=request.side,
            order_type=request.order_type,
            quantity=request.quantity,
            price=request.price,
            exec_algorithm=request.exec_algorithm,
            exec_algorithm_params=request.exec_algorithm_params,
            payload_hash=request.payload_hash(),
            status=OrderStatus.REJECTED if rejected else OrderStatus.SUBMITTED,
            venue_key=None if rejected else venue,
            rejection_reason=(
                f"order_size: quantity {request.quantity} exceeds the limit {RISK_LIMIT}"
                if rejected
                else None
            ),
            filled_quantity=Decimal(0),
            avg_fill_price=None,
            created_at=T0,
            updated_at=T0,
            terms=request.terms,
        )
        self.orders[request.operation_id] = record
        return record, True

    def fill(self, operation_id: str, quantity: str, price: str) -> OrderRecord:
        """Fill (part of) an order, as the venue would."""
        record = self.orders[operation_id]
        fill = Fill(
            fill_id=f"F{len(record.fills) + 1}",
            order_id=record.order_id,
            quantity=Decimal(quantity),
            price=Decimal(price),
            fee=Decimal("0.00012"),
            fee_currency="USDT",
            liquidity_side="TAKER",
            ts=T0 + dt.timedelta(seconds=1),
        )
        filled = record.filled_quantity + fill.quantity
        record = replace(
            record,
            fills=(*record.fills, fill),
            filled_quantity=filled,
            avg_fill_price=fill.price,
            status=(
                OrderStatus.FILLED if filled >= record.quantity else OrderStatus.PARTIALLY_FILLED
            ),
        )
        self.orders[operation_id] = record
        return record

    async def get(self, operation_id: str) -> OrderRecord | None:
        self.calls.append(("get", operation_id))
        self._maybe_raise("get")
        return self.orders.get(operation_id)

    async def cancel(self, operation_id: str) -> OrderRecord | None:
        self.calls.append(("cancel", operation_id))
        self._maybe_raise("cancel")
        record = self.orders.get(operation_id)
        if record is None or record.status.is_final:
            return record
        record = replace(record, status=OrderStatus.CANCELED)
        self.orders[operation_id] = record
        return record

    async def list_orders(
        self,
        *,
        status: OrderStatus | None,
        venue: str | None,
        instrument: str | None,
        strategy: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        search: str | None = None,
        limit: int,
    ) -> list[OrderRecord]:
        filters = {
            "status": status,
            "venue": venue,
            "instrument": instrument,
            "strategy": strategy,
            "since": since,
            "until": until,
            "limit": limit,
        }
        if search is not None:
            filters["search"] = search
        self.calls.append(("list_orders", filters))
        self._maybe_raise("list_orders")
        records = [
            r
            for r in self.orders.values()
            if (status is None or r.status == status)
            and (strategy is None or r.strategy_id == strategy)
            and (search is None or search in r.operation_id or search in r.order_id)
        ]
        return records[:limit]

    async def timeline(self, operation_id: str) -> tuple[OrderRecord, list[dict[str, Any]]] | None:
        self.calls.append(("timeline", operation_id))
        record = self.orders.get(operation_id)
        if record is None:
            return None
        events = [{"event_id": 1, "ts": T0, "kind": "submitted", "detail": {}}]
        events.append(
            {"event_id": 2, "ts": T0, "kind": "rejected", "detail": {"reason": "too big"}}
            if record.status == OrderStatus.REJECTED
            else {"event_id": 2, "ts": T0, "kind": "routed", "detail": {"venue": "OKX"}}
        )
        return record, events

    async def execution_log(self, query: LogQuery) -> list[dict[str, Any]]:
        self.calls.append(("execution_log", query))
        entries = [
            {
                "event_id": n,
                "ts": T0,
                "outcome": "rejected" if r.status == OrderStatus.REJECTED else "accepted",
                "operation_id": r.operation_id,
                "order_id": r.order_id,
                "strategy_id": r.strategy_id,
                "instrument_key": r.instrument_key,
                "venue": r.venue_key,
                "side": r.side,
                "quantity": r.quantity,
                "reason": r.rejection_reason,
            }
            for n, r in enumerate(self.orders.values(), start=1)
        ]
        return [
            e
            for e in entries
            if e["event_id"] > query.after and query.outcome in (None, e["outcome"])
        ][: query.limit]

    async def positions(self) -> list[dict[str, Any]]:
        self.calls.append(("positions", None))
        self._maybe_raise("positions")
        return self.position_rows

    async def reconciliation_report(self) -> dict[str, Any]:
        self.calls.append(("reconciliation_report", None))
        self._maybe_raise("reconciliation_report")
        return {
            "read_at": T0.isoformat(),
            "venues": {"paper": {"connected": True, "endpoint": "127.0.0.1:8101"}},
            "unreachable": [],
            "errors": {},
            "settled": [],
            "orders": {"order_id": ["ORD-1"], "venue_key": ["OKX:PERPETUAL:BTC-USDT@LIN"],
                       "status": ["FILLED"], "quantity": ["0.1"], "filled_quantity": ["0.1"]},
            "fills": {},
            "positions": {},
        }  # fmt: skip

    async def health(self) -> dict[str, Any]:
        self._maybe_raise("health")
        return dict(self.health_data)
