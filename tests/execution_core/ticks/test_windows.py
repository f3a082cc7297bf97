"""Execution windows: 5 minutes per event and venue, merged when they overlap or touch."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from execution_core.execution_window import EXECUTION_WINDOW
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import load_reference
from execution_core.ticks.windows import (
    WINDOW_COLUMNS,
    execution_windows,
    window_coverage,
)

T0 = dt.datetime(2025, 1, 15, 10, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
BINANCE_BTC = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
BYBIT_BTC = "BYBIT:PERPETUAL:BTC-USDT@LIN"
OKX_BTC = "OKX:PERPETUAL:BTC-USDT@LIN"
BINANCE_ETH = "BINANCE-FUTURES:PERPETUAL:ETH-USDT@LIN"
ANY_BTC = "ANY:PERPETUAL:BTC-USDT@LIN"
ANY_ETH = "ANY:PERPETUAL:ETH-USDT@LIN"

REFERENCE = load_reference()


def venues_for(key: str) -> list[str]:
    """Concrete venue keys a signal key may trade on, from the packaged reference."""
    return [spec.key for spec in REFERENCE.backtest_listing(CanonicalId.parse(key))]


def events(rows: list[tuple[dt.timedelta, str, str]]) -> pl.DataFrame:
    """Events at T0 + offset, for (offset, strategy, instrument)."""
    return pl.DataFrame(
        {
            "ts_event": [T0 + r[0] for r in rows],
            "strategy_id": [r[1] for r in rows],
            "instrument_key": [r[2] for r in rows],
        },
        schema={
            "ts_event": pl.Datetime("ns", "UTC"),
            "strategy_id": pl.String,
            "instrument_key": pl.String,
        },
    )


def spans(windows: pl.DataFrame, key: str) -> list[tuple[dt.datetime, dt.datetime]]:
    return (
        windows.filter(pl.col("instrument_key") == key).select("window_start", "window_end").rows()
    )


def test_packaged_reference_lists_any_btc_on_three_venues() -> None:
    """The fixture closure resolves ANY through the reference (and a concrete key to itself)."""
    assert venues_for(ANY_BTC) == [BINANCE_BTC, BYBIT_BTC, OKX_BTC]
    assert venues_for(BYBIT_BTC) == [BYBIT_BTC]


def test_one_event_opens_one_five_minute_window() -> None:
    windows = execution_windows(events([(0 * MIN, "s1", BINANCE_BTC)]), venues_for)
    assert dt.timedelta(minutes=5) == EXECUTION_WINDOW
    assert windows.rows() == [(BINANCE_BTC, T0, T0 + 5 * MIN, 1, ["s1"], [BINANCE_BTC])]
    assert windows.schema == pl.Schema(WINDOW_COLUMNS)


def test_custom_length_is_used() -> None:
    windows = execution_windows(
        events([(0 * MIN, "s1", BINANCE_BTC)]), venues_for, length=dt.timedelta(seconds=30)
    )
    assert spans(windows, BINANCE_BTC) == [(T0, T0 + dt.timedelta(seconds=30))]


def test_overlapping_and_touching_windows_merge_separate_ones_do_not() -> None:
    """[0,5)+[3,8) overlap, [8,13) touches, [13m+1µs, …) is apart."""
    us = dt.timedelta(microseconds=1)
    frame = events(
        [
            (0 * MIN, "s1", BINANCE_BTC),
            (3 * MIN, "s2", BINANCE_BTC),
            (8 * MIN, "s1", BINANCE_BTC),
            (13 * MIN + us, "s1", BINANCE_BTC),
        ]
    )
    windows = execution_windows(frame, venues_for)
    assert spans(windows, BINANCE_BTC) == [
        (T0, T0 + 13 * MIN),
        (T0 + 13 * MIN + us, T0 + 18 * MIN + us),
    ]
    assert windows["n_events"].to_list() == [3, 1]
    assert sorted(windows["strategy_ids"][0]) == ["s1", "s2"]
    assert windows["strategy_ids"][1].to_list() == ["s1"]


def test_contained_window_does_not_shrink_the_merge() -> None:
    """An event inside a longer merged run keeps the run's end (cumulative max of ends)."""
    frame = events(
        [
            (0 * MIN, "s1", BINANCE_BTC),
            (4 * MIN, "s1", BINANCE_BTC),
            (1 * MIN, "s1", BINANCE_BTC),
            (9 * MIN, "s1", BINANCE_BTC),
        ]
    )
    windows = execution_windows(frame, venues_for)
    assert spans(windows, BINANCE_BTC) == [(T0, T0 + 14 * MIN)]
    assert windows["n_events"].to_list() == [4]


def test_separate_instruments_never_merge() -> None:
    """Same time, different venue instruments: one window each, sorted by instrument."""
    frame = events(
        [(0 * MIN, "s1", BYBIT_BTC), (0 * MIN, "s1", BINANCE_BTC), (1 * MIN, "s1", BINANCE_ETH)]
    )
    windows = execution_windows(frame, venues_for)
    assert windows["instrument_key"].to_list() == [BINANCE_BTC, BINANCE_ETH, BYBIT_BTC]
    assert windows["n_events"].to_list() == [1, 1, 1]
    assert spans(windows, BINANCE_ETH) == [(T0 + MIN, T0 + 6 * MIN)]


def test_any_expands_to_every_listing_venue_and_merges_with_concrete_events() -> None:
    """ANY opens a window on each venue listing it; a concrete event on one of them merges."""
    frame = events(
        [
            (0 * MIN, "s1", ANY_BTC),
            (2 * MIN, "s2", BYBIT_BTC),
            (30 * MIN, "s1", ANY_ETH),
        ]
    )
    windows = execution_windows(frame, venues_for)
    assert windows["instrument_key"].to_list() == [
        BINANCE_BTC,
        BINANCE_ETH,
        "BYBIT:PERPETUAL:BTC-USDT@LIN",
        "BYBIT:PERPETUAL:ETH-USDT@LIN",
        OKX_BTC,
        "OKX:PERPETUAL:ETH-USDT@LIN",
    ]
    assert spans(windows, BINANCE_BTC) == [(T0, T0 + 5 * MIN)]
    assert spans(windows, OKX_BTC) == [(T0, T0 + 5 * MIN)]
    bybit = windows.filter(pl.col("instrument_key") == BYBIT_BTC).row(0, named=True)
    assert (bybit["window_start"], bybit["window_end"]) == (T0, T0 + 7 * MIN)
    assert bybit["n_events"] == 2
    assert sorted(bybit["strategy_ids"]) == ["s1", "s2"]
    assert sorted(bybit["signal_keys"]) == [ANY_BTC, BYBIT_BTC]
    binance = windows.filter(pl.col("instrument_key") == BINANCE_BTC).row(0, named=True)
    assert binance["signal_keys"] == [ANY_BTC]
    assert binance["strategy_ids"] == ["s1"]


def test_signal_keys_and_strategy_ids_are_unique_per_window() -> None:
    frame = events([(0 * MIN, "s1", ANY_BTC), (1 * MIN, "s1", ANY_BTC), (2 * MIN, "s1", ANY_BTC)])
    windows = execution_windows(frame, venues_for)
    assert len(windows) == 3
    assert windows["n_events"].to_list() == [3, 3, 3]
    assert windows["strategy_ids"].to_list() == [["s1"]] * 3
    assert windows["signal_keys"].to_list() == [[ANY_BTC]] * 3


def test_window_crossing_midnight_keeps_its_end() -> None:
    late = dt.datetime(2025, 1, 15, 23, 58, tzinfo=dt.UTC) - T0
    windows = execution_windows(events([(late, "s1", BINANCE_BTC)]), venues_for)
    assert spans(windows, BINANCE_BTC) == [
        (
            dt.datetime(2025, 1, 15, 23, 58, tzinfo=dt.UTC),
            dt.datetime(2025, 1, 16, 0, 3, tzinfo=dt.UTC),
        )
    ]


def test_empty_events_give_an_empty_frame_with_window_columns() -> None:
    windows = execution_windows(events([]), venues_for)
    assert windows.is_empty()
    assert windows.schema == pl.Schema(WINDOW_COLUMNS)
    assert window_coverage(windows) == dt.timedelta(0)


def test_window_coverage_sums_over_venue_instruments() -> None:
    """Merged windows count once; each venue of an ANY event counts separately."""
    frame = events(
        [(0 * MIN, "s1", BINANCE_BTC), (2 * MIN, "s1", BINANCE_BTC), (60 * MIN, "s1", ANY_BTC)]
    )
    windows = execution_windows(frame, venues_for)
    assert window_coverage(windows) == 7 * MIN + 3 * 5 * MIN


# --- property -----------------------------------------------------------------------------

SIGNAL_KEYS = [BINANCE_BTC, BYBIT_BTC, BINANCE_ETH, ANY_BTC, ANY_ETH]
DAY_NS = 86_400 * 10**9


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            # coarse and fine offsets so that overlaps, touches and near misses all occur
            st.one_of(
                st.integers(0, 2 * DAY_NS),
                st.integers(0, 40).map(lambda m: m * 60 * 10**9),
                st.integers(0, 20 * 60 * 10**9),
            ),
            st.sampled_from(["s1", "s2"]),
            st.sampled_from(SIGNAL_KEYS),
        ),
        max_size=40,
    )
)
def test_merged_windows_cover_each_event_once_and_are_disjoint(rows) -> None:
    """Every event time is inside exactly one window of each of its venues; an instrument's
    windows are sorted and disjoint (touching would have merged); coverage ≤ events × 5 min."""
    frame = events([(dt.timedelta(microseconds=ns // 1000), s, k) for ns, s, k in rows])
    windows = execution_windows(frame, venues_for)
    assert windows.schema == pl.Schema(WINDOW_COLUMNS)
    per_venue: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for key in windows["instrument_key"].unique().to_list():
        per_venue[key] = spans(windows, key)
    openings = 0
    for row in frame.iter_rows(named=True):
        for venue in venues_for(row["instrument_key"]):
            openings += 1
            t = row["ts_event"]
            assert sum(start <= t < end for start, end in per_venue[venue]) == 1
    for venue, venue_spans in per_venue.items():
        assert all(start < end for start, end in venue_spans), venue
        for (_, end), (next_start, _) in itertools.pairwise(venue_spans):
            assert end < next_start, venue
        n = int(windows.filter(pl.col("instrument_key") == venue)["n_events"].sum())
        assert sum((e - s for s, e in venue_spans), dt.timedelta(0)) <= n * EXECUTION_WINDOW
    assert windows["instrument_key"].is_sorted()
    assert windows["n_events"].sum() == openings
    assert window_coverage(windows) <= openings * EXECUTION_WINDOW
    if all(venues_for(k) == [k] for k in frame["instrument_key"].to_list()):
        assert window_coverage(windows) <= len(frame) * EXECUTION_WINDOW
