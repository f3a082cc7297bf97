"""The blocking-check rules of the market-data assets, on hand-made good and bad frames."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.signals.schema import SIGNALS_SCHEMA
from execution_core.ticks.schema import QUOTES_SCHEMA, TRADES_SCHEMA, TS_TYPE
from execution_core.ticks.windows import WINDOW_COLUMNS
from pipelines.defs.market_data.checks import (
    instrument_problems,
    reference_frame,
    schema_problems,
    tick_window_problems,
    window_day_problems,
    windows_without_events,
)

DAY = dt.date(2025, 1, 15)
KEY = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
SIGNAL_KEY = "ANY:PERPETUAL:BTC-USDT@LIN"


def at(hour: int, minute: int, second: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=dt.UTC)


def windows(*spans: tuple[dt.datetime, dt.datetime], signal_key: str = SIGNAL_KEY) -> pl.DataFrame:
    """Windows of KEY in the pipeline's window schema."""
    return pl.DataFrame(
        {
            "instrument_key": [KEY] * len(spans),
            "window_start": [s for s, _ in spans],
            "window_end": [e for _, e in spans],
            "n_events": [1] * len(spans),
            "strategy_ids": [["s1"]] * len(spans),
            "signal_keys": [[signal_key]] * len(spans),
        },
        schema=WINDOW_COLUMNS,
    )


def events(*times: dt.datetime, key: str = SIGNAL_KEY) -> pl.DataFrame:
    return pl.DataFrame(
        {"instrument_key": [key] * len(times), "ts_event": list(times)},
        schema={"instrument_key": pl.String, "ts_event": TS_TYPE},
    )


def trades(*times: dt.datetime) -> pl.DataFrame:
    n = len(times)
    return pl.DataFrame(
        {
            "ts_event": list(times),
            "price": [43_000.0] * n,
            "size": [0.01] * n,
            "aggressor_side": ["BUY"] * n,
            "trade_id": [str(i) for i in range(n)],
        },
        schema_overrides={"ts_event": TS_TYPE},
    )


def quotes(*times: dt.datetime) -> pl.DataFrame:
    n = len(times)
    return pl.DataFrame(
        {
            "ts_event": list(times),
            "bid_price": [42_999.9] * n,
            "bid_size": [1.0] * n,
            "ask_price": [43_000.0] * n,
            "ask_size": [1.0] * n,
        },
        schema_overrides={"ts_event": TS_TYPE},
    )


FIVE = dt.timedelta(minutes=5)


# --- window_day_problems ------------------------------------------------------------------


def test_windows_inside_the_day_pass() -> None:
    good = windows(
        (at(0, 0), at(0, 5)),
        (at(10, 0), at(10, 12)),
        # the last window may run up to 5 minutes past midnight
        (at(23, 58), at(0, 3, day=DAY + dt.timedelta(days=1))),
        (at(23, 59, 59), at(23, 59, 59) + FIVE),
    )
    assert window_day_problems(good, DAY) == []


def test_no_windows_pass() -> None:
    assert window_day_problems(windows(), DAY) == []


def test_window_starting_the_day_before() -> None:
    start = at(23, 58, day=DAY - dt.timedelta(days=1))
    problems = window_day_problems(windows((at(9, 0), at(9, 5)), (start, start + FIVE)), DAY)
    assert len(problems) == 1
    assert problems[0].startswith("window 1: starts outside 2025-01-15")


def test_window_starting_the_day_after() -> None:
    start = at(0, 0, day=DAY + dt.timedelta(days=1))
    problems = window_day_problems(windows((start, start + FIVE)), DAY)
    assert problems and "starts outside" in problems[0]


def test_window_shorter_than_five_minutes() -> None:
    problems = window_day_problems(windows((at(12, 0), at(12, 4, 59))), DAY)
    assert problems == ["window 0: shorter than 0:05:00"]


def test_window_ending_more_than_five_minutes_after_the_day() -> None:
    end = at(0, 5, 1, day=DAY + dt.timedelta(days=1))
    problems = window_day_problems(windows((at(23, 50), end)), DAY)
    assert problems == ["window 0: ends more than 0:05:00 after the day"]


# --- windows_without_events -----------------------------------------------------------------


def test_every_window_holds_an_event() -> None:
    w = windows((at(10, 0), at(10, 5)), (at(11, 0), at(11, 8)))
    e = events(at(10, 0), at(11, 0), at(11, 3))
    assert windows_without_events(w, e) == []


def test_window_without_an_event() -> None:
    w = windows((at(10, 0), at(10, 5)), (at(11, 0), at(11, 5)))
    problems = windows_without_events(w, events(at(10, 1)))
    assert len(problems) == 1
    assert problems[0].startswith(f"window 1 {KEY}")
    assert problems[0].endswith("no target change")


def test_event_at_the_window_end_is_outside() -> None:
    w = windows((at(10, 0), at(10, 5)))
    assert len(windows_without_events(w, events(at(10, 5)))) == 1


def test_event_of_another_signal_key_does_not_count() -> None:
    w = windows((at(10, 0), at(10, 5)))
    other = events(at(10, 1), key="ANY:PERPETUAL:ETH-USDT@LIN")
    assert len(windows_without_events(w, other)) == 1


def test_no_events_at_all() -> None:
    w = windows((at(10, 0), at(10, 5)))
    assert len(windows_without_events(w, events())) == 1


# --- tick_window_problems -----------------------------------------------------------------


W = windows((at(10, 0), at(10, 5)), (at(12, 0), at(12, 5)))


@pytest.mark.parametrize("make", [trades, quotes])
def test_sorted_ticks_inside_windows_pass(make) -> None:
    frame = make(at(10, 0), at(10, 4, 59), at(12, 0), at(12, 1))
    assert tick_window_problems(frame, W, "f.parquet") == []


def test_no_ticks_pass() -> None:
    assert tick_window_problems(trades(), W, "f.parquet") == []


def test_unsorted_ticks() -> None:
    problems = tick_window_problems(trades(at(10, 2), at(10, 1), at(10, 3)), W, "f.parquet")
    assert problems == ["f.parquet: not sorted at rows [1]"]


def test_tick_after_a_window_is_outside() -> None:
    frame = trades(at(10, 1), at(10, 5), at(12, 3), at(13, 0))
    problems = tick_window_problems(frame, W, "f.parquet")
    assert problems == ["f.parquet: 2 ticks outside windows, rows [1, 3]"]


def test_tick_between_windows_is_outside() -> None:
    problems = tick_window_problems(trades(at(10, 1), at(11, 0)), W, "f.parquet")
    assert problems == ["f.parquet: 1 ticks outside windows, rows [1]"]


def test_tick_before_the_first_window_is_outside() -> None:
    problems = tick_window_problems(trades(at(9, 59), at(10, 1)), W, "f.parquet")
    assert problems == ["f.parquet: 1 ticks outside windows, rows [0]"]


def test_ticks_without_any_window_are_outside() -> None:
    problems = tick_window_problems(trades(at(10, 1)), windows(), "f.parquet")
    assert problems == ["f.parquet: 1 ticks outside windows, rows [0]"]


# --- schema_problems ------------------------------------------------------------------------


def test_good_frames_match_their_schemas() -> None:
    assert schema_problems(trades(at(10, 0), at(10, 1)), TRADES_SCHEMA, "t") == []
    assert schema_problems(quotes(at(10, 0), at(10, 1)), QUOTES_SCHEMA, "q") == []


def test_bad_trades_frame() -> None:
    frame = trades(at(10, 0), at(10, 1), at(10, 2)).with_columns(
        pl.Series("price", [43_000.0, -1.0, 43_000.0]),
        pl.Series("aggressor_side", ["BUY", "SELL", "SIDEWAYS"]),
    )
    problems = schema_problems(frame, TRADES_SCHEMA, "t.parquet")
    assert "t.parquet: column price failed greater_than(0) at row 1 (failure case -1.0)" in problems
    assert any(
        p.startswith("t.parquet: column aggressor_side") and "row 2" in p and "SIDEWAYS" in p
        for p in problems
    )


def test_unsorted_quotes_frame() -> None:
    problems = schema_problems(quotes(at(10, 1), at(10, 0)), QUOTES_SCHEMA, "q.parquet")
    assert problems and all(p.startswith("q.parquet: ") for p in problems)
    assert any("not sorted" in p for p in problems)


def test_tick_frame_with_a_missing_column() -> None:
    problems = schema_problems(trades(at(10, 0)).drop("trade_id"), TRADES_SCHEMA, "t.parquet")
    assert len(problems) == 1 and problems[0].startswith("t.parquet: ")


def test_missing_column_problem_names_the_column() -> None:
    problems = schema_problems(trades(at(10, 0)).drop("trade_id"), TRADES_SCHEMA, "t.parquet")
    assert any("trade_id" in p for p in problems), problems


def test_tick_frame_with_wrong_timestamp_type() -> None:
    frame = trades(at(10, 0)).with_columns(pl.col("ts_event").dt.replace_time_zone(None))
    assert schema_problems(frame, TRADES_SCHEMA, "t.parquet")


def test_bad_signals_frame() -> None:
    frame = pl.DataFrame(
        {
            "ts_event": [at(10, 0)],
            "strategy_id": [""],
            "instrument_key": [SIGNAL_KEY],
            "target_quantity": [float("inf")],
            "exec_algorithm": ["MAGIC"],
            "exec_algorithm_params": [None],
        },
        schema_overrides={"ts_event": TS_TYPE, "exec_algorithm_params": pl.String},
    )
    problems = schema_problems(frame, SIGNALS_SCHEMA, "signals")
    for column in ("strategy_id", "target_quantity", "exec_algorithm"):
        assert any(p.startswith(f"signals: column {column} ") for p in problems), problems


# --- instrument_problems ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


def test_packaged_reference_has_no_problems(reference: InstrumentReference) -> None:
    assert instrument_problems(reference) == []
    frame = reference_frame(reference)
    assert len(frame) == len(reference)
    assert frame["key"].to_list() == reference.keys()


def _tampered(reference: InstrumentReference, key: str, **update: Decimal) -> InstrumentReference:
    # model_copy skips validation, so it builds specs that InstrumentSpec itself would reject
    specs = [s.model_copy(update=update) if s.key == key else s for s in reference.specs()]
    return InstrumentReference(specs, source="tampered")


@pytest.mark.parametrize("fee", ["0.02", "-0.0001"])
def test_taker_fee_outside_range(reference: InstrumentReference, fee: str) -> None:
    bad = _tampered(reference, KEY, taker_fee=Decimal(fee), maker_fee=Decimal("-0.0001"))
    problems = instrument_problems(bad)
    assert any(p.startswith(f"{KEY}: taker fee {fee} outside") for p in problems), problems


def test_maker_fee_above_taker_fee(reference: InstrumentReference) -> None:
    bad = _tampered(reference, KEY, maker_fee=Decimal("0.0009"), taker_fee=Decimal("0.0005"))
    assert instrument_problems(bad) == [f"{KEY}: maker fee 0.0009 above taker fee 0.0005"]


def test_empty_reference() -> None:
    assert instrument_problems(InstrumentReference([])) == ["the reference lists no instruments"]
