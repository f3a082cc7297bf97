"""The tick streams a replay plays: a day of the tick store, and which rows are due when.

:func:`load_streams` reads each instrument's quotes and trades of the day
(``read_day`` of ``tick_key(instrument, kind, day)``) as :class:`ReplayStream` objects;
:class:`ReplaySchedule` says which of their rows are due at a position of the replay
timeline (pure logic: no clock, no publishing); :func:`build_ticks` makes Nautilus ticks of
due rows, stamped with one time, and :func:`in_replay_order` merges several streams' ticks
in their original order (a quote before a trade of the same instant).

The timeline is ns since 00:00 of the day, continued across wraps of the day when looping
(``cycle * period + offset``), so the day's gap structure goes on past midnight. The
*snapshot* is each quote stream's last row before the start, or the day's last quote when
starting at 00:00 with ``loop`` on (as if the previous day had been the same), so that a
book exists before the first replayed tick. :mod:`live_daemon.venues.nautilus.data` is
the NautilusTrader data client that plays them in real time.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from nautilus_trader.core.data import Data
from nautilus_trader.model.instruments import Instrument

from execution_core.instruments.reference import InstrumentReference
from execution_core.nautilus.data import quote_ticks, trade_ticks
from execution_core.nautilus.instruments import to_nautilus_instrument
from execution_core.stores.base import ObjectStore
from execution_core.ticks.layout import NS_PER_DAY, day_start_ns, tick_key
from execution_core.ticks.reader import read_day
from execution_core.ticks.schema import TS_TYPE, TickKind

_RANK = {TickKind.QUOTES: 0, TickKind.TRADES: 1}  # a quote before a trade at equal times


@dataclass(eq=False)
class ReplayStream:
    """One instrument's quotes or trades, with a replay cursor.

    ``offsets`` are ns since the start of the day; ``cycle`` counts wraps of the day."""

    key: str
    kind: TickKind
    instrument: Instrument
    frame: pl.DataFrame
    offsets: np.ndarray
    cursor: int = 0
    cycle: int = 0

    @property
    def rank(self) -> int:
        return _RANK[self.kind]


@dataclass(frozen=True)
class DueRows:
    """Rows ``start:stop`` of ``stream`` that are due now."""

    stream: ReplayStream
    start: int
    stop: int
    base: int  # cycle * period: add to offsets for the position on the replay timeline


@dataclass
class ReplaySchedule:
    """Which rows are due at a replay position (pure logic, no clock, no Nautilus calls).

    Positions are ns on an unbounded replay timeline: ``cycle * period + offset``."""

    streams: list[ReplayStream]
    start_ns: int
    loop: bool = True
    period: int = NS_PER_DAY
    _started: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        last = max((int(s.offsets[-1]) for s in self.streams if len(s.offsets)), default=0)
        self.period = max(self.period, last + 1)
        for stream in self.streams:
            stream.cursor = int(np.searchsorted(stream.offsets, self.start_ns, side="left"))
            stream.cycle = 0

    def snapshot(self) -> list[DueRows]:
        """Each quote stream's last row before the start (see the module docstring)."""
        rows = []
        for s in self.streams:
            if s.kind is not TickKind.QUOTES or not len(s.offsets):
                continue
            if s.cursor > 0:
                rows.append(DueRows(s, s.cursor - 1, s.cursor, 0))
            elif self.loop:
                rows.append(DueRows(s, len(s.offsets) - 1, len(s.offsets), -self.period))
        return rows

    def take_due(self, position: int) -> list[DueRows]:
        """Rows with a timeline position <= ``position`` not taken yet; advances cursors."""
        due = []
        for s in self.streams:
            n = len(s.offsets)
            if not n:
                continue
            if self.loop and position - s.cycle * self.period > 2 * self.period:
                # Fell behind by more than a whole day (huge speed or a long stall): skip.
                s.cycle = position // self.period - 1
                s.cursor = n
            while True:
                base = s.cycle * self.period
                stop = int(np.searchsorted(s.offsets, position - base, side="right"))
                if stop > s.cursor:
                    due.append(DueRows(s, s.cursor, stop, base))
                    s.cursor = stop
                if s.cursor >= n and self.loop and position >= base + self.period:
                    s.cycle += 1
                    s.cursor = 0
                    continue
                break
        return due

    def next_due(self) -> int | None:
        """Timeline position of the next row; ``None`` at the end when not looping."""
        best: int | None = None
        for s in self.streams:
            n = len(s.offsets)
            if not n:
                continue
            if s.cursor < n:
                candidate = s.cycle * self.period + int(s.offsets[s.cursor])
            elif self.loop:
                candidate = (s.cycle + 1) * self.period + int(s.offsets[0])
            else:
                continue
            best = candidate if best is None else min(best, candidate)
        return best


def build_ticks(rows: DueRows, ts_ns: int) -> list[Data]:
    """Nautilus ticks of ``rows``, stamped ``ts_event = ts_init = ts_ns``."""
    part = rows.stream.frame.slice(rows.start, rows.stop - rows.start).with_columns(
        pl.lit(ts_ns, dtype=pl.Int64).cast(TS_TYPE).alias("ts_event")
    )
    convert = quote_ticks if rows.stream.kind is TickKind.QUOTES else trade_ticks
    return list(convert(part, rows.stream.instrument, strict=False))


def in_replay_order(batches: list[tuple[DueRows, list[Data]]]) -> list[Data]:
    """Ticks of several streams in original timeline order (quotes first on ties)."""
    if len(batches) == 1:
        return batches[0][1]
    keyed = (
        [
            (rows.base + int(rows.stream.offsets[rows.start + k]), rows.stream.rank, tick)
            for k, tick in enumerate(ticks)
        ]
        for rows, ticks in batches
    )
    return [tick for _, _, tick in heapq.merge(*keyed, key=lambda item: (item[0], item[1]))]


def load_streams(
    store: ObjectStore,
    reference: InstrumentReference,
    instrument_keys: tuple[str, ...] | list[str],
    day: dt.date,
) -> list[ReplayStream]:
    """Read the day's quotes and trades of every instrument (blocking; run it in a thread).

    Raises :class:`DataError` for a missing or corrupt tick file."""
    start = day_start_ns(day)
    streams = []
    for key in instrument_keys:
        instrument = to_nautilus_instrument(reference.get(key))
        for kind in (TickKind.QUOTES, TickKind.TRADES):
            frame = read_day(store, tick_key(key, kind, day), kind)
            ts = frame["ts_event"].dt.epoch("ns").to_numpy()
            streams.append(
                ReplayStream(
                    key=key,
                    kind=kind,
                    instrument=instrument,
                    frame=frame,
                    offsets=np.asarray(ts, dtype=np.int64) - start,
                )
            )
    return streams
