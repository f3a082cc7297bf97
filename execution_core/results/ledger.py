"""Positions and the equity curve from fills and mark prices (pure, deterministic).

Marks come from the quotes inside the execution windows (a mid every few seconds and the
last one of each window), so positions are marked to market between windows at the last
price seen, without loading the ticks that were skipped. All instruments are linear and
quoted in the account's base currency (e.g. USDT), so PnL adds up directly.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from execution_core.accounting.positions import Position, apply_fill
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
    """Mid prices of one instrument: the last quote of every ``every`` bucket."""
    if quotes.is_empty():
        return pl.DataFrame(
            schema={
                "ts_event": pl.Datetime("ns", "UTC"),
                "instrument_key": pl.String,
                "mark_price": pl.Float64,
            }
        )
    return (
        quotes.sort("ts_event")
        .group_by_dynamic("ts_event", every=every, label="left")
        .agg(
            pl.col("ts_event").last().alias("ts_last"),
            ((pl.col("bid_price") + pl.col("ask_price")) / 2).last().alias("mark_price"),
        )
        .select(
            pl.col("ts_last").alias("ts_event"),
            pl.lit(instrument_key).alias("instrument_key"),
            "mark_price",
        )
    )


def build_ledger(
    fills: pl.DataFrame, marks: pl.DataFrame, starting_cash: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(positions, equity_curve) frames.

    ``fills``: ts_event, instrument_key, venue, side, quantity, price, fee.
    ``marks``: ts_event, instrument_key, mark_price.
    At equal timestamps fills apply before marks. Positions get a row per instrument at
    each of its fills and marks; the equity curve a row at every event time.
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
    venues = dict(zip(fills["instrument_key"].to_list(), fills["venue"].to_list(), strict=True))
    positions: dict[str, Position] = {}
    last_mark: dict[str, float] = {}
    position_rows, equity_rows = [], []
    peak = starting_cash
    for ts, key, _, signed, price, fee, mark in events.iter_rows():
        if signed is not None:
            positions[key] = apply_fill(positions.get(key, Position()), signed, price, fee)
            last_mark[key] = price  # a fill is the freshest price of its instrument
        else:
            last_mark[key] = mark
        if key in positions:
            p = positions[key]
            position_rows.append(
                (
                    ts,
                    key,
                    venues.get(key, key.split(":", 1)[0]),
                    p.quantity,
                    p.avg_entry_price,
                    p.realized_pnl,
                    p.unrealized_pnl(last_mark[key]),
                )
            )
        realized = sum(p.realized_pnl for p in positions.values())
        fees = sum(p.fees for p in positions.values())
        unrealized = sum(p.unrealized_pnl(last_mark[k]) for k, p in positions.items())
        cash = starting_cash + realized - fees
        equity = cash + unrealized
        peak = max(peak, equity)
        equity_rows.append((ts, equity, cash, realized, unrealized, equity - peak))
    positions_frame = pl.DataFrame(position_rows, schema=POSITION_COLUMNS, orient="row")
    equity_frame = pl.DataFrame(equity_rows, schema=EQUITY_COLUMNS, orient="row")
    return positions_frame, equity_frame
