"""Signal file contract: one parquet per strategy and day (ARCHITECTURE.md, "Signals")."""

from __future__ import annotations

from enum import StrEnum

import pandera.polars as pa
import polars as pl

from execution_core.ticks.schema import TS_TYPE


class ExecAlgorithm(StrEnum):
    NORMAL = "NORMAL"
    TWAP = "TWAP"
    VWAP = "VWAP"
    ICEBERG = "ICEBERG"


SIGNAL_COLUMNS: dict[str, pl.DataType] = {
    "ts_event": TS_TYPE,
    "strategy_id": pl.String(),
    "instrument_key": pl.String(),
    "target_quantity": pl.Float64(),
    "exec_algorithm": pl.String(),
    "exec_algorithm_params": pl.String(),
}
OPTIONAL_SIGNAL_COLUMNS = ("exec_algorithm", "exec_algorithm_params")


def _finite(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_finite())


SIGNALS_SCHEMA = pa.DataFrameSchema(
    {
        "ts_event": pa.Column(TS_TYPE, nullable=False),
        "strategy_id": pa.Column(pl.String, pa.Check.str_length(1, 128), nullable=False),
        "instrument_key": pa.Column(pl.String, pa.Check.str_length(1, 256), nullable=False),
        "target_quantity": pa.Column(
            pl.Float64,
            pa.Check(_finite, name="finite", error="target_quantity must be finite"),
            nullable=False,
        ),
        "exec_algorithm": pa.Column(
            pl.String, pa.Check.isin([a.value for a in ExecAlgorithm]), nullable=True
        ),
        "exec_algorithm_params": pa.Column(pl.String, nullable=True),
    },
    strict=True,
    name="signals",
)
