"""Tests of the venue gateways; :func:`publish_small_demo` writes their tick data,
:func:`venue_config` and :func:`stop_venue` set up and tear down paper venue processes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from execution_core.demo.config import DemoConfig
from execution_core.demo.publish import publish_demo_day
from execution_core.instruments.reference import InstrumentReference
from execution_core.stores.local import LocalObjectStore
from live_daemon.venues.host_config import VenueHostConfig
from tests.live_daemon.daemon_process import EXEC_VENUE, free_port, stop_venue

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


__all__ = ["EXEC_VENUE", "stop_venue"]  # re-exported for the venue tests


def venue_config(
    ticks_url: str,
    state_dir: Path,
    instruments: tuple[str, ...] = (BTC_BINANCE, BTC_OKX),
    *,
    speed: float = 100.0,
    port: int | None = None,
) -> VenueHostConfig:
    """A paper venue of its own: a free port, its record in ``state_dir``."""
    return VenueHostConfig(
        ticks_store_url=ticks_url,
        instruments=list(instruments),
        day=DEMO_DAY,
        speed=speed,
        log_level="INFO",
        port=free_port() if port is None else port,
        state_dir=state_dir,
    )
