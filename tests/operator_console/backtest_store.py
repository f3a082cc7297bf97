"""A backtest results store as the pipeline leaves it, in miniature: one small, schema-valid
run committed with execution_core's artifact commit under ``backtest_results/{run_id}/``
(as the ``backtest_results`` asset does). Shared by the console's tests and the browser
tests."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import polars as pl

from execution_core.results.schemas import (
    EQUITY_COLUMNS,
    FILL_COLUMNS,
    ORDER_COLUMNS,
    POSITION_COLUMNS,
)
from execution_core.stores import ObjectStore
from execution_core.stores.artifacts import commit, parquet_bytes

DAY = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)


def _frame(columns: dict[str, pl.DataType], rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=columns)


def result_files(run_id: str, *, equity_rows: int = 10, summary: dict[str, Any] | None = None
                 ) -> dict[str, bytes]:  # fmt: skip
    """A small, schema-valid backtest result: two parent orders (TWAP on BYBIT filled in
    full, NORMAL on OKX half filled), their fills, a position and an equity curve."""
    ts = [DAY + dt.timedelta(seconds=i) for i in range(equity_rows)]
    order = {
        "parent_order_id": None, "strategy_id": "s1", "order_type": "MARKET", "price": None,
        "side": "BUY", "status": "FILLED", "ts_submitted": DAY, "ts_last": DAY,
        "instrument_key": "BYBIT:PERPETUAL:BTC-USDT@LIN",
    }  # fmt: skip
    orders = _frame(ORDER_COLUMNS, [
        order | {"order_id": "o1", "operation_id": "op1", "venue": "BYBIT", "quantity": 1.0,
                 "exec_algorithm": "TWAP", "filled_quantity": 1.0, "avg_fill_price": 100.0},
        order | {"order_id": "o2", "operation_id": "op2", "venue": "OKX", "quantity": 2.0,
                 "exec_algorithm": "NORMAL", "filled_quantity": 1.0, "avg_fill_price": 101.0,
                 "status": "CANCELED"},
    ])  # fmt: skip
    fill = {"instrument_key": "BYBIT:PERPETUAL:BTC-USDT@LIN", "side": "BUY", "quantity": 1.0,
            "fee_currency": "USDT", "liquidity_side": "TAKER", "ts_event": DAY}  # fmt: skip
    fills = _frame(FILL_COLUMNS, [
        fill | {"fill_id": "f1", "order_id": "o1", "venue": "BYBIT", "price": 100.0, "fee": 0.5},
        fill | {"fill_id": "f2", "order_id": "o2", "venue": "OKX", "price": 101.0, "fee": 0.25},
    ])  # fmt: skip
    positions = _frame(POSITION_COLUMNS, [
        {"ts_event": DAY, "instrument_key": "BYBIT:PERPETUAL:BTC-USDT@LIN", "venue": "BYBIT",
         "quantity": 2.0, "avg_entry_price": 100.5, "realized_pnl": 0.0, "unrealized_pnl": 1.0},
    ])  # fmt: skip
    equity = _frame(EQUITY_COLUMNS, [
        {"ts_event": t, "equity": 1000.0 + i, "cash": 1000.0, "realized_pnl": 0.0,
         "unrealized_pnl": float(i), "drawdown": 0.0}
        for i, t in enumerate(ts)
    ])  # fmt: skip
    body = {
        "run_id": run_id, "day": "2025-01-15", "n_orders": 2, "n_fills": 2,
        "total_fees": 0.75, "realized_pnl": 0.0, "pnl": 9.0, "final_equity": 1009.0,
        "max_drawdown": 0.0, "strategy_ids": ["s1"], "venues": ["BYBIT", "OKX"],
    }  # fmt: skip
    return {
        "summary.json": json.dumps(body | (summary or {})).encode(),
        "orders.parquet": parquet_bytes(orders),
        "fills.parquet": parquet_bytes(fills),
        "positions.parquet": parquet_bytes(positions),
        "equity_curve.parquet": parquet_bytes(equity),
    }


def commit_run(store: ObjectStore, run_id: str, **kwargs: Any) -> None:
    commit(store, f"backtest_results/{run_id}", result_files(run_id, **kwargs),
           {"run_id": run_id, "partition": "2025-01-15"})  # fmt: skip
