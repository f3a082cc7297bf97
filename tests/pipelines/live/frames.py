"""Small hand-built reconciliation frames: rows as dicts of strings, typed like the real ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from pipelines.reconciliation.frames import (
    OMS_FILLS,
    OMS_ORDERS,
    OMS_POSITIONS,
    TIMESTAMP,
    VENUE_FILLS,
    VENUE_ORDERS,
    VENUE_POSITIONS,
    typed,
)

READ_AT = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
BTC_OKX = "OKX:PERPETUAL:BTC-USDT@LIN"
BTC_BYBIT = "BYBIT:PERPETUAL:BTC-USDT@LIN"


def before(seconds: float = 60) -> dt.datetime:
    return READ_AT - dt.timedelta(seconds=seconds)


def after(seconds: float = 5) -> dt.datetime:
    return READ_AT + dt.timedelta(seconds=seconds)


def frame(rows: list[dict[str, Any]], schema: pl.Schema) -> pl.DataFrame:
    raw = pl.DataFrame(
        [{name: row.get(name) for name in schema} for row in rows] or None,
        schema={n: TIMESTAMP if d == TIMESTAMP else pl.String() for n, d in schema.items()},
        orient="row",
    )
    return typed(raw, schema, "test")


def oms_order(order_id: str, **kw: Any) -> dict[str, Any]:
    row = {
        "order_id": order_id,
        "venue_key": BTC_OKX,
        "status": "FILLED",
        "side": "BUY",
        "quantity": "0.5",
        "filled_quantity": "0.5",
        "created_at": before(60),
        "updated_at": before(30),
    }
    return row | kw


def venue_order(order_id: str, **kw: Any) -> dict[str, Any]:
    row = {
        "order_id": order_id,
        "venue_key": BTC_OKX,
        "status": "FILLED",
        "quantity": "0.50",
        "filled_quantity": "0.500",
    }
    return row | kw


def oms_fill(fill_id: str, order_id: str, **kw: Any) -> dict[str, Any]:
    row = {
        "venue_key": BTC_OKX,
        "fill_id": fill_id,
        "order_id": order_id,
        "quantity": "0.5",
        "price": "43000.5",
        "fee": "0.1",
        "ts": before(40),
    }
    return row | kw


def venue_fill(fill_id: str, order_id: str, **kw: Any) -> dict[str, Any]:
    row = {
        "fill_id": fill_id,
        "order_id": order_id,
        "venue_key": BTC_OKX,
        "quantity": "0.50",
        "price": "43000.50",
        "fee": "0.1",
        "ts": before(40).isoformat(),
    }
    return row | kw


def oms_orders(*rows: dict[str, Any]) -> pl.DataFrame:
    return frame(list(rows), OMS_ORDERS)


def venue_orders(*rows: dict[str, Any]) -> pl.DataFrame:
    return frame(list(rows), VENUE_ORDERS)


def oms_fills(*rows: dict[str, Any]) -> pl.DataFrame:
    return frame(list(rows), OMS_FILLS)


def venue_fills(*rows: dict[str, Any]) -> pl.DataFrame:
    return frame(list(rows), VENUE_FILLS)


def oms_positions(*rows: tuple[str, str, str]) -> pl.DataFrame:
    """``(strategy_id, instrument_key, quantity)`` rows."""
    return frame(
        [{"strategy_id": s, "instrument_key": k, "quantity": q} for s, k, q in rows], OMS_POSITIONS
    )


def venue_positions(*rows: tuple[str, str]) -> pl.DataFrame:
    """``(venue_key, quantity)`` rows."""
    return frame([{"venue_key": k, "quantity": q} for k, q in rows], VENUE_POSITIONS)
