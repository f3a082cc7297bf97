"""Read and validate signal files: ``{strategy_id}/{YYYY-MM-DD}.parquet`` in the signals store.

Every problem is reported with the file and the row (0-based, in file order): a corrupt
file, a missing column, a bad value, a timestamp outside the file's day, an instrument key
that does not parse or that no venue in the instrument reference lists.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import polars as pl

from execution_core.algorithms.params import AlgorithmParamsError, parse_algorithm
from execution_core.errors import DataError, InvalidInstrumentIdError, UnknownInstrumentError
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference
from execution_core.signals.schema import OPTIONAL_SIGNAL_COLUMNS, SIGNAL_COLUMNS, SIGNALS_SCHEMA
from execution_core.stores.base import ObjectStore
from execution_core.ticks.layout import NS_PER_DAY, day_start_ns
from execution_core.validation import validated


def signals_key(strategy_id: str, day: dt.date) -> str:
    return f"{strategy_id}/{day.isoformat()}.parquet"


def signal_files(store: ObjectStore, day: dt.date) -> list[str]:
    """Keys of every strategy's signal file for ``day``."""
    suffix = f"/{day.isoformat()}.parquet"
    return [k for k in store.list() if k.endswith(suffix) and k.count("/") == 1]


def _parse(data: bytes, where: str) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several unrelated types for a corrupt file
        raise DataError(f"{where}: not a readable parquet file ({exc})") from exc
    missing = [
        c for c in SIGNAL_COLUMNS if c not in frame.columns and c not in OPTIONAL_SIGNAL_COLUMNS
    ]
    if missing:
        raise DataError(f"{where}: missing required columns {missing}")
    for column in OPTIONAL_SIGNAL_COLUMNS:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    _check_dtypes(frame, where)
    ts_type = frame.schema["ts_event"]
    if isinstance(ts_type, pl.Datetime) and ts_type.time_zone is None:  # naive = UTC
        frame = frame.with_columns(pl.col("ts_event").dt.replace_time_zone("UTC"))
    try:
        return frame.select([pl.col(c).cast(t) for c, t in SIGNAL_COLUMNS.items()])
    except pl.exceptions.PolarsError as exc:
        raise DataError(f"{where}: columns have the wrong types ({exc})") from exc


def _check_dtypes(frame: pl.DataFrame, where: str) -> None:
    """No silent reinterpretation: timestamps must be datetimes, quantities numbers, ids text."""
    schema = frame.schema
    problems = []
    if not isinstance(schema["ts_event"], pl.Datetime):
        problems.append(f"'ts_event' is {schema['ts_event']}, expected a timestamp")
    if not (schema["target_quantity"].is_float() or schema["target_quantity"].is_integer()):
        problems.append(f"'target_quantity' is {schema['target_quantity']}, expected a number")
    for column in ("strategy_id", "instrument_key", *OPTIONAL_SIGNAL_COLUMNS):
        if schema[column] not in (pl.String, pl.Null):
            problems.append(f"{column!r} is {schema[column]}, expected a string")
    if problems:
        raise DataError(f"{where}: columns have the wrong types: " + "; ".join(problems))


def _check_strategy(frame: pl.DataFrame, strategy_id: str, where: str) -> None:
    others = frame.with_row_index("row").filter(pl.col("strategy_id") != strategy_id)
    if len(others):
        first = others.row(0, named=True)
        raise DataError(
            f"{where}: row {first['row']}: strategy_id {first['strategy_id']!r} does not "
            f"match the file's strategy {strategy_id!r}"
        )


def _check_rows(frame: pl.DataFrame, day: dt.date, where: str) -> None:
    ts = frame["ts_event"].dt.epoch("ns")
    start = day_start_ns(day)
    outside = frame.with_row_index("row").filter((ts < start) | (ts >= start + NS_PER_DAY))
    if len(outside):
        rows = outside["row"].to_list()[:5]
        raise DataError(f"{where}: rows {rows} have ts_event outside {day.isoformat()} UTC")
    algorithms = zip(
        frame["exec_algorithm"].to_list(), frame["exec_algorithm_params"].to_list(), strict=True
    )
    for row, (name, params) in enumerate(algorithms):
        if params is not None:
            try:
                parsed = json.loads(params)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{where}: row {row}: exec_algorithm_params is not JSON ({exc})"
                ) from None
            if not isinstance(parsed, dict):
                raise DataError(f"{where}: row {row}: exec_algorithm_params must be a JSON object")
        try:  # the one validation of the params: what is committed is run as it is
            parse_algorithm(name, params)
        except AlgorithmParamsError as exc:
            raise DataError(f"{where}: row {row}: {exc}") from None


def check_instruments(frame: pl.DataFrame, reference: InstrumentReference, where: str) -> None:
    """Every instrument key parses and is listed by at least one venue."""
    keys = frame.with_row_index("row").group_by("instrument_key").agg(pl.col("row").min())
    for key, row in keys.sort("row").iter_rows():
        try:
            cid = CanonicalId.parse(key)
        except InvalidInstrumentIdError as exc:
            raise DataError(f"{where}: row {row}: {exc}") from None
        try:
            listed = reference.venues_listing(cid)
        except UnknownInstrumentError:
            listed = []
        if not listed:
            known = ", ".join(reference.keys())
            raise DataError(
                f"{where}: row {row}: unknown instrument {key!r}: no venue in the instrument "
                f"reference lists it (known: {known})"
            )


def read_signal_file(
    store: ObjectStore, key: str, day: dt.date, reference: InstrumentReference
) -> pl.DataFrame:
    """One validated signal file."""
    where = store.describe(key)
    frame = _parse(store.read_bytes(key), where)
    return validate_signals(frame, key.split("/", 1)[0], day, reference, where)


def validate_signals(
    frame: pl.DataFrame,
    strategy_id: str,
    day: dt.date,
    reference: InstrumentReference,
    where: str,
) -> pl.DataFrame:
    """Schema, timestamps inside ``day``, algorithm params (checked here once, against
    the algorithm's own rules), known instruments, one strategy."""
    frame = validated(frame, SIGNALS_SCHEMA, where)
    _check_rows(frame, day, where)
    check_instruments(frame, reference, where)
    _check_strategy(frame, strategy_id, where)
    return frame


def load_signals_day(
    store: ObjectStore, day: dt.date, reference: InstrumentReference
) -> tuple[pl.DataFrame, list[str]]:
    """All strategies' validated signals for ``day`` (sorted by time) and the files read.

    ``signal_file`` and ``signal_row`` say where each row came from, for error messages.
    """
    keys = signal_files(store, day)
    frames = [
        read_signal_file(store, key, day, reference).with_columns(
            pl.lit(key).alias("signal_file"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("signal_row"),
        )
        for key in keys
    ]
    if not frames:
        empty = {**SIGNAL_COLUMNS, "signal_file": pl.String(), "signal_row": pl.Int64()}
        return pl.DataFrame(schema=empty), []
    return pl.concat(frames).sort("ts_event", maintain_order=True), keys


def read_signal_table(path: Path, strategy_id: str) -> pl.DataFrame:
    """A user's table of target positions (CSV or parquet) as signal rows of
    ``strategy_id``: timestamps parsed as UTC (naive = UTC), ``strategy_id`` filled in when
    the file has none. DataError names the file for anything unreadable or missing."""
    where = str(path)
    if not path.is_file():
        raise DataError(f"{where}: no such file")
    try:
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, try_parse_dates=True, infer_schema_length=None)
    except Exception as exc:  # polars raises several unrelated types for a bad file
        raise DataError(f"{where}: not a readable {path.suffix or 'CSV'} file ({exc})") from exc
    if "strategy_id" not in frame.columns:
        frame = frame.with_columns(pl.lit(strategy_id).alias("strategy_id"))
    missing = [
        c for c in ("ts_event", "instrument_key", "target_quantity") if c not in frame.columns
    ]
    if missing:
        raise DataError(f"{where}: missing required columns {missing}")
    ts_type = frame.schema["ts_event"]
    if not isinstance(ts_type, pl.Datetime):
        raise DataError(f"{where}: 'ts_event' is {ts_type}, expected timestamps (ISO 8601, UTC)")
    if ts_type.time_zone is None:
        frame = frame.with_columns(pl.col("ts_event").dt.replace_time_zone("UTC"))
    return frame.with_columns(
        pl.col("ts_event").dt.convert_time_zone("UTC").dt.cast_time_unit("ns"),
        pl.col("target_quantity").cast(pl.Float64, strict=False),
    )


def previous_signal_files(store: ObjectStore, day: dt.date) -> list[tuple[str, dt.date]]:
    """Each strategy's most recent signal file before ``day`` (key, its day): where the
    targets ``day`` changes from, also across days on which the strategy wrote none."""
    latest: dict[str, dt.date] = {}
    for key in store.list():
        strategy, _, name = key.partition("/")
        if "/" in name or not name.endswith(".parquet"):
            continue
        try:
            file_day = dt.date.fromisoformat(name.removesuffix(".parquet"))
        except ValueError:  # not a signal file
            continue
        if file_day < day and file_day > latest.get(strategy, dt.date.min):
            latest[strategy] = file_day
    return [(signals_key(s, d), d) for s, d in sorted(latest.items())]


def load_previous_signals(
    store: ObjectStore, day: dt.date, reference: InstrumentReference
) -> pl.DataFrame:
    """The rows of each strategy's most recent signal file before ``day``, validated."""
    frames = [
        read_signal_file(store, key, file_day, reference)
        for key, file_day in previous_signal_files(store, day)
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=SIGNAL_COLUMNS)


def write_signal_file(
    store: ObjectStore,
    strategy_id: str,
    day: dt.date,
    frame: pl.DataFrame,
    reference: InstrumentReference,
) -> str:
    """Validate one strategy-day of signals and write it atomically; returns its key."""
    key = signals_key(strategy_id, day)
    where = store.describe(key)
    for column in OPTIONAL_SIGNAL_COLUMNS:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    frame = frame.select(list(SIGNAL_COLUMNS)).sort("ts_event", maintain_order=True)
    frame = validate_signals(frame, strategy_id, day, reference, where)
    sink = io.BytesIO()
    frame.write_parquet(sink, compression="zstd")
    store.write_bytes(key, sink.getvalue())
    return key
