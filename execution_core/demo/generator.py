"""The demo day: ticks for every configured instrument-venue plus the strategies' signals.

``generate_demo_day`` holds everything in memory (about 3.8M ticks at the defaults);
``iter_demo_instruments`` yields one instrument-venue at a time so that a caller can write
each to the tick store and free it. Both give identical frames for the same config: the
fair path of an asset derives from (seed, date, asset) and each venue's randomness from
(seed, date, instrument key), so the order in which instruments are generated, or which
subset is generated, does not matter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import polars as pl

from execution_core.demo.config import DemoConfig, DemoInstrument
from execution_core.demo.market import AssetDay, simulate_asset_day, simulate_instrument_day
from execution_core.demo.signals import generate_signals
from execution_core.ticks.schema import QUOTES_SCHEMA, TRADES_SCHEMA


@dataclass(frozen=True, slots=True)
class DemoInstrumentDay:
    """One instrument-venue's ticks for the day (validated against the tick schemas)."""

    instrument: DemoInstrument
    date: dt.date
    trades: pl.DataFrame
    quotes: pl.DataFrame

    @property
    def key(self) -> str:
        return self.instrument.key

    @property
    def n_ticks(self) -> int:
        return self.trades.height + self.quotes.height


@dataclass(slots=True)
class DemoDay:
    """A full demo day. ``trades``/``quotes`` keyed by canonical instrument key,
    ``signals`` by strategy id."""

    date: dt.date
    trades: dict[str, pl.DataFrame] = field(default_factory=dict)
    quotes: dict[str, pl.DataFrame] = field(default_factory=dict)
    signals: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def total_ticks(self) -> int:
        return sum(f.height for f in self.trades.values()) + sum(
            f.height for f in self.quotes.values()
        )


def iter_demo_instruments(
    config: DemoConfig, keys: Iterable[str] | None = None
) -> Iterator[DemoInstrumentDay]:
    """Yield each configured instrument-venue's day (or only those in ``keys``), in
    config order, one at a time. The asset's fair path is reused across its venues."""
    wanted = None if keys is None else set(keys)
    if wanted is not None:
        unknown = wanted - {inst.key for inst in config.instruments}
        if unknown:
            raise KeyError(f"not demo instruments: {sorted(unknown)}")
    cache: dict[str, AssetDay] = {}
    for inst in config.instruments:
        if wanted is not None and inst.key not in wanted:
            continue
        asset_day = cache.get(inst.asset)
        if asset_day is None:
            asset_day = simulate_asset_day(config.assets[inst.asset], config.date, config.seed)
            cache[inst.asset] = asset_day
        n_trades, n_quotes = config.scaled_counts(inst)
        trades, quotes = simulate_instrument_day(
            inst,
            config.date,
            config.seed,
            n_trades=n_trades,
            n_quotes=n_quotes,
            asset_day=asset_day,
        )
        yield DemoInstrumentDay(
            instrument=inst,
            date=config.date,
            trades=TRADES_SCHEMA.validate(trades),
            quotes=QUOTES_SCHEMA.validate(quotes),
        )


def generate_demo_day(config: DemoConfig) -> DemoDay:
    """All ticks and signals of the demo day, validated against their schemas."""
    day = DemoDay(date=config.date)
    for item in iter_demo_instruments(config):
        day.trades[item.key] = item.trades
        day.quotes[item.key] = item.quotes
    day.signals = generate_signals(config)
    return day
