"""Window-end heartbeats: where they go in the quote stream, and which quote they repeat."""

from __future__ import annotations

import polars as pl
import pytest

from execution_core.execution_window import EXECUTION_WINDOW, EXECUTION_WINDOW_NS
from pipelines.backtest.tick_feed import with_window_end_heartbeats

S = 1_000_000_000


def quotes(ts: list[int]) -> pl.DataFrame:
    n = len(ts)
    return pl.DataFrame(
        {
            "ts_event": pl.Series(ts, dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
            "bid_price": [100.0 + i for i in range(n)],
            "bid_size": [1.0] * n,
            "ask_price": [101.0 + i for i in range(n)],
            "ask_size": [2.0] * n,
        }
    )


def concat_and_sort(frame: pl.DataFrame, ends: list[int]) -> pl.DataFrame:
    """The definition: the last quote at or before each end (within a window) repeated at
    that end, appended, then the whole stably sorted by time."""
    if not ends or frame.is_empty():
        return frame
    marks = pl.DataFrame({"end": sorted(set(ends))}).with_columns(
        pl.col("end").cast(pl.Datetime("ns", "UTC"))
    )
    last = marks.join_asof(
        frame.with_columns(pl.col("ts_event").alias("quoted_at")),
        left_on="end",
        right_on="ts_event",
        strategy="backward",
    ).filter(
        pl.col("quoted_at").is_not_null() & (pl.col("end") - pl.col("quoted_at") < EXECUTION_WINDOW)
    )
    beats = last.select(
        pl.col("end").alias("ts_event"), *[c for c in frame.columns if c != "ts_event"]
    )
    return pl.concat([frame, beats.select(frame.columns)]).sort("ts_event", maintain_order=True)


@pytest.mark.parametrize(
    "ends",
    [
        [],
        [2 * S],  # an end equal to quote times: after every quote of that instant
        [2 * S, 2 * S, 3 * S],  # duplicate ends: one heartbeat
        [0, S - 1],  # before the first quote: none
        [5 * S + EXECUTION_WINDOW_NS, 5 * S + EXECUTION_WINDOW_NS - 1],  # stale, then just fresh
        [10 * S + EXECUTION_WINDOW_NS - 1, 7 * S, 9 * S],  # unsorted, past the last quote
    ],
)
def test_heartbeats_repeat_the_last_quote_at_each_window_end(ends: list[int]) -> None:
    frame = quotes([S, 2 * S, 2 * S, 2 * S, 5 * S, 8 * S, 10 * S])
    got = with_window_end_heartbeats(frame, ends)
    assert got.equals(concat_and_sort(frame, ends))
    assert got["ts_event"].is_sorted()


def test_heartbeat_at_a_tie_repeats_the_last_quote_of_that_instant() -> None:
    frame = quotes([S, 2 * S, 2 * S])
    got = with_window_end_heartbeats(frame, [2 * S])
    assert got["bid_price"].to_list() == [100.0, 101.0, 102.0, 102.0]
    assert got["ts_event"].dt.epoch("ns").to_list() == [S, 2 * S, 2 * S, 2 * S]
