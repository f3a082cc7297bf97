"""Binance formats to tick-store frames.

- Public-data trade CSVs (data.binance.vision): spot files are headerless
  ``id,price,qty,quote_qty,time,is_buyer_maker,is_best_match``; USD-M futures files have
  a header ``id,price,qty,quote_qty,time,is_buyer_maker`` (older ones have none). ``time``
  is epoch ms, but epoch µs in spot files from 2025 on, so the unit is detected per file.
- Public-data bookTicker CSVs (USD-M futures), times in epoch ms.
- The NautilusTrader test fixtures (``timestamp,trade_id,price,quantity,buyer_maker`` and
  ``timestamp,symbol,ask_size,ask,bid_size,bid``), as parquet or as CSV.

``is_buyer_maker``/``buyer_maker`` true means the seller crossed the spread: aggressor SELL.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from execution_core.errors import DataError
from execution_core.ticks.converters._common import (
    Table,
    existing_file,
    first_fields,
    parse_bool,
    parse_epoch,
    parse_int,
    parse_timestamp,
    quotes_frame,
    read_csv,
    read_parquet,
    trades_frame,
)

__all__ = [
    "read_book_ticker_csv",
    "read_quotes_fixture",
    "read_trades_csv",
    "read_trades_fixture",
]

_SPOT_TRADE_COLUMNS = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
_FUTURES_TRADE_COLUMNS = _SPOT_TRADE_COLUMNS[:6]
_TRADE_REQUIRED = ("id", "price", "qty", "time", "is_buyer_maker")
_BOOK_TICKER_COLUMNS = (
    "update_id",
    "best_bid_price",
    "best_bid_qty",
    "best_ask_price",
    "best_ask_qty",
    "transaction_time",
    "event_time",
)
_BOOK_TICKER_REQUIRED = (
    "best_bid_price",
    "best_bid_qty",
    "best_ask_price",
    "best_ask_qty",
    "transaction_time",
)
_FIXTURE_TRADE_COLUMNS = ("timestamp", "trade_id", "price", "quantity", "buyer_maker")
_FIXTURE_QUOTE_COLUMNS = ("timestamp", "ask_size", "ask", "bid_size", "bid")
_EPOCH_UNITS = ("ms", "us")


def _sniff_header(path: Path, layouts: dict[int, tuple[str, ...]]) -> tuple[str, ...] | None:
    """None if the file has a header row, else the column names of its headerless layout.

    Data rows start with a numeric id; a header row starts with a name.
    """
    fields = first_fields(path)
    if not fields[0].isdigit():
        return None
    names = layouts.get(len(fields))
    if names is None:
        raise DataError(
            f"{path}: line 1 has {len(fields)} fields and no header; "
            f"expected one of {sorted(layouts)} fields"
        )
    return names


def _trades(
    table: Table, ts: pl.Series, *, trade_id: str, buyer_maker: str, price: str, size: str
) -> pl.DataFrame:
    maker = parse_bool(table, buyer_maker)
    # The buyer was the resting order, so the seller took liquidity.
    sides = pl.select(pl.when(maker).then(pl.lit("SELL")).otherwise(pl.lit("BUY"))).to_series()
    # Ids go through Int64 so that "0042" in a CSV and 42 in a parquet give the same id.
    ids = parse_int(table, trade_id).cast(pl.String)
    return trades_frame(table, ts, sides, ids, price=price, size=size)


def read_trades_csv(path: str | Path) -> pl.DataFrame:
    """A Binance public-data trade CSV (spot or USD-M futures, with or without header)."""
    p = existing_file(path)
    names = _sniff_header(p, {7: _SPOT_TRADE_COLUMNS, 6: _FUTURES_TRADE_COLUMNS})
    table = read_csv(p, _TRADE_REQUIRED, header=names)
    ts = parse_epoch(table, "time", _EPOCH_UNITS)
    return _trades(
        table, ts, trade_id="id", buyer_maker="is_buyer_maker", price="price", size="qty"
    )


def read_book_ticker_csv(path: str | Path) -> pl.DataFrame:
    """A Binance public-data bookTicker CSV; ts_event is ``transaction_time``."""
    p = existing_file(path)
    names = _sniff_header(p, {7: _BOOK_TICKER_COLUMNS})
    table = read_csv(p, _BOOK_TICKER_REQUIRED, header=names)
    ts = parse_epoch(table, "transaction_time", _EPOCH_UNITS)
    return quotes_frame(
        table,
        ts,
        bid_price="best_bid_price",
        bid_size="best_bid_qty",
        ask_price="best_ask_price",
        ask_size="best_ask_qty",
    )


def _read_fixture(path: str | Path, required: tuple[str, ...]) -> Table:
    p = existing_file(path)
    name = p.name.lower()
    if name.endswith(".parquet"):
        return read_parquet(p, required)
    if name.endswith((".csv", ".csv.gz")):
        return read_csv(p, required)
    raise DataError(f"{p}: unsupported file type (expected .parquet, .csv or .csv.gz)")


def read_trades_fixture(path: str | Path) -> pl.DataFrame:
    """The NautilusTrader Binance trades fixture (``.parquet`` or ``.csv``)."""
    table = _read_fixture(path, _FIXTURE_TRADE_COLUMNS)
    ts = parse_timestamp(table, "timestamp", _EPOCH_UNITS)
    return _trades(
        table, ts, trade_id="trade_id", buyer_maker="buyer_maker", price="price", size="quantity"
    )


def read_quotes_fixture(path: str | Path) -> pl.DataFrame:
    """The NautilusTrader Binance quotes fixture (``.parquet`` or ``.csv``)."""
    table = _read_fixture(path, _FIXTURE_QUOTE_COLUMNS)
    ts = parse_timestamp(table, "timestamp", _EPOCH_UNITS)
    return quotes_frame(
        table, ts, bid_price="bid", bid_size="bid_size", ask_price="ask", ask_size="ask_size"
    )
