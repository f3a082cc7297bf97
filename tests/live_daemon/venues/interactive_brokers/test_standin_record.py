"""The stand-in's journal and book across restarts (no sockets)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from live_daemon.venues.interactive_brokers.standin.matching import Book, Rejection
from live_daemon.venues.interactive_brokers.standin.messages import PlacedOrder
from live_daemon.venues.interactive_brokers.standin.record import Journal, StateDirBusy

NOW = dt.datetime(2025, 1, 2, 15, 0, tzinfo=dt.UTC)
STOCK = {"conId": "0", "symbol": "AAPL", "secType": "STK", "lastTradeDateOrContractMonth": "",
         "strike": "0.0", "right": "", "multiplier": "", "exchange": "SMART",
         "primaryExchange": "", "currency": "USD", "localSymbol": "",
         "tradingClass": ""}  # fmt: skip


def _placed(order_id: int, ref: str, kind: str = "MKT", price: str | None = None) -> PlacedOrder:
    return PlacedOrder(order_id, STOCK, "BUY", Decimal(2), kind,
                       Decimal(price) if price else None, "GTC", "DU1", ref)  # fmt: skip


def test_a_restarted_book_knows_every_order_execution_and_id(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    book = Book(prices={"AAPL": Decimal(100)}, record=journal.append)
    book.place(_placed(1, "a"), 7, NOW)
    book.place(_placed(2, "b", "LMT", "90"), 7, NOW)
    with pytest.raises(Rejection, match="Duplicate order id"):
        book.place(_placed(2, "c"), 7, NOW)
    with pytest.raises(StateDirBusy):
        Journal(tmp_path)
    journal.close()
    with open(tmp_path / "journal.jsonl", "a") as f:
        f.write('{"kind":"order","perm_id":')  # a line torn by a crash: never reported

    again = Journal(tmp_path)
    restored = Book(prices={"AAPL": Decimal(100)}, record=again.append)
    restored.restore(again.read())
    assert [(o.order_ref, o.status) for o in restored.orders.values()] == [
        ("a", "Filled"),
        ("b", "Submitted"),
    ]
    assert [(e.order_ref, e.shares, e.commission) for e in restored.executions] == [
        ("a", Decimal(2), Decimal(1))
    ]
    assert restored.next_order_id() == 3
    (fill,) = restored.set_price("AAPL", Decimal(89), NOW)  # the resting order still works
    assert (fill[0].order_ref, fill[1].price, fill[1].liquidity) == ("b", Decimal(90), 1)
    assert restored.positions()[0][2] == Decimal(4)
    again.close()
