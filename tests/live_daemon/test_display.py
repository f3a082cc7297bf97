"""The one formatter of orders, fills, positions and log entries (live_daemon.display):
what the API's ``text``, ``exec-cli`` and the web UI all show."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from live_daemon.display import fill_text, log_text, number, order_text, position_text, timestamp

T = dt.datetime(2025, 1, 15, 10, 0, 0, 4567, tzinfo=dt.UTC)


def test_numbers_are_written_as_people_write_them() -> None:
    assert number(Decimal("0.0500")) == "0.05"
    assert number(Decimal("5E-8")) == "0.00000005"
    assert number(Decimal("1E+3")) == "1000"
    assert number(Decimal("-0.000")) == "0"
    assert number("43269.80") == "43269.8"
    assert number(None) == "-"


def test_timestamps_are_utc_to_the_millisecond() -> None:
    assert timestamp(T) == "2025-01-15T10:00:00.004Z"
    naive = dt.datetime(2025, 1, 15, 10, 0)
    assert timestamp(naive) == "2025-01-15T10:00:00.000Z"
    assert timestamp(T.astimezone(dt.timezone(dt.timedelta(hours=2)))) == timestamp(T)


def test_an_order_line() -> None:
    common = dict(
        operation_id="OP-1", side="BUY", quantity=Decimal("0.050"),
        instrument_key="ANY:PERPETUAL:BTC-USDT@LIN", order_type="MARKET", price=None,
        exec_algorithm="TWAP", rejection_reason=None,
    )  # fmt: skip
    filled = order_text(
        **common, status="FILLED", venue="BYBIT:PERPETUAL:BTC-USDT@LIN",
        filled_quantity=Decimal("0.05"), avg_fill_price=Decimal("43269.80"),
    )  # fmt: skip
    assert filled == (
        "OP-1  FILLED  BUY 0.05 ANY:PERPETUAL:BTC-USDT@LIN → BYBIT:PERPETUAL:BTC-USDT@LIN"
        "  MARKET  filled 0.05 @ 43269.8  TWAP"
    )
    rejected = order_text(
        **{**common, "rejection_reason": "order_size: 0.05 > 0.01", "order_type": "LIMIT",
           "price": Decimal("65000.50")},
        status="REJECTED", venue=None, filled_quantity=Decimal(0), avg_fill_price=None,
    )  # fmt: skip
    assert rejected == (
        "OP-1  REJECTED  BUY 0.05 ANY:PERPETUAL:BTC-USDT@LIN  LIMIT 65000.5  filled 0  TWAP"
        "  — order_size: 0.05 > 0.01"
    )


def test_a_fill_line() -> None:
    line = fill_text(
        fill_id="T-9", quantity=Decimal("0.010"), price=Decimal("43269.8"),
        fee=Decimal("0.2163490"), ts=T,
    )  # fmt: skip
    assert line == "fill T-9  0.01 @ 43269.8  fee 0.216349  2025-01-15T10:00:00.004Z"


def test_position_lines_aggregate_and_per_venue() -> None:
    aggregate = {
        "scope": "aggregate", "canonical_key": "PERPETUAL:BTC-USDT@LIN",
        "quantity": Decimal("0.11"), "avg_entry_price": "43271.790", "realized_pnl": "0",
        "fees": "2.1203411",
        "venues": {"OKX:PERPETUAL:BTC-USDT@LIN": "0.05", "BYBIT:PERPETUAL:BTC-USDT@LIN": "0.06"},
    }  # fmt: skip
    assert position_text(aggregate) == (
        "PERPETUAL:BTC-USDT@LIN  0.11  avg 43271.79  realized 0  fees 2.1203411  venues "
        "BYBIT:PERPETUAL:BTC-USDT@LIN=0.06, OKX:PERPETUAL:BTC-USDT@LIN=0.05"
    )
    venue_row = {
        "scope": "venue", "venue_key": "OKX:PERPETUAL:BTC-USDT@LIN", "strategy_id": "s1",
        "quantity": "-0.25", "avg_entry_price": None, "realized_pnl": None, "fees": "0",
    }  # fmt: skip
    assert position_text(venue_row) == (
        "OKX:PERPETUAL:BTC-USDT@LIN  s1  -0.25  avg -  realized -  fees 0"
    )


def test_a_log_line() -> None:
    line = log_text(
        ts=T, outcome="rejected", operation_id="OP-2", side="SELL", quantity=Decimal("1.0"),
        instrument_key="OKX:PERPETUAL:BTC-USDT@LIN", venue="OKX:PERPETUAL:BTC-USDT@LIN",
        reason="no venue",
    )  # fmt: skip
    assert line == (
        "2025-01-15T10:00:00.004Z  REJECTED  OP-2  SELL 1 OKX:PERPETUAL:BTC-USDT@LIN  — no venue"
    )
