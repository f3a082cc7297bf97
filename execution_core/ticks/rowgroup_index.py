"""Row-group index: a sidecar that lets a reader fetch one row group without the footer.

Why: a tick day file has thousands of small row groups (each a bounded time span) so that a
5-minute window reads little more than its own rows. The parquet footer then grows to
~420 bytes per row group, a cost every reader pays in full before it can prune anything:
at ~11 bytes per row that is several percent of the file, more than the pruning saves.

The sidecar (``<day>.parquet.rgindex``) holds, per row group, its time span, row count,
byte range in the parquet file, and a *mini footer*: the footer of a parquet file that
contains only that row group. A row group's bytes in the day file are identical to the
body of that one-group file (the writer checks this), so ``PAR1 + bytes + mini footer``
is a valid parquet file that any parquet reader decodes. The day file itself stays a
standard parquet file with ts_event statistics; readers without the sidecar still work.

Layout (little-endian)::

    b"ESRGIDX1" | u32 version | u32 n_row_groups | u64 parquet_size | u64 table_bytes
    table: zstd(n × ENTRY_DTYPE)
    mini footers, concatenated (each ends with its u32 length and b"PAR1")
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import pyarrow as arrow

from execution_core.errors import DataError

MAGIC = b"ESRGIDX1"
VERSION = 1
HEADER = struct.Struct("<8sIIQQ")
PARQUET_MAGIC = b"PAR1"

ENTRY_DTYPE = np.dtype(
    [
        ("ts_min", "<i8"),
        ("ts_max", "<i8"),
        ("num_rows", "<i8"),
        ("data_offset", "<i8"),
        ("data_length", "<i8"),
        ("footer_offset", "<i8"),  # relative to the start of the footers section
        ("footer_length", "<i8"),
    ]
)


@dataclass(frozen=True)
class RowGroupIndex:
    """The decoded table of a sidecar, plus where its footers start."""

    parquet_size: int
    entries: np.ndarray  # ENTRY_DTYPE
    footers_start: int  # byte offset of the footers section in the sidecar

    @property
    def num_row_groups(self) -> int:
        return len(self.entries)

    def overlapping(self, start_ns: int, end_ns: int) -> np.ndarray:
        """Indices of row groups that may hold rows with ``start_ns <= ts < end_ns``."""
        e = self.entries
        return np.flatnonzero((e["ts_max"] >= start_ns) & (e["ts_min"] < end_ns))


def split_footer(one_group_file: bytes) -> tuple[bytes, bytes]:
    """(body, footer) of a parquet file: body without the leading magic, footer with trailer."""
    if one_group_file[:4] != PARQUET_MAGIC or one_group_file[-4:] != PARQUET_MAGIC:
        raise DataError("not a parquet file (magic bytes missing)")
    footer_len = int.from_bytes(one_group_file[-8:-4], "little")
    footer_start = len(one_group_file) - 8 - footer_len
    return one_group_file[4:footer_start], one_group_file[footer_start:]


def encode(parquet_size: int, entries: np.ndarray, footers: list[bytes]) -> bytes:
    """Serialize a sidecar. ``entries['footer_offset'/'footer_length']`` are filled here."""
    entries = entries.copy()
    lengths = np.array([len(f) for f in footers], dtype=np.int64)
    entries["footer_length"] = lengths
    entries["footer_offset"] = (
        np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else []
    )
    table = arrow.compress(entries.tobytes(), codec="zstd", asbytes=True)
    header = HEADER.pack(MAGIC, VERSION, len(entries), parquet_size, len(table))
    return header + table + b"".join(footers)


def decode_header(raw: bytes, where: str) -> tuple[int, int, int]:
    """(n_row_groups, parquet_size, table_bytes) from the first HEADER.size bytes."""
    if len(raw) < HEADER.size:
        raise DataError(f"{where}: row-group index is truncated ({len(raw)} bytes)")
    magic, version, n, parquet_size, table_bytes = HEADER.unpack(raw[: HEADER.size])
    if magic != MAGIC or version != VERSION:
        raise DataError(f"{where}: not a row-group index (magic {magic!r}, version {version})")
    return n, parquet_size, table_bytes


def decode_table(n: int, parquet_size: int, table: bytes, where: str) -> RowGroupIndex:
    try:
        raw = arrow.decompress(table, n * ENTRY_DTYPE.itemsize, codec="zstd", asbytes=True)
    except (arrow.ArrowException, OSError) as exc:
        raise DataError(f"{where}: corrupt row-group index table: {exc}") from exc
    entries = np.frombuffer(raw, dtype=ENTRY_DTYPE)
    if len(entries) and np.any(np.diff(entries["ts_min"]) < 0):
        raise DataError(f"{where}: row groups are not in time order")
    return RowGroupIndex(parquet_size, entries, HEADER.size + len(table))


def one_group_file(body: bytes, footer: bytes) -> bytes:
    """A standalone parquet file holding one row group of the day file."""
    return PARQUET_MAGIC + body + footer
