"""Pandera schemas of the result files. Every file is validated before upload, and the
same schemas back the Dagster asset checks. More columns are allowed (strict=False); none
of the listed ones may be missing or renamed."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

TS = pl.Datetime("ns", "UTC")
SIDES = ["BUY", "SELL"]

# The minimum columns of each file and their types (ARCHITECTURE.md "Backtest results").
ORDER_COLUMNS: dict[str, pl.DataType] = {
    "order_id": pl.String(), "parent_order_id": pl.String(), "operation_id": pl.String(),
    "strategy_id": pl.String(), "instrument_key": pl.String(), "venue": pl.String(),
    "side": pl.String(), "order_type": pl.String(), "quantity": pl.Float64(),
    "price": pl.Float64(), "exec_algorithm": pl.String(), "status": pl.String(),
    "filled_quantity": pl.Float64(), "avg_fill_price": pl.Float64(), "ts_submitted": TS,
    "ts_last": TS,
}  # fmt: skip
FILL_COLUMNS: dict[str, pl.DataType] = {
    "fill_id": pl.String(), "order_id": pl.String(), "instrument_key": pl.String(),
    "venue": pl.String(), "side": pl.String(), "quantity": pl.Float64(), "price": pl.Float64(),
    "fee": pl.Float64(), "fee_currency": pl.String(), "liquidity_side": pl.String(),
    "ts_event": TS,
}  # fmt: skip
POSITION_COLUMNS: dict[str, pl.DataType] = {
    "ts_event": TS, "instrument_key": pl.String(), "venue": pl.String(),
    "quantity": pl.Float64(), "avg_entry_price": pl.Float64(), "realized_pnl": pl.Float64(),
    "unrealized_pnl": pl.Float64(),
}  # fmt: skip
EQUITY_COLUMNS: dict[str, pl.DataType] = {
    "ts_event": TS, "equity": pl.Float64(), "cash": pl.Float64(), "realized_pnl": pl.Float64(),
    "unrealized_pnl": pl.Float64(), "drawdown": pl.Float64(),
}  # fmt: skip


def _col(
    dtype: pl.DataType | type[pl.DataType], *checks: pa.Check, nullable: bool = False
) -> pa.Column:
    return pa.Column(dtype, list(checks), nullable=nullable)


ORDERS_SCHEMA = pa.DataFrameSchema(
    {
        "order_id": _col(pl.String),
        "parent_order_id": _col(pl.String, nullable=True),
        "operation_id": _col(pl.String),
        "strategy_id": _col(pl.String),
        "instrument_key": _col(pl.String),
        "venue": _col(pl.String),
        "side": _col(pl.String, pa.Check.isin(SIDES)),
        "order_type": _col(pl.String, pa.Check.isin(["MARKET", "LIMIT"])),
        "quantity": _col(pl.Float64, pa.Check.gt(0)),
        "price": _col(pl.Float64, pa.Check.gt(0), nullable=True),
        "exec_algorithm": _col(pl.String, pa.Check.isin(["NORMAL", "TWAP", "VWAP", "ICEBERG"])),
        "status": _col(pl.String),
        "filled_quantity": _col(pl.Float64, pa.Check.ge(0)),
        "avg_fill_price": _col(pl.Float64, pa.Check.gt(0), nullable=True),
        "ts_submitted": _col(TS, nullable=True),
        "ts_last": _col(TS, nullable=True),
    },
    unique=["order_id"],
    name="orders",
)

FILLS_SCHEMA = pa.DataFrameSchema(
    {
        "fill_id": _col(pl.String),
        "order_id": _col(pl.String),
        "instrument_key": _col(pl.String),
        "venue": _col(pl.String),
        "side": _col(pl.String, pa.Check.isin(SIDES)),
        "quantity": _col(pl.Float64, pa.Check.gt(0)),
        "price": _col(pl.Float64, pa.Check.gt(0)),
        "fee": _col(pl.Float64),
        "fee_currency": _col(pl.String),
        "liquidity_side": _col(pl.String, pa.Check.isin(["MAKER", "TAKER"])),
        "ts_event": _col(TS),
    },
    unique=["fill_id"],
    name="fills",
)

POSITIONS_SCHEMA = pa.DataFrameSchema(
    {
        "ts_event": _col(TS),
        "instrument_key": _col(pl.String),
        "venue": _col(pl.String),
        "quantity": _col(pl.Float64),
        "avg_entry_price": _col(pl.Float64, pa.Check.ge(0)),
        "realized_pnl": _col(pl.Float64),
        "unrealized_pnl": _col(pl.Float64),
    },
    name="positions",
)

EQUITY_SCHEMA = pa.DataFrameSchema(
    {
        "ts_event": _col(TS),
        "equity": _col(pl.Float64),
        "cash": _col(pl.Float64),
        "realized_pnl": _col(pl.Float64),
        "unrealized_pnl": _col(pl.Float64),
        "drawdown": _col(pl.Float64, pa.Check.le(0)),
    },
    name="equity_curve",
)

RESULT_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "orders.parquet": ORDERS_SCHEMA,
    "fills.parquet": FILLS_SCHEMA,
    "positions.parquet": POSITIONS_SCHEMA,
    "equity_curve.parquet": EQUITY_SCHEMA,
}
