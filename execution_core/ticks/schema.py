"""Column contracts of the tick store (see ARCHITECTURE.md, "Tick store").

Two forms of the same contract: Arrow schemas for writing parquet, and pandera (polars)
schemas for validating frames before they are written and in Dagster asset checks.
"""

from __future__ import annotations

from enum import StrEnum

import pandera.polars as pa
import polars as pl
import pyarrow as arrow


class TickKind(StrEnum):
    TRADES = "trades"
    QUOTES = "quotes"


# Aggressor sides. The contract names BUY and SELL; NO_AGGRESSOR (NautilusTrader's name)
# keeps trades whose source does not say who crossed the spread (e.g. Tardis "unknown").
AGGRESSOR_SIDES = ("BUY", "SELL", "NO_AGGRESSOR")

TS_TYPE = pl.Datetime("ns", "UTC")

TRADE_COLUMNS: dict[str, pl.DataType] = {
    "ts_event": TS_TYPE,
    "price": pl.Float64(),
    "size": pl.Float64(),
    "aggressor_side": pl.String(),
    "trade_id": pl.String(),
}
QUOTE_COLUMNS: dict[str, pl.DataType] = {
    "ts_event": TS_TYPE,
    "bid_price": pl.Float64(),
    "bid_size": pl.Float64(),
    "ask_price": pl.Float64(),
    "ask_size": pl.Float64(),
}
COLUMNS: dict[TickKind, dict[str, pl.DataType]] = {
    TickKind.TRADES: TRADE_COLUMNS,
    TickKind.QUOTES: QUOTE_COLUMNS,
}


def arrow_schema(kind: TickKind) -> arrow.Schema:
    """The parquet schema of a tick file (all columns required)."""
    ts = arrow.timestamp("ns", tz="UTC")
    if kind is TickKind.TRADES:
        fields = [
            arrow.field("ts_event", ts, nullable=False),
            arrow.field("price", arrow.float64(), nullable=False),
            arrow.field("size", arrow.float64(), nullable=False),
            arrow.field("aggressor_side", arrow.string(), nullable=False),
            arrow.field("trade_id", arrow.string(), nullable=False),
        ]
    else:
        fields = [arrow.field("ts_event", ts, nullable=False)] + [
            arrow.field(name, arrow.float64(), nullable=False)
            for name in ("bid_price", "bid_size", "ask_price", "ask_size")
        ]
    return arrow.schema(fields)


def _sorted_by_ts(data: pa.PolarsData) -> pl.LazyFrame:
    ts = pl.col("ts_event").dt.epoch("ns")
    return data.lazyframe.select((ts.diff().fill_null(0) >= 0).alias("sorted"))


_SORTED = pa.Check(_sorted_by_ts, name="sorted_by_ts_event", error="ts_event is not sorted")
_POSITIVE = pa.Check.gt(0)
_NON_NEGATIVE = pa.Check.ge(0)

TRADES_SCHEMA = pa.DataFrameSchema(
    {
        "ts_event": pa.Column(TS_TYPE, nullable=False),
        "price": pa.Column(pl.Float64, [_POSITIVE], nullable=False),
        "size": pa.Column(pl.Float64, [_POSITIVE], nullable=False),
        "aggressor_side": pa.Column(pl.String, pa.Check.isin(AGGRESSOR_SIDES), nullable=False),
        "trade_id": pa.Column(pl.String, nullable=False),
    },
    checks=[_SORTED],
    strict=True,
    name="trades",
)

QUOTES_SCHEMA = pa.DataFrameSchema(
    {
        "ts_event": pa.Column(TS_TYPE, nullable=False),
        "bid_price": pa.Column(pl.Float64, [_POSITIVE], nullable=False),
        "bid_size": pa.Column(pl.Float64, [_NON_NEGATIVE], nullable=False),
        "ask_price": pa.Column(pl.Float64, [_POSITIVE], nullable=False),
        "ask_size": pa.Column(pl.Float64, [_NON_NEGATIVE], nullable=False),
    },
    checks=[_SORTED],
    strict=True,
    name="quotes",
)

SCHEMAS: dict[TickKind, pa.DataFrameSchema] = {
    TickKind.TRADES: TRADES_SCHEMA,
    TickKind.QUOTES: QUOTES_SCHEMA,
}


def empty_frame(kind: TickKind) -> pl.DataFrame:
    return pl.DataFrame(schema=COLUMNS[kind])
