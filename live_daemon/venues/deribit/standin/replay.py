"""The stand-in's market: each instrument's quotes of one day of the tick store, replayed
at ``speed`` times the wall clock (the day's gaps kept, wrapping at midnight), becoming the
touch the exchange matches against (:meth:`~.engine.Exchange.set_touch`).

Sizes in the tick store are in the venue's units (the instrument reference's rule: USD for
Deribit's inverse contracts, as the demo generator writes them), rounded down to whole
contracts (at least one). Before the first
replayed quote the touch is the day's quote just before the start (the day's last one when
starting at 00:00, as if the day before had been the same).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from execution_core.stores.base import ObjectStore
from execution_core.ticks.layout import NS_PER_DAY, day_start_ns, tick_key
from execution_core.ticks.reader import read_day
from execution_core.ticks.schema import TickKind
from live_daemon.venues.deribit.standin.instruments import Listing
from live_daemon.venues.deribit.standin.model import Touch

WAKE_SECS = 0.01


@dataclass
class QuoteStream:
    listing: Listing
    offsets: np.ndarray  # ns since the day's start
    rows: list[tuple[float, float, float, float]]  # bid, bid size, ask, ask size
    cursor: int = -1

    def touch(self, index: int, ts_ms: int) -> Touch:
        bid, bid_size, ask, ask_size = self.rows[index]
        return Touch(
            bid=_on_tick(bid, self.listing.tick_size),
            bid_amount=whole_contracts(bid_size, self.listing.contract_size),
            ask=_on_tick(ask, self.listing.tick_size),
            ask_amount=whole_contracts(ask_size, self.listing.contract_size),
            timestamp=ts_ms,
        )


def _on_tick(price: float, tick: Decimal) -> Decimal:
    return (Decimal(repr(price)) / tick).to_integral_value() * tick


def whole_contracts(size: float, contract: Decimal) -> Decimal:
    """A size in venue units (USD) rounded down to whole contracts, at least one."""
    return max(int(Decimal(repr(size)) / contract), 1) * contract


def load_streams(store: ObjectStore, listings: list[Listing], day: dt.date) -> list[QuoteStream]:
    """Raises ``FileNotFoundError``-like store errors naming the missing day file."""
    streams = []
    start = day_start_ns(day)
    for listing in listings:
        key = tick_key(listing.key, TickKind.QUOTES, day)
        if not store.exists(key):
            raise FileNotFoundError(f"no quotes for {listing.key} on {day}: {store.describe(key)}")
        frame = read_day(store, key, TickKind.QUOTES)
        if frame.is_empty():
            raise ValueError(f"quotes for {listing.key} on {day} are empty")
        offsets = frame["ts_event"].dt.epoch("ns").to_numpy() - start
        rows = list(
            zip(
                frame["bid_price"].to_list(),
                frame["bid_size"].to_list(),
                frame["ask_price"].to_list(),
                frame["ask_size"].to_list(),
                strict=True,
            )
        )
        streams.append(QuoteStream(listing, offsets, rows))
    return streams


def due_index(offsets: np.ndarray, position_ns: int) -> int:
    """The last row at or before ``position_ns`` of the day (-1: none yet)."""
    return int(np.searchsorted(offsets, position_ns % NS_PER_DAY, side="right")) - 1


async def replay(
    streams: list[QuoteStream],
    on_touch: Callable[[str, Touch], None],
    speed: float,
    start_offset_secs: float = 0.0,
) -> None:
    """Run until cancelled: give ``on_touch`` each instrument's touch as it changes."""
    start_ns = int(start_offset_secs * 1e9)
    wall_start = time.monotonic()
    while True:
        position = start_ns + int((time.monotonic() - wall_start) * speed * 1e9)
        now_ms = time.time_ns() // 1_000_000
        for stream in streams:
            index = due_index(stream.offsets, position)
            if index < 0:
                index = len(stream.rows) - 1  # before the day's first quote: the day's last
            if index != stream.cursor:
                stream.cursor = index
                on_touch(stream.listing.name, stream.touch(index, now_ms))
        await asyncio.sleep(WAKE_SECS)
