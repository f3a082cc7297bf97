"""Read the ticks of one day file that fall inside given time windows.

Only the row groups that overlap a window are fetched, by ranged reads through the store.
With the row-group index sidecar, the footer is not read at all (see ``rowgroup_index``);
without it (a file written by another tool) the reader prunes with the footer statistics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as arrow
import pyarrow.parquet as pq

from execution_core.errors import DataError, ObjectNotFoundError
from execution_core.stores.base import CountingReader, ObjectStore, RangeFile
from execution_core.ticks import rowgroup_index
from execution_core.ticks.layout import index_key
from execution_core.ticks.schema import TickKind, empty_frame
from execution_core.ticks.windows import Window, inside_windows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WindowRead:
    """The rows inside the windows, and what it cost to get them."""

    frame: pl.DataFrame
    rows_read: int  # rows decoded (whole row groups)
    rows_total: int  # rows in the day file
    bytes_read: int  # bytes fetched from the store, index included
    bytes_full: int  # size of the day file
    row_groups_read: int
    row_groups_total: int


def _runs(indices: np.ndarray) -> Iterator[tuple[int, int]]:
    """Consecutive runs [first, last] of sorted unique indices."""
    if len(indices) == 0:
        return
    breaks = np.flatnonzero(np.diff(indices) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(indices) - 1]])
    for s, e in zip(starts, ends, strict=True):
        yield int(indices[s]), int(indices[e])


def _check_sorted(ts: np.ndarray, previous_last: int | None, where: str, group: int) -> None:
    unsorted = np.flatnonzero(np.diff(ts) < 0)
    if len(unsorted) or (previous_last is not None and len(ts) and ts[0] < previous_last):
        row = int(unsorted[0]) + 1 if len(unsorted) else 0
        raise DataError(f"{where}: ts_event is not sorted (row group {group}, row {row})")


class _Collector:
    """Keeps the rows inside the windows of each decoded run of row groups, in order.

    The runs stay arrow tables until :meth:`frame` converts them to polars in one go (one
    conversion per file, not one per run); a run that lies wholly inside the windows (the
    common case: windows start and end on row-group boundaries) is kept without a filter.
    """

    def __init__(self, windows: Sequence[Window], where: str) -> None:
        self.windows, self.where = windows, where
        self.parts: list[arrow.Table] = []
        self.rows_read = 0
        self.rows_total = 0
        self.groups = 0
        self._last: int | None = None

    def add(self, tables: list[arrow.Table], first_group: int) -> None:
        """A run of consecutive row groups, decoded; converted and filtered in one batch."""
        table = arrow.concat_tables(tables) if len(tables) > 1 else tables[0]
        ts = table.column("ts_event").cast(arrow.int64()).to_numpy()
        self._check_sorted(ts, tables, first_group)
        if len(ts):
            self._last = int(ts[-1])
        self.rows_read += table.num_rows
        self.groups += len(tables)
        if not len(ts):
            return
        mask = inside_windows(ts, self.windows)
        if mask.all():
            self.parts.append(table)
        elif mask.any():
            self.parts.append(table.filter(arrow.array(mask)))

    def _check_sorted(self, ts: np.ndarray, tables: list[arrow.Table], first_group: int) -> None:
        """The run's timestamps checked in one pass; on a violation, the group-by-group
        check names the first offending row group and row."""
        behind = self._last is not None and len(ts) and ts[0] < self._last
        if not behind and not (np.diff(ts) < 0).any():
            return
        last, start = self._last, 0
        for offset, one in enumerate(tables):
            group_ts = ts[start : start + one.num_rows]
            start += one.num_rows
            _check_sorted(group_ts, last, self.where, first_group + offset)
            if len(group_ts):
                last = int(group_ts[-1])

    def frame(self) -> pl.DataFrame | None:
        """The kept rows as one polars frame (None if there are none)."""
        if not self.parts:
            return None
        frame = pl.from_arrow(arrow.concat_tables(self.parts))
        assert isinstance(frame, pl.DataFrame)
        return frame


def _read_with_index(
    store: ObjectStore, reads: CountingReader, key: str, size: int, collector: _Collector
) -> int | None:
    """Read via the sidecar. Returns the number of row groups, or None if unusable."""
    ikey = index_key(key)
    where = store.describe(ikey)
    try:
        head = reads.read_range(ikey, 0, rowgroup_index.HEADER.size)
    except ObjectNotFoundError:
        return None
    n, parquet_size, table_bytes = rowgroup_index.decode_header(head, where)
    if parquet_size != size:
        log.warning(
            "rowgroup_index_stale key=%s index_size=%d file_size=%d", key, parquet_size, size
        )
        return None
    table = reads.read_range(ikey, rowgroup_index.HEADER.size, table_bytes)
    index = rowgroup_index.decode_table(n, parquet_size, table, where)
    e = index.entries
    collector.rows_total = int(e["num_rows"].sum())
    wanted = np.unique(np.concatenate([index.overlapping(s, t) for s, t in collector.windows]))
    for first, last in _runs(wanted):
        data_start = int(e["data_offset"][first])
        data = reads.read_range(
            key, data_start, int(e["data_offset"][last] + e["data_length"][last]) - data_start
        )
        foot_start = index.footers_start + int(e["footer_offset"][first])
        foot_end = index.footers_start + int(e["footer_offset"][last] + e["footer_length"][last])
        footers = reads.read_range(ikey, foot_start, foot_end - foot_start)
        tables = []
        for g in range(first, last + 1):
            lo = int(e["data_offset"][g]) - data_start
            flo = int(e["footer_offset"][g] - e["footer_offset"][first])
            one = rowgroup_index.one_group_file(
                data[lo : lo + int(e["data_length"][g])],
                footers[flo : flo + int(e["footer_length"][g])],
            )
            pf = pq.ParquetFile(arrow.BufferReader(one), page_checksum_verification=True)
            tables.append(pf.read_row_group(0, use_threads=False))  # tiny groups: threads cost more
        collector.add(tables, first)
    return n


def _read_with_footer(reads: CountingReader, key: str, size: int, collector: _Collector) -> int:
    """Standard path: parse the footer, prune row groups by ts_event statistics."""
    pf = pq.ParquetFile(RangeFile(reads, key, size), page_checksum_verification=True)
    ts_col = pf.schema_arrow.get_field_index("ts_event")
    collector.rows_total = pf.metadata.num_rows
    wanted = []
    for g in range(pf.metadata.num_row_groups):
        stats = pf.metadata.row_group(g).column(ts_col).statistics
        if stats is None or not stats.has_min_max:
            wanted.append(g)
            continue
        lo, hi = int(stats.min_raw), int(stats.max_raw)  # physical int64 nanoseconds
        if any(hi >= s and lo < t for s, t in collector.windows):
            wanted.append(g)
    for first, last in _runs(np.array(wanted, dtype=np.int64)):
        collector.add(
            [pf.read_row_group(g, use_threads=False) for g in range(first, last + 1)], first
        )
    return int(pf.metadata.num_row_groups)


def read_windows(
    store: ObjectStore, key: str, windows: Sequence[Window], kind: TickKind
) -> WindowRead:
    """Rows of ``key`` with ts_event inside any of ``windows`` (sorted, non-overlapping)."""
    where = store.describe(key)
    try:
        size = store.size(key)
    except ObjectNotFoundError:
        raise DataError(f"tick file missing: {where}") from None
    reads = CountingReader(store)
    collector = _Collector(sorted(windows), where)
    total = None
    if windows:
        try:
            total = _read_with_index(store, reads, key, size, collector)
        except (DataError, OSError, arrow.ArrowException) as exc:
            log.warning("rowgroup_index_unusable key=%s error=%s", key, exc)
            collector = _Collector(sorted(windows), where)
        if total is None:
            try:
                total = _read_with_footer(reads, key, size, collector)
            except (OSError, arrow.ArrowException) as exc:
                raise DataError(f"corrupt tick file {where}: {exc}") from exc
    frame = collector.frame()
    return WindowRead(
        frame=frame if frame is not None else empty_frame(kind),
        rows_read=collector.rows_read,
        rows_total=collector.rows_total,
        bytes_read=reads.bytes_read,
        bytes_full=size,
        row_groups_read=collector.groups,
        row_groups_total=total or 0,
    )


def read_day(store: ObjectStore, key: str, kind: TickKind) -> pl.DataFrame:
    """The whole day file (for checks and tools, not for the windowed pipeline)."""
    everything = [(int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max))]
    result = read_windows(store, key, everything, kind)
    return result.frame
