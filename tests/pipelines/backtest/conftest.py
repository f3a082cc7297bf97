"""Helpers of the backtest-runner tests: hand-made events frames and tick windows.

Everything is synthetic and tiny (a few thousand quotes), so a scenario runs through
NautilusTrader in well under a second and every number in it can be derived by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest

from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.signals.events import EVENT_COLUMNS
from execution_core.ticks.schema import QUOTE_COLUMNS, TRADE_COLUMNS, TickKind
from execution_core.ticks.window_loader import TickWindows
from execution_core.ticks.windows import execution_windows

T0 = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)
DAY = T0.date().isoformat()
SIGNAL_FILE = f"s1/{DAY}.parquet"
BINANCE_BTC = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
OKX_BTC = "OKX:PERPETUAL:BTC-USDT@LIN"
ANY_BTC = "ANY:PERPETUAL:BTC-USDT@LIN"
BID, ASK = 100_000.0, 100_000.1
WINDOW = dt.timedelta(minutes=5)


def timestamps(start: dt.datetime, count: int, step: dt.timedelta) -> pl.Series:
    """``count`` timestamps ``start, start + step, ...`` as Datetime(ns, UTC)."""
    return pl.datetime_range(
        start, start + step * (count - 1), step, time_unit="ns", time_zone="UTC", eager=True
    ).alias("ts_event")


def quote_frame(
    start: dt.datetime = T0,
    *,
    duration: dt.timedelta = WINDOW,
    step: dt.timedelta = dt.timedelta(milliseconds=100),
    bid: float = BID,
    ask: float = ASK,
    bid_size: float = 10.0,
    ask_size: float = 10.0,
) -> pl.DataFrame:
    """Constant quotes every ``step`` over ``[start, start + duration)``."""
    count = int(duration / step)
    return pl.DataFrame(
        {
            "ts_event": timestamps(start, count, step),
            "bid_price": [bid] * count,
            "bid_size": [bid_size] * count,
            "ask_price": [ask] * count,
            "ask_size": [ask_size] * count,
        },
        schema=QUOTE_COLUMNS,
    )


def trade_frame(
    start: dt.datetime,
    count: int,
    *,
    step: dt.timedelta = dt.timedelta(seconds=1),
    price: float = BID,
    size: float = 0.05,
    aggressor_side: str = "SELL",
    id_prefix: str = "t",
) -> pl.DataFrame:
    """``count`` identical trades every ``step`` from ``start``."""
    return pl.DataFrame(
        {
            "ts_event": timestamps(start, count, step),
            "price": [price] * count,
            "size": [size] * count,
            "aggressor_side": [aggressor_side] * count,
            "trade_id": [f"{id_prefix}{i}" for i in range(count)],
        },
        schema=TRADE_COLUMNS,
    )


def quotes(key: str, *frames: pl.DataFrame) -> TickWindows:
    return TickWindows(
        key, TickKind.QUOTES, pl.concat(frames).sort("ts_event", maintain_order=True)
    )


def trades(key: str, *frames: pl.DataFrame) -> TickWindows:
    return TickWindows(
        key, TickKind.TRADES, pl.concat(frames).sort("ts_event", maintain_order=True)
    )


@dataclass(frozen=True)
class Signal:
    """One target change, as a row of the runner's events frame."""

    ts: dt.datetime
    target: float
    previous: float = 0.0
    key: str = BINANCE_BTC
    algorithm: str | None = "NORMAL"
    params: str | None = None
    strategy_id: str = "s1"
    row: int = 0
    signal_file: str | None = SIGNAL_FILE


def events_frame(signals: Sequence[Signal]) -> pl.DataFrame:
    """The runner's input: ``EVENT_COLUMNS`` (execution_core.signals.events)."""
    rows: list[tuple[Any, ...]] = [
        (
            s.ts,
            s.strategy_id,
            s.key,
            s.target,
            s.previous,
            s.target - s.previous,
            s.algorithm,
            s.params,
            s.signal_file,
            s.row,
        )
        for s in signals
    ]
    return pl.DataFrame(rows, schema=EVENT_COLUMNS, orient="row")


def windows_for(events: pl.DataFrame, reference: InstrumentReference) -> pl.DataFrame:
    """The execution windows the pipeline would open for ``events``."""

    def venues_for(key: str) -> list[str]:
        return [spec.key for spec in reference.backtest_listing(CanonicalId.parse(key))]

    return execution_windows(events, venues_for)


@pytest.fixture(scope="session")
def reference() -> Iterator[InstrumentReference]:
    yield load_reference()
