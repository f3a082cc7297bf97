"""Where tick files live in the tick store, and how they are cut into row groups.

Key: ``{market}/{venue}/{instrument_type}/{payload}/{kind}/{YYYY-MM-DD}.parquet``
(ARCHITECTURE.md). ``market`` is the ID's asset class, ``CRYPTO`` when it has none.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from execution_core.instruments.ids import CanonicalId
from execution_core.ticks.schema import TickKind

DEFAULT_MARKET = "CRYPTO"
NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND


@dataclass(frozen=True)
class RowGroupLayout:
    """Row groups hold at most ``span_seconds`` of ticks (aligned to the day) and at most
    ``max_rows`` rows. 30 s was tuned with ``bench/windows.py`` and ``bench/backtest.py``:
    shorter spans read fewer rows outside a window (20 s: amplification 1.07 against 1.11)
    but decode more, smaller row groups (20 s: window reads twice as slow), for the same
    bytes. ``EXEC_TICK_ROW_GROUP_SECONDS`` overrides it for writers."""

    span_seconds: int = int(os.environ.get("EXEC_TICK_ROW_GROUP_SECONDS", "30"))
    max_rows: int = 131_072
    compression: str = "zstd"


DEFAULT_LAYOUT = RowGroupLayout()


def day_start_ns(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * NS_PER_SECOND


def tick_key(instrument: CanonicalId | str, kind: TickKind | str, day: dt.date) -> str:
    """Store key of one instrument-day tick file. ``instrument`` must name a venue."""
    cid = CanonicalId.parse(instrument) if isinstance(instrument, str) else instrument
    if cid.is_any_venue:
        raise ValueError(f"{cid}: tick files belong to one venue; resolve ANY first")
    market = cid.asset_class or DEFAULT_MARKET
    kind = TickKind(kind)
    return (
        f"{market}/{cid.venue}/{cid.instrument_type.value}/{cid.payload_with_suffix}/"
        f"{kind.value}/{day.isoformat()}.parquet"
    )


def index_key(parquet_key: str) -> str:
    """Key of the row-group index sidecar of a tick file."""
    return parquet_key + ".rgindex"
