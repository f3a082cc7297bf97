"""Write a generated demo day into the tick and signals stores, one instrument at a time
(so memory holds one instrument-day, not the whole day)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from execution_core.demo.config import DemoConfig
from execution_core.demo.generator import iter_demo_instruments
from execution_core.demo.signals import generate_signals
from execution_core.instruments.reference import InstrumentReference
from execution_core.signals.loader import write_signal_file
from execution_core.stores.base import ObjectStore
from execution_core.ticks.schema import TickKind
from execution_core.ticks.writer import write_tick_day

log = logging.getLogger(__name__)


@dataclass
class PublishedDemo:
    trades: int = 0
    quotes: int = 0
    tick_bytes: int = 0
    tick_files: list[str] = field(default_factory=list)
    signal_files: list[str] = field(default_factory=list)


def publish_demo_day(
    config: DemoConfig,
    ticks: ObjectStore,
    signals: ObjectStore,
    reference: InstrumentReference,
    progress: Callable[[str], None] | None = None,
) -> PublishedDemo:
    """Generate and write every instrument's trades and quotes, then every strategy's signals."""
    report = PublishedDemo()
    for item in iter_demo_instruments(config):
        for kind, frame in ((TickKind.TRADES, item.trades), (TickKind.QUOTES, item.quotes)):
            info = write_tick_day(ticks, item.key, kind, config.date, frame)
            report.tick_files.append(info.key)
            report.tick_bytes += info.bytes + info.index_bytes
        report.trades += item.trades.height
        report.quotes += item.quotes.height
        if progress:
            progress(item.key)
    for strategy_id, frame in generate_signals(config).items():
        report.signal_files.append(
            write_signal_file(signals, strategy_id, config.date, frame, reference)
        )
    log.info(
        "demo_published day=%s trades=%d quotes=%d tick_bytes=%d signal_files=%d",
        config.date,
        report.trades,
        report.quotes,
        report.tick_bytes,
        len(report.signal_files),
    )
    return report
