"""Plumbing shared by the tick converters: reading, parsing with locations, validation.

A source file is read into a :class:`Table`: its raw columns (strings for CSV, native dtypes
for parquet) plus a ``_line`` column saying where each row came from — the 1-based line
number counting the header for CSV, the 1-based row number for parquet — so that every
error can name the file, the place and the column. Parsing is vectorised: a value is bad
when the raw cell is present but the parsed one is null.
"""

from __future__ import annotations

import csv
import gzip
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pandera.errors as pa_errors
import pandera.polars as pa
import polars as pl

from execution_core.errors import DataError
from execution_core.ticks.schema import (
    QUOTE_COLUMNS,
    QUOTES_SCHEMA,
    TRADE_COLUMNS,
    TRADES_SCHEMA,
    TS_TYPE,
)

logger = logging.getLogger(__name__)

LINE = "_line"
_EXAMPLES = 3
_I64_MAX = 2**63 - 1
# Epoch units by magnitude: today is ~1.7e12 ms, ~1.7e15 µs, ~1.7e18 ns. A ms value of 1e14
# would be the year 5138 and a µs value of 1e14 is 1973, so the bands cannot be confused.
_NS_PER_UNIT = {"ms": 1_000_000, "us": 1_000, "ns": 1}
_UNIT_FLOOR = {"ms": 0, "us": 10**14, "ns": 10**17}
_ISO_FORMATS = ("%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%z")


@dataclass(frozen=True)
class Table:
    """Raw rows of one source file, each with the place it came from (column ``_line``)."""

    path: Path
    frame: pl.DataFrame
    where: str  # "line" (CSV) or "row" (parquet)

    def filter(self, keep: pl.Series) -> Table:
        return Table(self.path, self.frame.filter(keep), self.where)


def existing_file(path: str | Path) -> Path:
    """``path`` as a Path, or DataError if there is no such file."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: file not found")
    return p


def _first_line_of(p: Path) -> str:
    with p.open("rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    with gzip.open(p, "rb") if gzipped else p.open("rb") as f:
        raw = f.readline(1 << 16)
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")


def first_fields(path: Path) -> list[str]:
    """The fields of the first line (to sniff a header); gzip is handled like polars does."""
    try:
        line = _first_line_of(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    if not line.strip():
        raise DataError(f"{path}: file is empty")
    return [field.strip() for field in next(csv.reader([line]))]


def _missing(path: Path, present: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in present]
    if missing:
        raise DataError(
            f"{path}: missing columns {missing} (found {list(present)}, need {list(required)})"
        )


def _polars_error(path: Path, what: str, exc: Exception) -> DataError:
    # Polars messages carry a multi-line query plan; the first line is the useful part.
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(f"{path}: cannot read {what}: {first}")


def _drop_blank_lines(table: Table, columns: Sequence[str]) -> Table:
    blank = table.frame.select(pl.all_horizontal(pl.col(c).is_null() for c in columns)).to_series()
    n_blank = int(blank.sum())
    if n_blank:
        logger.debug("event=blank_lines_skipped file=%s count=%d", table.path, n_blank)
        return table.filter(~blank)
    return table


def read_csv(
    path: str | Path,
    required: Sequence[str],
    *,
    header: Sequence[str] | None = None,
) -> Table:
    """Read the ``required`` columns of a CSV as strings.

    ``header`` names the columns of a headerless file; without it the first line is the
    header. Gzip-compressed files are read transparently.
    """
    p = existing_file(path)
    if p.stat().st_size == 0:
        raise DataError(f"{p}: file is empty")
    present = list(header) if header is not None else first_fields(p)
    _missing(p, present, required)
    try:
        frame = pl.read_csv(
            p,
            has_header=header is None,
            new_columns=list(header) if header is not None else None,
            infer_schema=False,
            row_index_name=LINE,
            row_index_offset=1 if header is not None else 2,
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _polars_error(p, "CSV", exc) from exc
    _missing(p, frame.columns, required)
    table = Table(p, frame.select(LINE, *required), "line")
    return _drop_blank_lines(table, required)


def read_parquet(path: str | Path, required: Sequence[str]) -> Table:
    """Read the ``required`` columns of a parquet file, in their stored dtypes."""
    p = existing_file(path)
    try:
        present = list(pl.read_parquet_schema(p))
        _missing(p, present, required)
        frame = pl.read_parquet(p, columns=list(required), row_index_name=LINE, row_index_offset=1)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _polars_error(p, "parquet", exc) from exc
    return Table(p, frame, "row")


def fail(table: Table, bad: pl.Series, column: str, problem: str) -> NoReturn:
    """Raise DataError naming the file, the first bad places and the column."""
    rows = table.frame.select(LINE, pl.col(column).cast(pl.String).alias("value")).filter(bad)
    first = rows.head(_EXAMPLES).rows()
    line, value = first[0]
    others = ", ".join(str(n) for n, _ in first[1:])
    more = f" ({rows.height} rows in all; also {table.where}s {others}...)" if others else ""
    raise DataError(
        f"{table.path}: {table.where} {line}, column {column!r}: {problem}: {value!r}{more}"
    )


def _raw(table: Table, column: str) -> pl.Series:
    s = table.frame[column]
    if s.dtype == pl.String:
        s = s.str.strip_chars()
        s = pl.select(pl.when(s != "").then(s)).to_series().alias(column)
    return s


def _checked(table: Table, column: str, raw: pl.Series, parsed: pl.Series, what: str) -> pl.Series:
    bad = raw.is_not_null() & parsed.is_null()
    if bad.any():
        fail(table, bad, column, f"cannot parse as {what}")
    if raw.null_count():
        fail(table, raw.is_null(), column, "empty value")
    return parsed


def parse_float(table: Table, column: str) -> pl.Series:
    """Finite float64 values; an empty or unparsable cell is a DataError."""
    raw = _raw(table, column)
    if not (raw.dtype == pl.String or raw.dtype.is_numeric()):
        fail(table, raw.is_not_null(), column, f"unsupported dtype {raw.dtype}")
    parsed = raw.cast(pl.Float64, strict=False)
    # NaN and inf parse as floats but are no price or size.
    parsed = pl.select(pl.when(parsed.is_finite()).then(parsed)).to_series()
    return _checked(table, column, raw, parsed, "a finite number")


def parse_int(table: Table, column: str) -> pl.Series:
    """Int64 values; an empty or unparsable cell is a DataError."""
    raw = _raw(table, column)
    if not (raw.dtype == pl.String or raw.dtype.is_integer()):
        fail(table, raw.is_not_null(), column, f"unsupported dtype {raw.dtype}")
    return _checked(table, column, raw, raw.cast(pl.Int64, strict=False), "an integer")


def parse_bool(table: Table, column: str) -> pl.Series:
    """Booleans from a Boolean column or the strings true/false (any case)."""
    raw = _raw(table, column)
    if raw.dtype == pl.Boolean:
        return _checked(table, column, raw, raw, "a boolean")
    if raw.dtype != pl.String:
        fail(table, raw.is_not_null(), column, f"unsupported dtype {raw.dtype}")
    parsed = raw.str.to_lowercase().replace_strict(
        {"true": True, "false": False}, default=None, return_dtype=pl.Boolean
    )
    return _checked(table, column, raw, parsed, "true/false")


def parse_enum(table: Table, column: str, mapping: Mapping[str, str]) -> pl.Series:
    """Strings mapped through ``mapping`` (keys compared lower-case)."""
    raw = _raw(table, column).cast(pl.String)
    parsed = raw.str.to_lowercase().replace_strict(
        dict(mapping), default=None, return_dtype=pl.String
    )
    return _checked(table, column, raw, parsed, f"one of {sorted(mapping)}")


def parse_string(table: Table, column: str) -> pl.Series:
    """Non-empty strings (integers are rendered as strings)."""
    raw = _raw(table, column).cast(pl.String)
    return _checked(table, column, raw, raw, "a string")


def parse_epoch(table: Table, column: str, units: Sequence[str]) -> pl.Series:
    """Epoch integers to Datetime(ns, UTC); the unit is detected by magnitude per file.

    ``units`` are the units the format allows; a file whose values are in another unit, or
    that mixes units, is a DataError.
    """
    ints = parse_int(table, column)
    negative = ints < 0
    if negative.any():
        fail(table, negative, column, "negative epoch timestamp")
    if ints.is_empty():
        return ints.cast(TS_TYPE)
    bounds = ints.to_frame().select(lo=pl.col(column).min(), hi=pl.col(column).max())
    lo, hi = bounds.row(0)
    unit = "ns" if hi >= _UNIT_FLOOR["ns"] else "us" if hi >= _UNIT_FLOOR["us"] else "ms"
    if unit not in units:
        fail(table, ints == hi, column, f"looks like epoch {unit}, expected {'/'.join(units)}")
    if lo < _UNIT_FLOOR[unit]:
        fail(table, ints == lo, column, f"epoch unit differs from the rest of the file ({unit})")
    factor = _NS_PER_UNIT[unit]
    if hi > _I64_MAX // factor:
        fail(table, ints == hi, column, "epoch timestamp out of range")
    return (ints * factor).cast(TS_TYPE).alias(column)


def parse_timestamp(table: Table, column: str, units: Sequence[str] = ("ms", "us")) -> pl.Series:
    """Datetime(ns, UTC) from a datetime column, an ISO string with offset, or epoch ints."""
    raw = _raw(table, column)
    dtype = raw.dtype
    if isinstance(dtype, pl.Datetime):
        # A naive datetime in a market-data file is UTC by convention.
        ts = raw.dt.cast_time_unit("ns")
        ts = ts.dt.convert_time_zone("UTC") if dtype.time_zone else ts.dt.replace_time_zone("UTC")
        return _checked(table, column, raw, ts, "a timestamp")
    if dtype.is_integer():
        return parse_epoch(table, column, units)
    if dtype != pl.String:
        fail(table, raw.is_not_null(), column, f"unsupported dtype {dtype}")
    parsed = pl.select(
        pl.coalesce(
            raw.str.to_datetime(fmt, time_unit="ns", time_zone="UTC", strict=False)
            for fmt in _ISO_FORMATS
        )
    ).to_series()
    return _checked(table, column, raw, parsed, "an ISO timestamp with UTC offset")


def check_positive(table: Table, column: str, values: pl.Series, *, allow_zero: bool) -> None:
    """DataError at the first value that is negative (or zero, unless ``allow_zero``)."""
    bad = values < 0 if allow_zero else values <= 0
    if bad.any():
        fail(table, bad, column, "must be >= 0" if allow_zero else "must be > 0")


def finish(
    table: Table,
    columns: Mapping[str, pl.Series],
    contract: Mapping[str, pl.DataType],
    schema: pa.DataFrameSchema,
) -> pl.DataFrame:
    """Assemble the contract frame, sort it stably by ts_event and validate it."""
    frame = pl.DataFrame({LINE: table.frame[LINE], **columns}).select(
        LINE, *(pl.col(name).cast(dtype) for name, dtype in contract.items())
    )
    frame = frame.sort("ts_event", maintain_order=True)
    out = frame.drop(LINE)
    try:
        schema.validate(out, lazy=True)
    except pa_errors.SchemaErrors as exc:
        raise _schema_error(table, frame[LINE], schema, exc.failure_cases) from exc
    except pa_errors.SchemaError as exc:
        raise DataError(f"{table.path}: fails the {schema.name} schema: {exc}") from exc
    return out


def _schema_error(
    table: Table, lines: pl.Series, schema: pa.DataFrameSchema, cases: object
) -> DataError:
    if not isinstance(cases, pl.DataFrame):
        return DataError(f"{table.path}: fails the {schema.name} schema: {cases}")
    parts = []
    for row in cases.head(5).iter_rows(named=True):
        index = row.get("index")
        where = f"{table.where} {lines[index]}" if index is not None else "file"
        parts.append(f"{where}, column {row['column']!r}: {row['check']} ({row['failure_case']})")
    return DataError(
        f"{table.path}: {cases.height} failures against the {schema.name} schema: "
        + "; ".join(parts)
    )


def trades_frame(
    table: Table,
    ts: pl.Series,
    sides: pl.Series,
    ids: pl.Series,
    *,
    price: str,
    size: str,
) -> pl.DataFrame:
    """The trades contract frame from parsed timestamps, sides and ids and raw price/size."""
    prices = parse_float(table, price)
    check_positive(table, price, prices, allow_zero=False)
    sizes = parse_float(table, size)
    check_positive(table, size, sizes, allow_zero=False)
    columns = {"ts_event": ts, "price": prices, "size": sizes, "aggressor_side": sides}
    return finish(table, {**columns, "trade_id": ids}, TRADE_COLUMNS, TRADES_SCHEMA)


def quotes_frame(
    table: Table,
    ts: pl.Series,
    *,
    bid_price: str,
    bid_size: str,
    ask_price: str,
    ask_size: str,
) -> pl.DataFrame:
    """The quotes contract frame from parsed timestamps and the four raw side columns."""
    columns: dict[str, pl.Series] = {"ts_event": ts}
    for out, src, allow_zero in (
        ("bid_price", bid_price, False),
        ("bid_size", bid_size, True),
        ("ask_price", ask_price, False),
        ("ask_size", ask_size, True),
    ):
        values = parse_float(table, src)
        check_positive(table, src, values, allow_zero=allow_zero)
        columns[out] = values
    return finish(table, columns, QUOTE_COLUMNS, QUOTES_SCHEMA)
