"""Ticks against an instrument's price and size grid (pure).

The backtest converts ticks to NautilusTrader objects at the instrument's precisions and
refuses values off the grid (rounding would change the tape). Venues change their grids
over time (Binance spot BTCUSDT traded in 0.000001 BTC in 2021, 0.00001 today), so a file
converted from an older day may be finer than the reference: this says so at conversion.
"""

from __future__ import annotations

import polars as pl

from execution_core.instruments.reference import InstrumentSpec
from execution_core.ticks.schema import TickKind

PRICE_COLUMNS = {TickKind.TRADES: ("price",), TickKind.QUOTES: ("bid_price", "ask_price")}
SIZE_COLUMNS = {TickKind.TRADES: ("size",), TickKind.QUOTES: ("bid_size", "ask_size")}


def off_grid(frame: pl.DataFrame, kind: TickKind, spec: InstrumentSpec) -> list[str]:
    """A line per price or size column with values finer than ``spec``'s precision."""
    problems = []
    for columns, decimals, what in (
        (PRICE_COLUMNS[kind], spec.price_precision, "price_precision"),
        (SIZE_COLUMNS[kind], spec.size_precision, "size_precision"),
    ):
        for column in columns:
            values = frame[column]
            off = int(((values - values.round(decimals)).abs() > 1e-12 * values.abs()).sum())
            if off:
                problems.append(
                    f"{off} of {len(values)} {column} values have more than {decimals} "
                    f"decimals ({what} of {spec.key})"
                )
    return problems
