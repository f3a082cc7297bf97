"""Positions and the equity curve from fills and mark prices (pure, deterministic).

Marks come from the quotes inside the execution windows (a mid every few seconds and the
last one of each window), so positions are marked to market between windows at the last
price seen, without loading the ticks that were skipped. Fills apply under each
instrument's own rule (``accounting/settlement.py``): linear instruments in base units with
PnL in USDT, inverse contracts (``…@INV``) in USD contracts with PnL and fees in their
coin. Position rows are in the instrument's own units (an inverse row's quantity is USD,
its PnL BTC); the equity curve is in the reporting currency (coin amounts at the
instrument's last price, so it moves with an inverse instrument's marks as well).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from execution_core.accounting.portfolio import Portfolio, venue_of
from execution_core.accounting.positions import Position
from execution_core.accounting.settlement import apply_fill_for, is_inverse, unrealized_pnl
from execution_core.results.schemas import EQUITY_COLUMNS, POSITION_COLUMNS

MARK_EVERY = dt.timedelta(seconds=10)
EMPTY_MARKS = pl.DataFrame(
    schema={
        "ts_event": pl.Datetime("ns", "UTC"),
        "instrument_key": pl.String,
        "mark_price": pl.Float64,
    }
)


def mark_samples(
    quotes: pl.DataFrame, instrument_key: str, every: dt.timedelta = MARK_EVERY
) -> pl.DataFrame:
    """Mid prices of one instrument: the first quote (a position carried from the day
    before is re-marked at the day's first price), then the last of every ``every``."""
    if quotes.is_empty():
        return EMPTY_MARKS
    mid = ((pl.col("bid_price") + pl.col("ask_price")) / 2).alias("mark_price")
    ordered = quotes.sort("ts_event")
    first = ordered.head(1).select("ts_event", pl.lit(instrument_key).alias("instrument_key"), mid)
    buckets = (
        ordered.group_by_dynamic("ts_event", every=every, label="left")
        .agg(pl.col("ts_event").last().alias("ts_last"), mid.last())
        .select(
            pl.col("ts_last").alias("ts_event"),
            pl.lit(instrument_key).alias("instrument_key"),
            "mark_price",
        )
    )
    return pl.concat([first, buckets]).unique("ts_event", keep="last", maintain_order=True)


@dataclass(frozen=True)
class Ledger:
    """A day's positions and equity curve, and the portfolio it closes with."""

    positions: pl.DataFrame
    equity_curve: pl.DataFrame
    closing: Portfolio


def build_ledger(
    fills: pl.DataFrame,
    marks: pl.DataFrame,
    opening: Portfolio,
    opened_at: dt.datetime | None = None,
) -> Ledger:
    """The day's positions and equity curve, from ``opening`` through its fills and marks.

    ``fills``: ts_event, instrument_key, venue, side, quantity, price, fee.
    ``marks``: ts_event, instrument_key, mark_price.
    At equal timestamps fills apply before marks. Positions get a row per instrument at
    each of its fills and marks; the equity curve a row at every event time. With
    ``opened_at`` (the day's start), both also get a row there for what ``opening`` holds,
    at the previous close's prices, so that the days' curves join into one: a carried
    position is re-marked at the first price of the day (the overnight move shows there).
    """
    events = pl.concat(
        [
            fills.select(
                "ts_event",
                "instrument_key",
                pl.lit(0).alias("order"),
                pl.when(pl.col("side") == "BUY")
                .then(pl.col("quantity"))
                .otherwise(-pl.col("quantity"))
                .alias("signed"),
                "price",
                "fee",
                pl.lit(None, dtype=pl.Float64).alias("mark_price"),
            ),
            marks.select(
                "ts_event",
                "instrument_key",
                pl.lit(1).alias("order"),
                pl.lit(None, dtype=pl.Float64).alias("signed"),
                pl.lit(None, dtype=pl.Float64).alias("price"),
                pl.lit(None, dtype=pl.Float64).alias("fee"),
                "mark_price",
            ),
        ],
        how="vertical_relaxed",
    ).sort(["ts_event", "order"], maintain_order=True)
    positions = dict(opening.positions)
    last_mark = dict(opening.marks)
    peak = max(opening.peak_equity, opening.equity)
    position_rows: list[tuple] = []
    equity_rows: list[tuple] = []
    if opened_at is not None:
        for key, p in sorted(positions.items()):
            position_rows.append(_position_row(opened_at, key, p, last_mark[key]))
        equity_rows.append(_equity_row(opened_at, opening, peak))
    # cash and realized PnL change only at fills, and at the marks of an inverse
    # instrument (its coin amounts are valued at its price): recomputed there, with
    # Portfolio's own formulas (so that the last row is exactly the closing equity)
    book = Portfolio(opening.accounts, positions, last_mark)
    cash, realized = book.cash, book.realized_pnl
    for ts, key, _, signed, price, fee, mark in events.iter_rows():
        if signed is not None:
            positions[key] = apply_fill_for(key, positions.get(key, Position()), signed, price, fee)
            last_mark[key] = price  # a fill is the freshest price of its instrument
            cash, realized = book.cash, book.realized_pnl
        else:
            last_mark[key] = mark
            if key in positions and is_inverse(key):
                cash, realized = book.cash, book.realized_pnl
        if key in positions:
            position_rows.append(_position_row(ts, key, positions[key], last_mark[key]))
        unrealized = book.unrealized_pnl
        equity = cash + unrealized
        peak = max(peak, equity)
        equity_rows.append((ts, equity, cash, realized, unrealized, equity - peak))
    positions_frame = pl.DataFrame(position_rows, schema=POSITION_COLUMNS, orient="row")
    equity_frame = pl.DataFrame(equity_rows, schema=EQUITY_COLUMNS, orient="row")
    closing = Portfolio(
        accounts=dict(opening.accounts),
        positions=positions,
        marks={k: last_mark[k] for k in positions},
        peak_equity=peak,
    )
    return Ledger(positions_frame, equity_frame, closing)


def _position_row(ts: object, key: str, p: Position, mark: float) -> tuple:
    return (
        ts,
        key,
        venue_of(key),
        p.quantity,
        p.avg_entry_price,
        p.realized_pnl,
        unrealized_pnl(key, p, mark),
    )


def _equity_row(ts: object, portfolio: Portfolio, peak: float) -> tuple:
    equity = portfolio.equity
    return (
        ts,
        equity,
        portfolio.cash,
        portfolio.realized_pnl,
        portfolio.unrealized_pnl,
        equity - peak,
    )
