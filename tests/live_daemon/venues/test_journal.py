"""The paper venue's own record (:mod:`live_daemon.venues.journal`): what it keeps, what a
restart does to it, and how it is read (the packed form the daemon decodes)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from live_daemon.domain import Fill
from live_daemon.venues.gateway import VenueEvent
from live_daemon.venues.journal import RESTART_REASON, ReceivedOrder, VenueJournal
from live_daemon.venues.record_codec import SEP, unpack_state

BTC = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
OKX = "OKX:PERPETUAL:BTC-USDT@LIN"
T0 = dt.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def order(
    order_id: str, side: str = "BUY", quantity: str = "0.03", key: str = BTC
) -> ReceivedOrder:
    return ReceivedOrder(
        order_id, key, side, Decimal(quantity), "MARKET", None, "TWAP", {"duration_sec": 60}, 1
    )


def fill(order_id: str, n: int, quantity: str, price: str = "42000.5") -> Fill:
    return Fill(
        f"{order_id}-f{n}",
        order_id,
        Decimal(quantity),
        Decimal(price),
        Decimal("0.21"),
        "USDT",
        "TAKER",
        T0 + dt.timedelta(seconds=n, microseconds=7),
    )


def filled(key: str, f: Fill) -> VenueEvent:
    return VenueEvent("filled", f.order_id, key, {"trade_id": f.fill_id}, f)


@pytest.fixture
def journal(tmp_path: Path) -> VenueJournal:
    return VenueJournal(tmp_path / "record.sqlite")


def test_orders_events_and_fills_round_trip(journal: VenueJournal) -> None:
    fills = [fill("o-1", 1, "0.01"), fill("o-1", 2, "0.02", "42001")]
    with journal.transaction():
        journal.add_order(order("o-1"))
        journal.add_order(order("o-2", side="SELL", quantity="5", key=OKX))
    assert journal.order_record("o-1").status == "SUBMITTED"  # type: ignore[union-attr]
    with journal.transaction():
        journal.add_event(VenueEvent("accepted", "o-1", BTC, {}))
        assert journal.add_event(filled(BTC, fills[0])) == 1
    partly = journal.order_record("o-1")
    assert partly is not None
    assert (partly.status, partly.filled_quantity) == ("PARTIALLY_FILLED", Decimal("0.01"))
    with journal.transaction():
        assert journal.add_event(filled(BTC, fills[1])) == 2
        journal.add_event(VenueEvent("rejected", "o-2", OKX, {"reason": "too big"}))

    record = journal.order_record("o-1")
    assert record is not None
    assert (record.side, record.quantity, record.status) == ("BUY", Decimal("0.03"), "FILLED")
    assert record.filled_quantity == Decimal("0.03") and record.reason is None
    assert record.fills == tuple(fills)  # exact: decimals and the µs of the time
    rejected = journal.order_record("o-2")
    assert rejected is not None and (rejected.status, rejected.reason) == ("REJECTED", "too big")
    assert rejected.fills == ()
    assert journal.order_record("never") is None
    assert journal.knows("o-2") and not journal.knows("never")
    assert journal.fills_since(1) == [(2, BTC, fills[1])]
    assert journal.fills_since(2) == []
    assert journal.open_orders() == []

    state = journal.venue_state()
    assert [o.order_id for o in state.orders] == ["o-1", "o-2"]
    assert all(o.fills == () for o in state.orders)  # listed once, apart
    assert state.fills == [(BTC, fills[0]), (BTC, fills[1])]
    assert state.positions == {BTC: Decimal("0.03")}
    assert state.last_fill_seq == 2
    assert state.read_at.tzinfo is not None


def test_positions_are_the_signed_sum_of_the_fills(journal: VenueJournal) -> None:
    with journal.transaction():
        journal.add_order(order("b", "BUY", "1.5"))
        journal.add_order(order("s", "SELL", "2"))
        journal.add_order(order("k", "SELL", "7", key=OKX))
        journal.add_event(filled(BTC, fill("b", 1, "1.5")))
        journal.add_event(filled(BTC, fill("s", 1, "0.5")))
        journal.add_event(filled(BTC, fill("s", 2, "1.5")))
        journal.add_event(filled(OKX, fill("k", 1, "3")))
    expected = {BTC: Decimal("1.5") - Decimal("2"), OKX: Decimal(-3)}
    assert journal.positions() == expected
    assert journal.positions_from_fills() == expected
    assert journal.venue_state().positions == expected


def test_a_restart_closes_the_open_orders_and_keeps_their_fills(tmp_path: Path) -> None:
    path = tmp_path / "record.sqlite"
    before = VenueJournal(path)
    with before.transaction():
        for order_id in ("received", "accepted", "partly", "done"):
            before.add_order(order(order_id))
        for order_id in ("accepted", "partly", "done"):
            before.add_event(VenueEvent("accepted", order_id, BTC, {}))
        before.add_event(filled(BTC, fill("partly", 1, "0.01")))
        before.add_event(filled(BTC, fill("done", 1, "0.03")))
    assert [o.order_id for o in before.open_orders()] == ["received", "accepted", "partly"]
    # no close(): the venue died; its last commit is what the next one finds

    after = VenueJournal(path)
    assert after.close_open_orders() == ["received", "accepted", "partly"]
    for order_id in ("received", "accepted", "partly"):
        record = after.order_record(order_id)
        assert record is not None
        assert (record.status, record.reason) == ("CANCELED", RESTART_REASON)
    partly = after.order_record("partly")
    assert partly is not None and partly.filled_quantity == Decimal("0.01")
    assert partly.fills == (fill("partly", 1, "0.01"),)
    done = after.order_record("done")
    assert done is not None and done.status == "FILLED"
    assert after.positions() == {BTC: Decimal("0.04")}
    assert after.open_orders() == []
    assert after.close_open_orders() == []  # nothing left to close
    assert after.knows("received")  # an id it has taken stays taken
    events = sqlite3.connect(path).execute(
        "SELECT order_id, kind FROM events WHERE kind = 'canceled' ORDER BY seq"
    )
    assert [tuple(row) for row in events] == [
        ("received", "canceled"),
        ("accepted", "canceled"),
        ("partly", "canceled"),
    ]


def test_events_cannot_reopen_a_final_order(journal: VenueJournal) -> None:
    with journal.transaction():
        journal.add_order(order("o"))
        journal.add_event(VenueEvent("canceled", "o", BTC, {"reason": "by you"}))
        journal.add_event(VenueEvent("accepted", "o", BTC, {}))
        journal.add_event(VenueEvent("rejected", "o", BTC, {"reason": "late"}))
    record = journal.order_record("o")
    assert record is not None and (record.status, record.reason) == ("CANCELED", "by you")


def test_a_failed_transaction_leaves_nothing(journal: VenueJournal) -> None:
    with journal.transaction():
        journal.add_order(order("o-1"))
    with pytest.raises(sqlite3.IntegrityError), journal.transaction():
        journal.add_order(order("o-2"))
        journal.add_order(order("o-1"))  # the same id again
    assert not journal.knows("o-2")


def test_separators_never_reach_the_packed_form(journal: VenueJournal) -> None:
    with pytest.raises(ValueError, match="control character"):
        journal.add_order(order(f"bad{SEP}id"))
    with journal.transaction():
        journal.add_order(order("o"))
        journal.add_event(VenueEvent("rejected", "o", BTC, {"reason": f"a{SEP}b"}))
    record = journal.order_record("o")
    assert record is not None and record.reason == "a b"


def test_the_whole_record_is_read_with_one_query_per_table(journal: VenueJournal) -> None:
    """100,000 orders and 100,000 fills: correct, and read with a fixed number of
    statements (not one per order), whatever the size."""
    n = 100_000
    with journal.transaction():
        db = journal._db  # bulk rows straight in: 100,000 add_event calls would take seconds
        db.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, '0.010', 'MARKET', NULL, 'NORMAL', '{}', 1, "
            "'FILLED', '0.010', NULL, 1)",
            ((f"o-{i}", BTC if i % 2 else OKX, "BUY" if i % 3 else "SELL") for i in range(n)),
        )
        db.executemany(
            "INSERT INTO fills (fill_id, order_id, venue_key, quantity, price, fee, "
            "fee_currency, liquidity_side, ts_us) VALUES (?, ?, ?, '0.010', '42000.1', "
            "'0.02', 'USDT', 'MAKER', ?)",
            (
                (f"f-{i}", f"o-{i}", BTC if i % 2 else OKX, 1_709_294_400_000_000 + i)
                for i in range(n)
            ),
        )
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    packed = journal.packed_state()
    db.set_trace_callback(None)
    assert len(statements) <= 8, statements  # begin, orders, fills, max(seq), positions, commit

    state = unpack_state(packed)
    assert len(state.orders) == n and len(state.fills) == n
    assert state.last_fill_seq == n
    assert state.orders[12_345].order_id == "o-12345"
    assert state.orders[12_345].quantity == Decimal("0.010")
    venue_key, last = state.fills[-1]
    assert venue_key == BTC and last.fill_id == f"f-{n - 1}"
    noon = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert last.ts == noon + dt.timedelta(microseconds=n - 1)
