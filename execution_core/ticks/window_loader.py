"""Load the ticks inside execution windows, across day files, and report the I/O saved.

A window that starts on the partition day may run up to 5 minutes into the next day; its
tail is read from the next day's file when that file exists. The partition day's own file
must exist: a missing one is an error, never an empty result.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from execution_core.errors import DataError
from execution_core.stores.base import ObjectStore
from execution_core.ticks.layout import NS_PER_DAY, day_start_ns, tick_key
from execution_core.ticks.reader import read_windows
from execution_core.ticks.schema import TickKind, empty_frame
from execution_core.ticks.windows import Window

log = logging.getLogger(__name__)

READ_THREADS = 4


@dataclass
class IOReport:
    """Bytes fetched against the bytes of the full day files those windows live in."""

    bytes_read: int = 0
    bytes_full_days: int = 0
    rows_read: int = 0
    rows_full_days: int = 0
    window_rows: int = 0
    files: int = 0
    missing_spill_files: list[str] = field(default_factory=list)

    @property
    def reduction(self) -> float:
        return 1.0 - self.bytes_read / self.bytes_full_days if self.bytes_full_days else 0.0

    @property
    def ideal_reduction(self) -> float:
        """What reading exactly the window rows would save (by rows)."""
        return 1.0 - self.window_rows / self.rows_full_days if self.rows_full_days else 0.0

    @property
    def read_amplification(self) -> float:
        return self.rows_read / self.window_rows if self.window_rows else 1.0

    def merge(self, other: IOReport) -> None:
        self.bytes_read += other.bytes_read
        self.bytes_full_days += other.bytes_full_days
        self.rows_read += other.rows_read
        self.rows_full_days += other.rows_full_days
        self.window_rows += other.window_rows
        self.files += other.files
        self.missing_spill_files += other.missing_spill_files

    def as_dict(self) -> dict[str, float | int]:
        return {
            "bytes_read": self.bytes_read,
            "bytes_full_days": self.bytes_full_days,
            "reduction": round(self.reduction, 6),
            "ideal_reduction": round(self.ideal_reduction, 6),
            "rows_read": self.rows_read,
            "window_rows": self.window_rows,
            "read_amplification": round(self.read_amplification, 6),
            "files": self.files,
        }


@dataclass(frozen=True)
class TickWindows:
    """Ticks of one venue instrument and kind, inside its windows, sorted by ts_event."""

    instrument_key: str
    kind: TickKind
    frame: pl.DataFrame


def windows_by_day(windows: pl.DataFrame, instrument_key: str) -> dict[dt.date, list[Window]]:
    """The instrument's windows as [start_ns, end_ns) ranges, cut at midnight, per day."""
    rows = windows.filter(pl.col("instrument_key") == instrument_key).sort("window_start")
    per_day: dict[dt.date, list[Window]] = {}
    starts = rows["window_start"].dt.epoch("ns").to_list()
    ends = rows["window_end"].dt.epoch("ns").to_list()
    for start, end in zip(starts, ends, strict=True):
        while start < end:
            day = dt.datetime.fromtimestamp(start // 1_000_000_000, dt.UTC).date()
            day_end = day_start_ns(day) + NS_PER_DAY
            per_day.setdefault(day, []).append((start, min(end, day_end)))
            start = day_end
    return per_day


def _load_one(
    store: ObjectStore,
    instrument_key: str,
    kind: TickKind,
    per_day: dict[dt.date, list[Window]],
    partition_day: dt.date,
) -> tuple[TickWindows, IOReport]:
    """One venue instrument and kind, across the day files its windows touch."""
    report = IOReport()
    parts = []
    for day, day_windows in sorted(per_day.items()):
        key = tick_key(instrument_key, kind, day)
        if day != partition_day and not store.exists(key):
            # The spill past midnight of the last window; next day not there yet.
            report.missing_spill_files.append(store.describe(key))
            log.warning("spill_file_missing key=%s", key)
            continue
        try:
            result = read_windows(store, key, day_windows, kind)
        except DataError as exc:
            raise DataError(f"{instrument_key} {kind.value}: {exc}") from exc
        report.bytes_read += result.bytes_read
        report.bytes_full_days += result.bytes_full
        report.rows_read += result.rows_read
        report.rows_full_days += result.rows_total
        report.window_rows += len(result.frame)
        report.files += 1
        parts.append(result.frame)
    frame = pl.concat(parts) if parts else empty_frame(kind)
    return TickWindows(instrument_key, kind, frame), report


def load_tick_windows(
    store: ObjectStore,
    windows: pl.DataFrame,
    partition_day: dt.date,
    kinds: Iterable[TickKind] = (TickKind.TRADES, TickKind.QUOTES),
    progress: Callable[[str], None] | None = None,
    max_workers: int = READ_THREADS,
) -> tuple[list[TickWindows], IOReport]:
    """Read every venue instrument's windows for each kind. Returns frames and the I/O.

    Files are read on a few threads: parquet decoding and object-store requests release
    the GIL, so the reads of different files overlap.
    """
    tasks = [
        (instrument_key, kind, windows_by_day(windows, instrument_key))
        for instrument_key in windows["instrument_key"].unique(maintain_order=True).to_list()
        for kind in kinds
    ]
    report = IOReport()
    loaded: list[TickWindows] = []
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = [
            pool.submit(_load_one, store, key, kind, per_day, partition_day)
            for key, kind, per_day in tasks
        ]
        for future in futures:  # in task order, so the output is deterministic
            ticks, part = future.result()
            report.merge(part)
            loaded.append(ticks)
            if progress:
                progress(f"{ticks.instrument_key} {ticks.kind.value}: {len(ticks.frame)} ticks")
    return loaded, report
