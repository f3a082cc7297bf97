"""The execution log and the order search on a real PostgreSQL: accepted (routed) and
rejected orders with the reason, oldest first after a cursor, filtered by outcome,
strategy and instrument; a search's ``%`` and ``_`` are taken literally."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from live_daemon.domain import EventKind, OrderRequest, OrderStatus
from live_daemon.oms import UnifiedOrderManager
from live_daemon.oms.execution_log import ExecutionLog, LogQuery, log_sql

BYBIT = "BYBIT:PERPETUAL:BTC-USDT@LIN"


def _request(operation_id: str, strategy: str = "s1") -> OrderRequest:
    return OrderRequest(
        operation_id=operation_id,
        instrument_key="ANY:PERPETUAL:BTC-USDT@LIN",
        side="BUY",
        quantity=Decimal("0.5"),
        order_type="MARKET",
        price=None,
        strategy_id=strategy,
        exec_algorithm="NORMAL",
        exec_algorithm_params={},
    )


async def _three_orders(oms: UnifiedOrderManager) -> None:
    """OP_1 routed to Bybit (s1), OP-2 rejected by risk (s1), OP-3 routed (s2)."""
    for op, strategy in (("OP_1", "s1"), ("OP-2", "s1"), ("OP-3", "s2")):
        record, _ = await oms.record(_request(op, strategy))
        if op == "OP-2":
            await oms.transition(
                record.order_id,
                OrderStatus.REJECTED,
                EventKind.REJECTED,
                {"reason": "order_size"},
                rejection_reason="order_size: 0.5 > 0.1",
            )
        else:
            await oms.transition(
                record.order_id, OrderStatus.ACCEPTED, EventKind.ROUTED, venue_key=BYBIT
            )


def test_the_log_lists_accepted_and_rejected_after_a_cursor(
    oms: UnifiedOrderManager, run: Any
) -> None:
    async def body() -> None:
        await _three_orders(oms)
        log = ExecutionLog(oms.pool)
        entries = await log.entries(LogQuery())
        assert [(e["operation_id"], e["outcome"]) for e in entries] == [
            ("OP_1", "accepted"), ("OP-2", "rejected"), ("OP-3", "accepted"),
        ]  # fmt: skip
        assert entries[0]["venue"] == BYBIT and entries[0]["reason"] is None
        assert entries[1]["reason"] == "order_size: 0.5 > 0.1"
        later = await log.entries(LogQuery(after=entries[0]["event_id"]))
        assert [e["operation_id"] for e in later] == ["OP-2", "OP-3"]
        rejected = await log.entries(LogQuery(outcome="rejected"))
        assert [e["operation_id"] for e in rejected] == ["OP-2"]
        s2 = await log.entries(LogQuery(strategy="s2"))
        assert [e["operation_id"] for e in s2] == ["OP-3"]
        on_bybit = await log.entries(LogQuery(instrument=BYBIT))
        assert [e["operation_id"] for e in on_bybit] == ["OP_1", "OP-3"]
        assert await log.entries(LogQuery(after=entries[-1]["event_id"])) == []

    run(body())


def test_risk_and_routing_rejections_are_in_the_log_as_the_daemon_records_them(
    oms: UnifiedOrderManager, run: Any
) -> None:
    """The daemon writes a decided order in one commit: a risk rejection as a ``risk``
    event that did not pass, a routing one as a ``routed`` event with an error, an
    accepted order as ``risk`` passed + ``routed``. Found by the browser test of the
    logs page: a risk rejection was missing from the log."""

    async def body() -> None:
        risk = {"passed": False, "code": "ORDER_QUANTITY_MAX", "rejections": []}
        await oms.record_decided(
            _request("OP-risk"), OrderStatus.REJECTED, [(EventKind.RISK, risk)],
            rejection_reason="ORDER_QUANTITY_MAX: 5000 > 10",
        )  # fmt: skip
        no_venue = [
            (EventKind.RISK, {"passed": True}),
            (EventKind.ROUTED, {"error": "no venue quotes it", "code": "NO_VENUE"}),
        ]
        await oms.record_decided(
            _request("OP-route"), OrderStatus.REJECTED, no_venue, rejection_reason="routing: x"
        )
        accepted = [(EventKind.RISK, {"passed": True}), (EventKind.ROUTED, {"venue": BYBIT})]
        await oms.record_decided(
            _request("OP-ok"), OrderStatus.SUBMITTED, accepted, venue_key=BYBIT
        )
        entries = await ExecutionLog(oms.pool).entries(LogQuery())
        assert [(e["operation_id"], e["outcome"], e["reason"]) for e in entries] == [
            ("OP-risk", "rejected", "ORDER_QUANTITY_MAX: 5000 > 10"),
            ("OP-route", "rejected", "routing: x"),
            ("OP-ok", "accepted", None),
        ]
        accepted_only = await ExecutionLog(oms.pool).entries(LogQuery(outcome="accepted"))
        assert [e["operation_id"] for e in accepted_only] == ["OP-ok"]

    run(body())


def test_search_matches_a_part_of_the_ids_literally(oms: UnifiedOrderManager, run: Any) -> None:
    async def body() -> None:
        await _three_orders(oms)
        found = await oms.list(search="op-")
        assert sorted(r.operation_id for r in found) == ["OP-2", "OP-3"]
        assert [r.operation_id for r in await oms.list(search="P_1")] == ["OP_1"]
        assert await oms.list(search="P%") == []  # % is a character, not a wildcard
        order_id = found[0].order_id
        assert [r.order_id for r in await oms.list(search=order_id[-10:].lower())] == [order_id]

    run(body())


def test_a_log_query_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="limit must be between 1 and 1000, got 0"):
        log_sql(LogQuery(limit=0))
