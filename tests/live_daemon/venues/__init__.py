"""Tests of the venue gateways; :func:`publish_small_demo` writes their tick data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from execution_core.demo.config import DemoConfig
from execution_core.demo.publish import publish_demo_day
from execution_core.instruments.reference import InstrumentReference
from execution_core.stores.local import LocalObjectStore

DEMO_DAY = dt.date(2024, 3, 1)
BTC_BINANCE = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
BTC_OKX = "OKX:PERPETUAL:BTC-USDT@LIN"
ETH_BYBIT = "BYBIT:PERPETUAL:ETH-USDT@LIN"


def publish_small_demo(root: Path, reference: InstrumentReference) -> LocalObjectStore:
    """A demo day at 0.5 % of the default tick counts (about 19k ticks, 3 s to write):
    BTC and ETH perpetuals on Binance Futures, Bybit and OKX. Returns the tick store."""
    ticks = LocalObjectStore(root / "ticks")
    config = DemoConfig(date=DEMO_DAY, ticks_scale=0.005)
    publish_demo_day(config, ticks, LocalObjectStore(root / "signals"), reference)
    return ticks
