"""Write one instrument-day of ticks: validated, sorted, cut into time-bounded row groups.

The parquet file goes first, its row-group index second; each is an atomic object write,
and readers check that the index matches the file (size, page checksums), so a reader
never combines a new file with an old index.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import logging
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as arrow
import pyarrow.parquet as pq

from execution_core.errors import DataError
from execution_core.instruments.ids import CanonicalId
from execution_core.stores.base import ObjectStore
from execution_core.ticks import rowgroup_index
from execution_core.ticks.layout import (
    DEFAULT_LAYOUT,
    NS_PER_DAY,
    NS_PER_SECOND,
    RowGroupLayout,
    day_start_ns,
    index_key,
    tick_key,
)
from execution_core.ticks.schema import SCHEMAS, TickKind, arrow_schema
from execution_core.validation import validated

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickFileInfo:
    key: str
    rows: int
    row_groups: int
    bytes: int
    index_bytes: int


def validate_ticks(frame: pl.DataFrame, kind: TickKind, where: str) -> pl.DataFrame:
    """Validate against the tick schema; DataError names the file, columns and rows."""
    return validated(frame, SCHEMAS[kind], where)


def row_group_bounds(ts_ns: np.ndarray, day: dt.date, layout: RowGroupLayout) -> np.ndarray:
    """Start offsets of the row groups (plus the end): cut at each span boundary of the day
    and wherever a group would exceed ``max_rows``."""
    start = day_start_ns(day)
    edges = start + np.arange(0, NS_PER_DAY + 1, layout.span_seconds * NS_PER_SECOND)
    cuts = np.unique(np.searchsorted(ts_ns, edges, side="left"))
    bounds: list[int] = [0]
    for end in cuts[1:]:
        while end - bounds[-1] > layout.max_rows:
            bounds.append(bounds[-1] + layout.max_rows)
        if end > bounds[-1]:
            bounds.append(int(end))
    return np.array(bounds, dtype=np.int64)


def encode_day(
    table: arrow.Table, bounds: np.ndarray, layout: RowGroupLayout, where: str
) -> tuple[bytes, bytes]:
    """(parquet bytes, row-group index bytes) of a sorted table cut at ``bounds``."""
    options = {
        "compression": layout.compression,
        "write_statistics": ["ts_event"],
        "write_page_checksum": True,
        "use_dictionary": ["aggressor_side"],
        "sorting_columns": [pq.SortingColumn(0)],
    }
    sink = io.BytesIO()
    writer = pq.ParquetWriter(sink, table.schema, **options)
    footers, bodies = [], []
    ts = table.column("ts_event").cast(arrow.int64()).to_numpy()
    entries = np.zeros(len(bounds) - 1, dtype=rowgroup_index.ENTRY_DTYPE)
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds.tolist())):
        part = table.slice(lo, hi - lo)
        writer.write_table(part, row_group_size=hi - lo)
        single = io.BytesIO()
        pq.write_table(part, single, row_group_size=hi - lo, store_schema=False, **options)
        body, footer = rowgroup_index.split_footer(single.getvalue())
        bodies.append(body)
        footers.append(footer)
        entries[i] = (ts[lo], ts[hi - 1], hi - lo, 0, len(body), 0, 0)
    writer.close()
    data = sink.getvalue()
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    for i, body in enumerate(bodies):
        group = metadata.row_group(i)
        offset = min(
            group.column(c).dictionary_page_offset or group.column(c).data_page_offset
            for c in range(group.num_columns)
        )
        if data[offset : offset + len(body)] != body:
            raise DataError(f"{where}: row group {i} does not match its standalone encoding")
        entries[i]["data_offset"] = offset
    return data, rowgroup_index.encode(len(data), entries, footers)


def write_tick_day(
    store: ObjectStore,
    instrument: CanonicalId | str,
    kind: TickKind | str,
    day: dt.date,
    frame: pl.DataFrame,
    layout: RowGroupLayout = DEFAULT_LAYOUT,
) -> TickFileInfo:
    """Validate, sort and write one instrument-day. Nothing is written if validation fails."""
    kind = TickKind(kind)
    key = tick_key(instrument, kind, day)
    where = store.describe(key)
    frame = frame.sort("ts_event", maintain_order=True)
    frame = validate_ticks(frame, kind, where)
    ts = frame["ts_event"].dt.epoch("ns").to_numpy()
    start = day_start_ns(day)
    outside = np.flatnonzero((ts < start) | (ts >= start + NS_PER_DAY))
    if len(outside):
        raise DataError(
            f"{where}: {len(outside)} ticks fall outside {day.isoformat()} UTC "
            f"(first at sorted row {int(outside[0])})"
        )
    table = frame.to_arrow().cast(arrow_schema(kind))
    bounds = row_group_bounds(ts, day, layout)
    data, index = encode_day(table, bounds, layout, where)
    store.write_bytes(key, data)
    store.write_bytes(index_key(key), index)
    log.info(
        "tick_file_written key=%s rows=%d row_groups=%d bytes=%d index_bytes=%d",
        key,
        len(frame),
        len(bounds) - 1,
        len(data),
        len(index),
    )
    return TickFileInfo(key, len(frame), len(bounds) - 1, len(data), len(index))
