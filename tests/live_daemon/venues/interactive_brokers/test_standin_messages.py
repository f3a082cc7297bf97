"""The stand-in's messages, read by ib_async's own Decoder at the stand-in's server version:
every field lands where ib_async expects it (a layout off by one field would shift them)."""

from __future__ import annotations

import datetime as dt
import struct
from decimal import Decimal
from typing import Any

from ib_async.decoder import Decoder

from live_daemon.venues.interactive_brokers.standin import messages as m

CONTRACT = {"conId": "42", "symbol": "AAPL", "secType": "OPT", "strike": "150.5", "right": "C",
            "lastTradeDateOrContractMonth": "20250117", "multiplier": "100",
            "exchange": "SMART", "currency": "USD"}  # fmt: skip


class _Wrapper:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.calls.append((name, args))


def _decode(data: bytes) -> tuple[str, tuple[Any, ...]]:
    wrapper = _Wrapper()
    size = struct.unpack(">I", data[:4])[0]
    assert len(data) == 4 + size
    fields = data[4:].decode().split("\0")[:-1]
    Decoder(wrapper, m.SERVER_VERSION).interpret(fields)  # type: ignore[arg-type]
    assert len(wrapper.calls) == 1, wrapper.calls
    return wrapper.calls[0]


def test_open_order_layout() -> None:
    values = {**CONTRACT, "orderId": 7, "action": "BUY", "totalQuantity": Decimal(3),
              "orderType": "LMT", "lmtPrice": Decimal("2.5"), "tif": "GTC",
              "account": "DU1", "orderRef": "ord-1", "clientId": 9, "permId": 1000001,
              "status": "Submitted"}  # fmt: skip
    name, (order_id, contract, order, state) = _decode(m.open_order(values))
    assert (name, order_id) == ("openOrder", 7)
    assert (contract.conId, contract.symbol, contract.strike, contract.right) == (
        42,
        "AAPL",
        150.5,
        "C",
    )
    assert (order.action, order.totalQuantity, order.lmtPrice, order.orderRef) == (
        "BUY",
        3.0,
        2.5,
        "ord-1",
    )
    assert (order.clientId, order.permId, order.whatIf, state.status) == (
        9,
        1000001,
        False,
        "Submitted",
    )
    assert order.minTradeQty is not None  # the last (>=170) fields were read, not missing


def test_completed_order_layout() -> None:
    values = {**CONTRACT, "action": "SELL", "totalQuantity": Decimal(1), "orderType": "MKT",
              "orderRef": "ord-2", "permId": 1000002, "status": "Cancelled",
              "completedStatus": "Order rejected - reason: x", "completedTime": "t"}  # fmt: skip
    name, (contract, order, state) = _decode(m.completed_order(values))
    assert name == "completedOrder" and contract.symbol == "AAPL"
    assert (order.action, order.orderRef, order.permId) == ("SELL", "ord-2", 1000002)
    assert (state.status, state.completedStatus) == ("Cancelled", "Order rejected - reason: x")


def test_exec_details_commission_position_status_error_layouts() -> None:
    ex_values = {**CONTRACT, "reqId": -1, "orderId": 7, "execId": "e1", "side": "BOT",
                 "time": m.ib_time(dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
                 "shares": Decimal(3), "price": Decimal("2.5"), "permId": 1000001, "clientId": 9,
                 "orderRef": "ord-1", "lastLiquidity": 2, "acctNumber": "DU1"}  # fmt: skip
    decoder_wrapper = _Wrapper()
    decoder_wrapper.ib = type("IBStub", (), {"TimezoneTWS": None})()  # type: ignore[attr-defined]
    decoder_wrapper.defaultTimezone = dt.UTC  # type: ignore[attr-defined]
    data = m.exec_details(ex_values)
    Decoder(decoder_wrapper, m.SERVER_VERSION).interpret(data[4:].decode().split("\0")[:-1])  # type: ignore[arg-type]
    (name, (req_id, contract, ex)), = decoder_wrapper.calls  # fmt: skip
    assert (name, req_id, contract.symbol, ex.execId, ex.side, ex.shares, ex.price) == (
        "execDetails", -1, "AAPL", "e1", "BOT", 3.0, 2.5,
    )  # fmt: skip
    assert (ex.permId, ex.orderRef, ex.lastLiquidity, ex.acctNumber) == (1000001, "ord-1", 2, "DU1")
    assert ex.time == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    name, (report,) = _decode(m.commission_report("e1", Decimal("1.25"), "USD"))
    assert (name, report.execId, report.commission, report.currency) == (
        "commissionReport",
        "e1",
        1.25,
        "USD",
    )
    name, (account, contract, qty, cost) = _decode(
        m.position(
            {**CONTRACT, "account": "DU1", "position": Decimal(-3), "avgCost": Decimal("2.5")}
        )
    )
    assert (name, account, contract.conId, qty, cost) == ("position", "DU1", 42, -3.0, 2.5)
    name, args = _decode(
        m.order_status(
            7, "Filled", Decimal(3), Decimal(0), Decimal("2.5"), 1000001, Decimal("2.5"), 9
        )
    )
    assert (name, args[:3], args[5], args[8]) == ("orderStatus", (7, "Filled", 3.0), 1000001, 9)
    assert _decode(m.error(7, 201, "Order rejected - reason: x")) == (
        "error", (7, 201, "Order rejected - reason: x", ""),
    )  # fmt: skip


def test_tick_price_layout() -> None:
    assert _decode(m.tick_price(5, m.ASK, Decimal("190.5"), Decimal(100))) == (
        "priceSizeTick", (5, 2, 190.5, 100.0),
    )  # fmt: skip
