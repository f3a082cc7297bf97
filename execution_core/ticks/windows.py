"""Execution events → execution windows: the only ticks a backtest loads.

Each event opens ``[ts_event, ts_event + 5 min)`` on every venue it may execute on (one
venue, or all venues listing the instrument when the signal leaves it open with ``ANY``).
Windows of the same venue instrument that overlap or touch merge into one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from execution_core.execution_window import EXECUTION_WINDOW

Window = tuple[int, int]  # [start_ns, end_ns)

WINDOW_COLUMNS: dict[str, pl.DataType] = {
    "instrument_key": pl.String(),
    "window_start": pl.Datetime("ns", "UTC"),
    "window_end": pl.Datetime("ns", "UTC"),
    "n_events": pl.UInt32(),
    "strategy_ids": pl.List(pl.String()),
    "signal_keys": pl.List(pl.String()),
}


def execution_windows(
    events: pl.DataFrame,
    venues_for: Callable[[str], list[str]],
    length: dt.timedelta = EXECUTION_WINDOW,
) -> pl.DataFrame:
    """Merged windows per venue instrument, sorted by instrument then start.

    ``venues_for(signal_key)`` returns the concrete venue instrument keys a signal's
    instrument key may trade on (itself for a concrete key).
    """
    if events.is_empty():
        return pl.DataFrame(schema=WINDOW_COLUMNS)
    keys = events["instrument_key"].unique().to_list()
    expansion = pl.DataFrame(
        [(key, venue_key) for key in keys for venue_key in venues_for(key)],
        schema={"signal_key": pl.String, "instrument_key": pl.String},
        orient="row",
    )
    opened = (
        events.select(
            pl.col("instrument_key").alias("signal_key"),
            "strategy_id",
            pl.col("ts_event").alias("window_start"),
            (pl.col("ts_event") + length).alias("window_end"),
        )
        .join(expansion, on="signal_key", how="inner")
        .sort(["instrument_key", "window_start"])
    )
    # A new merged window starts where a window begins after every earlier one has ended.
    merged = (
        opened.with_columns(
            pl.col("window_end").cum_max().shift(1).over("instrument_key").alias("_reach")
        )
        .with_columns(
            (pl.col("_reach").is_null() | (pl.col("window_start") > pl.col("_reach")))
            .cum_sum()
            .over("instrument_key")
            .alias("_group")
        )
        .group_by(["instrument_key", "_group"], maintain_order=True)
        .agg(
            pl.col("window_start").min(),
            pl.col("window_end").max(),
            pl.len().alias("n_events"),
            pl.col("strategy_id").unique(maintain_order=True).alias("strategy_ids"),
            pl.col("signal_key").unique(maintain_order=True).alias("signal_keys"),
        )
        .drop("_group")
    )
    return merged.select([pl.col(c).cast(t) for c, t in WINDOW_COLUMNS.items()])


def window_coverage(windows: pl.DataFrame) -> dt.timedelta:
    """Total time covered by the windows (summed over venue instruments)."""
    if windows.is_empty():
        return dt.timedelta(0)
    total = (windows["window_end"] - windows["window_start"]).sum()
    return total if isinstance(total, dt.timedelta) else dt.timedelta(0)


def inside_windows(ts_ns: np.ndarray, windows: Sequence[Window]) -> np.ndarray:
    """Mask of the timestamps inside any of ``windows`` (sorted and non-overlapping)."""
    if not len(windows):
        return np.zeros(len(ts_ns), dtype=bool)
    starts = np.array([w[0] for w in windows], dtype=np.int64)
    ends = np.array([w[1] for w in windows], dtype=np.int64)
    slot = np.searchsorted(starts, ts_ns, side="right") - 1
    return (slot >= 0) & (ts_ns < ends[np.clip(slot, 0, None)])
