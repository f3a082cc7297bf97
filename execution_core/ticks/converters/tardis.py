"""Tardis (tardis.dev) downloadable CSV formats to tick-store frames.

- "trades": ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``
- "quotes": ``exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount``
- "book_snapshot_5" / "book_snapshot_25": ``...,asks[0].price,asks[0].amount,bids[0].price,...``

Timestamps are epoch microseconds: ``timestamp`` is the exchange's time, ``local_timestamp``
the time Tardis received the message. Files may be gzip-compressed (``.csv.gz``).

A quote (or snapshot) row with an empty bid or ask side — an empty book side at that
moment — is no valid top of book: such rows are dropped, and the count is logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from execution_core.ticks.converters._common import (
    LINE,
    Table,
    parse_enum,
    parse_epoch,
    parse_string,
    quotes_frame,
    read_csv,
    trades_frame,
)

__all__ = ["read_book_snapshot_csv", "read_quotes_csv", "read_trades_csv"]

logger = logging.getLogger(__name__)

_SIDES = {"buy": "BUY", "sell": "SELL", "unknown": "NO_AGGRESSOR"}
_US = ("us",)


def _ts_column(use_local_timestamp: bool) -> str:
    return "local_timestamp" if use_local_timestamp else "timestamp"


def read_trades_csv(path: str | Path, *, use_local_timestamp: bool = False) -> pl.DataFrame:
    """A Tardis "trades" CSV; side buy/sell/unknown becomes BUY/SELL/NO_AGGRESSOR.

    ts_event is the exchange ``timestamp``, or ``local_timestamp`` if asked. An empty ``id``
    is a DataError: the contract needs a trade id and inventing one would hide the gap.
    """
    ts_col = _ts_column(use_local_timestamp)
    table = read_csv(path, (ts_col, "id", "side", "price", "amount"))
    ts = parse_epoch(table, ts_col, _US)
    sides = parse_enum(table, "side", _SIDES)
    ids = parse_string(table, "id")
    return trades_frame(table, ts, sides, ids, price="price", size="amount")


def _drop_empty_sides(table: Table, sides: tuple[str, ...], kind: str) -> Table:
    """Drop rows where any of the ``sides`` columns is empty, logging how many."""
    empty = table.frame.select(
        pl.any_horizontal(
            pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in sides
        ).fill_null(True)
    ).to_series()
    dropped = int(empty.sum())
    if dropped:
        first = table.frame.filter(empty)[LINE][0]
        logger.warning(
            "event=%s_dropped reason=empty_side file=%s dropped=%d kept=%d first_line=%d",
            kind,
            table.path,
            dropped,
            table.frame.height - dropped,
            first,
        )
        return table.filter(~empty)
    return table


def read_quotes_csv(path: str | Path, *, use_local_timestamp: bool = False) -> pl.DataFrame:
    """A Tardis "quotes" CSV (top of book); rows with an empty side are dropped and logged."""
    ts_col = _ts_column(use_local_timestamp)
    sides = ("bid_price", "bid_amount", "ask_price", "ask_amount")
    table = _drop_empty_sides(read_csv(path, (ts_col, *sides)), sides, "quotes")
    ts = parse_epoch(table, ts_col, _US)
    return quotes_frame(
        table,
        ts,
        bid_price="bid_price",
        bid_size="bid_amount",
        ask_price="ask_price",
        ask_size="ask_amount",
    )


def read_book_snapshot_csv(path: str | Path, *, use_local_timestamp: bool = False) -> pl.DataFrame:
    """A Tardis "book_snapshot_N" CSV reduced to its top of book (level 0 of each side).

    Rows whose level 0 is empty on either side are dropped and logged, as for quotes.
    """
    ts_col = _ts_column(use_local_timestamp)
    sides = ("bids[0].price", "bids[0].amount", "asks[0].price", "asks[0].amount")
    table = _drop_empty_sides(read_csv(path, (ts_col, *sides)), sides, "book_snapshots")
    ts = parse_epoch(table, ts_col, _US)
    return quotes_frame(
        table,
        ts,
        bid_price="bids[0].price",
        bid_size="bids[0].amount",
        ask_price="asks[0].price",
        ask_size="asks[0].amount",
    )
