"""Signals → execution events: the rows that change a strategy's target position.

A signal row says "from now on I want this position". Only a row whose target differs
from the previous target of the same (strategy, instrument) is an execution event; the
first row of a day compares with the last target in the strategy's most recent earlier
signal file (``prior_targets``; yesterday's, unless it wrote none yesterday), or with a flat
position when there is none.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from execution_core.signals.schema import ExecAlgorithm

EVENT_COLUMNS: dict[str, pl.DataType] = {
    "ts_event": pl.Datetime("ns", "UTC"),
    "strategy_id": pl.String(),
    "instrument_key": pl.String(),
    "target_quantity": pl.Float64(),
    "previous_target": pl.Float64(),
    "delta_quantity": pl.Float64(),
    "exec_algorithm": pl.String(),
    "exec_algorithm_params": pl.String(),
    "signal_file": pl.String(),
    "signal_row": pl.Int64(),
}

# Targets closer than this are the same target (float noise from upstream arithmetic).
TARGET_TOLERANCE = 1e-12


def execution_events(
    signals: pl.DataFrame,
    prior_targets: Mapping[tuple[str, str], float] | None = None,
) -> pl.DataFrame:
    """The target changes in ``signals`` (validated frame), in time order.

    ``signal_file``/``signal_row`` say where each event came from (the input's row
    position when the frame does not carry them), so errors can name the row.
    """
    if signals.is_empty():
        return pl.DataFrame(schema=EVENT_COLUMNS)
    prior = pl.DataFrame(
        [
            {"strategy_id": s, "instrument_key": i, "prior_target": float(t)}
            for (s, i), t in (prior_targets or {}).items()
        ],
        schema={"strategy_id": pl.String, "instrument_key": pl.String, "prior_target": pl.Float64},
    )
    group = ["strategy_id", "instrument_key"]
    if "signal_row" not in signals.columns:
        signals = signals.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("signal_row"))
    if "signal_file" not in signals.columns:
        signals = signals.with_columns(pl.lit(None, dtype=pl.String).alias("signal_file"))
    frame = (
        signals.with_row_index("_order")
        .sort(["ts_event", "_order"])
        .join(prior, on=group, how="left", maintain_order="left")
        .with_columns(
            pl.col("target_quantity")
            .shift(1)
            .over(group, order_by=["ts_event", "_order"])
            .fill_null(pl.col("prior_target"))
            .fill_null(0.0)
            .alias("previous_target")
        )
        .with_columns(
            (pl.col("target_quantity") - pl.col("previous_target")).alias("delta_quantity")
        )
        .filter(pl.col("delta_quantity").abs() > TARGET_TOLERANCE)
        .with_columns(pl.col("exec_algorithm").fill_null(ExecAlgorithm.NORMAL.value))
    )
    return frame.select([pl.col(c).cast(t) for c, t in EVENT_COLUMNS.items()])


def last_targets(signals: pl.DataFrame) -> dict[tuple[str, str], float]:
    """The target each (strategy, instrument) holds at the end of ``signals``."""
    if signals.is_empty():
        return {}
    last = (
        signals.with_row_index("row")
        .sort(["ts_event", "row"])
        .group_by(["strategy_id", "instrument_key"], maintain_order=True)
        .agg(pl.col("target_quantity").last())
    )
    return {
        (row["strategy_id"], row["instrument_key"]): float(row["target_quantity"])
        for row in last.iter_rows(named=True)
    }
