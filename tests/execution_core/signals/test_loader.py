"""Signal files: round trip through the store, discovery, and errors naming file and row."""

from __future__ import annotations

import datetime as dt
import io
import os

import polars as pl
import pytest

from execution_core.errors import DataError
from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.signals.loader import (
    load_previous_signals,
    load_signals_day,
    previous_signal_files,
    read_signal_file,
    signal_files,
    signals_key,
    write_signal_file,
)
from execution_core.signals.schema import SIGNAL_COLUMNS
from execution_core.stores import LocalObjectStore, ObjectStore

DAY = dt.date(2025, 1, 15)
BTC = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
ETH = "BYBIT:PERPETUAL:ETH-USDT@LIN"
ANY_BTC = "ANY:PERPETUAL:BTC-USDT@LIN"


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


@pytest.fixture
def store(tmp_path) -> ObjectStore:
    return LocalObjectStore(tmp_path / "signals")


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def frame(strategy: str = "s1", **columns: list) -> pl.DataFrame:
    """Three valid signal rows of ``strategy``; keyword columns replace the defaults."""
    data: dict[str, list] = {
        "ts_event": [at(1), at(2), at(3)],
        "strategy_id": [strategy] * 3,
        "instrument_key": [BTC, ANY_BTC, ETH],
        "target_quantity": [1.0, 2.0, -0.5],
        "exec_algorithm": ["TWAP", None, "NORMAL"],
        "exec_algorithm_params": ['{"duration_sec": 60}', None, None],
    }
    data.update(columns)
    out = pl.DataFrame(data)
    if out.schema["ts_event"] == pl.Datetime("us", "UTC"):
        out = out.with_columns(pl.col("ts_event").cast(pl.Datetime("ns", "UTC")))
    return out


def put(store: ObjectStore, data: pl.DataFrame | bytes, strategy: str = "s1") -> str:
    """Write a file as another tool would (no validation); returns its location."""
    key = signals_key(strategy, DAY)
    if isinstance(data, pl.DataFrame):
        sink = io.BytesIO()
        data.write_parquet(sink)
        data = sink.getvalue()
    store.write_bytes(key, data)
    return store.describe(key)


def load_error(store: ObjectStore, reference: InstrumentReference) -> str:
    with pytest.raises(DataError) as info:
        load_signals_day(store, DAY, reference)
    return str(info.value)


# --- round trip and discovery ------------------------------------------------------------


def test_previous_targets_come_from_each_strategys_most_recent_earlier_file(
    store, reference
) -> None:
    """A strategy that wrote nothing yesterday changes today from its last file before."""
    for strategy, day in [
        ("s1", DAY - dt.timedelta(days=3)),
        ("s1", DAY - dt.timedelta(days=2)),
        ("s2", DAY - dt.timedelta(days=1)),
        ("s1", DAY),
        ("s3", DAY),
    ]:
        rows = frame(strategy, ts_event=[at(1, day=day), at(2, day=day), at(3, day=day)])
        write_signal_file(store, strategy, day, rows, reference)
    store.write_bytes("s1/notes.txt", b"not a signal file")

    assert previous_signal_files(store, DAY) == [
        ("s1/2025-01-13.parquet", DAY - dt.timedelta(days=2)),
        ("s2/2025-01-14.parquet", DAY - dt.timedelta(days=1)),
    ]
    previous = load_previous_signals(store, DAY, reference)
    assert previous["ts_event"].dt.date().unique().sort().to_list() == [
        DAY - dt.timedelta(days=2),
        DAY - dt.timedelta(days=1),
    ]
    assert load_previous_signals(store, DAY - dt.timedelta(days=3), reference).is_empty()


def test_write_then_load_round_trips_with_provenance(store, reference) -> None:
    """Two strategies written (unsorted, optional columns missing) load back merged,
    time-sorted, with signal_file and the 0-based row of the written file."""
    s1 = frame("s1", ts_event=[at(3), at(1), at(2)])
    s2 = frame("s2", ts_event=[at(1, 30), at(2, 30), at(4)]).drop(
        "exec_algorithm", "exec_algorithm_params"
    )
    k1 = write_signal_file(store, "s1", DAY, s1, reference)
    k2 = write_signal_file(store, "s2", DAY, s2, reference)
    assert (k1, k2) == ("s1/2025-01-15.parquet", "s2/2025-01-15.parquet")

    loaded, keys = load_signals_day(store, DAY, reference)
    assert keys == [k1, k2]
    assert loaded.columns == [*SIGNAL_COLUMNS, "signal_file", "signal_row"]
    assert loaded.schema["ts_event"] == pl.Datetime("ns", "UTC")
    assert loaded["ts_event"].to_list() == [at(1), at(1, 30), at(2), at(2, 30), at(3), at(4)]
    assert loaded["signal_file"].to_list() == [k1, k2, k1, k2, k1, k2]
    assert loaded["signal_row"].to_list() == [0, 0, 1, 1, 2, 2]
    # s1 was sorted by time on write: its rows are the input's rows 1, 2, 0
    s1_back = loaded.filter(pl.col("strategy_id") == "s1")
    assert s1_back["instrument_key"].to_list() == [ANY_BTC, ETH, BTC]
    assert s1_back["target_quantity"].to_list() == [2.0, -0.5, 1.0]
    assert s1_back["exec_algorithm"].to_list() == [None, "NORMAL", "TWAP"]
    assert s1_back["exec_algorithm_params"].to_list() == [None, None, '{"duration_sec": 60}']
    s2_back = loaded.filter(pl.col("strategy_id") == "s2")
    assert s2_back["exec_algorithm"].null_count() == 3
    assert s2_back["exec_algorithm_params"].null_count() == 3


def test_read_signal_file_returns_the_validated_file(store, reference) -> None:
    """read_signal_file keeps file order and the contract's columns and types."""
    key = write_signal_file(store, "s1", DAY, frame(), reference)
    got = read_signal_file(store, key, DAY, reference)
    assert got.schema == pl.Schema(SIGNAL_COLUMNS)
    assert got.equals(frame())


def test_empty_day_loads_an_empty_frame(store, reference) -> None:
    """No files for the day: an empty frame with the loader's columns, and no keys."""
    write_signal_file(
        store,
        "s1",
        DAY + dt.timedelta(days=1),
        frame(ts_event=[at(1, day=DAY + dt.timedelta(days=1))] * 3),
        reference,
    )
    loaded, keys = load_signals_day(store, DAY, reference)
    assert keys == []
    assert loaded.is_empty()
    assert loaded.columns == [*SIGNAL_COLUMNS, "signal_file", "signal_row"]


def test_signal_files_only_picks_strategy_day_parquet(store) -> None:
    """Only ``<strategy>/<day>.parquet`` one level deep counts."""
    for key in [
        "s2/2025-01-15.parquet",
        "s1/2025-01-15.parquet",
        "s1/2025-01-16.parquet",
        "s1/2025-01-15.parquet.bak",
        "s1/x2025-01-15.parquet",
        "2025-01-15.parquet",
        "team/s3/2025-01-15.parquet",
    ]:
        store.write_bytes(key, b"x")
    assert signal_files(store, DAY) == ["s1/2025-01-15.parquet", "s2/2025-01-15.parquet"]
    assert signal_files(store, DAY - dt.timedelta(days=1)) == []


# --- bad input: the error names the file and the row ------------------------------------


def test_corrupt_parquet_names_the_file(store, reference) -> None:
    where = put(store, os.urandom(4096))
    message = load_error(store, reference)
    assert where in message
    assert "not a readable parquet file" in message


def test_missing_required_column_names_file_and_column(store, reference) -> None:
    where = put(store, frame().drop("target_quantity"))
    message = load_error(store, reference)
    assert where in message
    assert "missing required columns ['target_quantity']" in message


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("target_quantity", ["1.0", "lots", "2.0"]),
        ("ts_event", ["2025-01-15T01:00:00", "2025-01-15T02:00:00", "2025-01-15T03:00:00"]),
    ],
)
def test_wrong_dtype_names_file_and_column(store, reference, column, values) -> None:
    where = put(store, frame(**{column: values}))
    message = load_error(store, reference)
    assert where in message
    assert "wrong types" in message
    assert repr(column) in message or f'"{column}"' in message


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("ts_event", [1_736_902_800_000_000_000] * 3),  # epoch ns as Int64: never guessed
        ("target_quantity", ["1.0", "2.0", "3.0"]),  # numeric text: not silently cast
        ("strategy_id", [1, 1, 1]),
    ],
)
def test_castable_but_wrong_dtype_is_rejected(store, reference, column, values) -> None:
    where = put(store, frame(**{column: values}))
    message = load_error(store, reference)
    assert where in message
    assert f"columns have the wrong types: {column!r} is" in message


def test_nan_target_names_file_column_and_row(store, reference) -> None:
    where = put(store, frame(target_quantity=[1.0, float("nan"), 2.0]))
    message = load_error(store, reference)
    assert where in message
    assert "column 'target_quantity'" in message
    assert "finite" in message
    assert "at rows [1]" in message


def test_infinite_target_is_rejected(store, reference) -> None:
    where = put(store, frame(target_quantity=[1.0, 2.0, float("inf")]))
    message = load_error(store, reference)
    assert where in message
    assert "target_quantity must be finite' at rows [2]" in message


def test_unknown_exec_algorithm_names_file_and_row(store, reference) -> None:
    where = put(store, frame(exec_algorithm=["TWAP", "SNIPER", None]))
    message = load_error(store, reference)
    assert where in message
    assert "column 'exec_algorithm'" in message
    assert "at rows [1]" in message
    assert "SNIPER" in message


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ('{"duration_s": 60', "is not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
    ],
)
def test_bad_exec_algorithm_params_name_file_and_row(store, reference, params, problem) -> None:
    where = put(store, frame(exec_algorithm_params=[None, None, params]))
    message = load_error(store, reference)
    assert where in message
    assert "row 2: exec_algorithm_params" in message
    assert problem in message


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ('{"duration_sec": 900}', "TWAP params: duration_sec: must be <= 300"),
        ('{"duration_s": 60}', "TWAP params: duration_s: unknown field"),
        ('{"duration_sec": 60}', "NORMAL params: NORMAL takes no params"),
    ],
)
def test_algorithm_params_are_validated_when_the_signals_load(
    store, reference, params, problem
) -> None:
    """The algorithm's own rules, once, at load: a bad TWAP never reaches a backtest."""
    algorithm = "NORMAL" if "NORMAL" in problem else "TWAP"
    where = put(
        store,
        frame(
            exec_algorithm=["NORMAL", None, algorithm], exec_algorithm_params=[None, None, params]
        ),
    )
    message = load_error(store, reference)
    assert f"{where}: row 2: {problem}" in message


def test_ts_event_outside_the_day_names_file_and_rows(store, reference) -> None:
    where = put(
        store,
        frame(
            ts_event=[
                at(1),
                at(0, day=DAY + dt.timedelta(days=1)),
                at(23, 59, day=DAY - dt.timedelta(days=1)),
            ]
        ),
    )
    message = load_error(store, reference)
    assert where in message
    assert "rows [1, 2]" in message
    assert "outside 2025-01-15" in message


def test_unparseable_instrument_id_names_file_row_and_id(store, reference) -> None:
    where = put(store, frame(instrument_key=[BTC, BTC, "binance:perp:btcusdt"]))
    message = load_error(store, reference)
    assert where in message
    assert "row 2:" in message
    assert "binance:perp:btcusdt" in message


def test_any_instrument_no_venue_lists_names_file_row_and_id(store, reference) -> None:
    where = put(store, frame(instrument_key=[BTC, "ANY:PERPETUAL:DOGE-USDT@LIN", BTC]))
    message = load_error(store, reference)
    assert where in message
    assert "row 1:" in message
    assert "unknown instrument 'ANY:PERPETUAL:DOGE-USDT@LIN'" in message


def test_concrete_instrument_no_venue_lists_names_file_row_and_id(store, reference) -> None:
    where = put(store, frame(instrument_key=[BTC, "BINANCE-FUTURES:PERPETUAL:DOGE-USDT@LIN", BTC]))
    message = load_error(store, reference)
    assert where in message
    assert "row 1:" in message
    assert "BINANCE-FUTURES:PERPETUAL:DOGE-USDT@LIN" in message


def test_strategy_id_not_matching_folder_names_file_and_strategies(store, reference) -> None:
    where = put(store, frame("s1", strategy_id=["s1", "other", "s1"]))
    message = load_error(store, reference)
    assert where in message
    assert "'other'" in message
    assert "does not match the file's strategy 's1'" in message


def test_strategy_id_not_matching_folder_names_the_row(store, reference) -> None:
    put(store, frame("s1", strategy_id=["s1", "other", "s1"]))
    assert "row 1" in load_error(store, reference)


# --- writing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param({"target_quantity": [1.0, float("nan"), 2.0]}, id="nan-target"),
        pytest.param({"exec_algorithm": ["TWAP", "SNIPER", None]}, id="unknown-algorithm"),
        pytest.param({"exec_algorithm_params": ["{", None, None]}, id="params-not-json"),
        pytest.param({"exec_algorithm_params": ["[]", None, None]}, id="params-not-object"),
        pytest.param(
            {"ts_event": [at(1), at(2), at(0, day=DAY + dt.timedelta(days=1))]}, id="outside-day"
        ),
        pytest.param({"instrument_key": [BTC, "not-an-id", BTC]}, id="bad-id"),
        pytest.param({"instrument_key": [BTC, "ANY:PERPETUAL:DOGE-USDT@LIN", BTC]}, id="no-venue"),
        pytest.param({"strategy_id": ["s1", "", "s1"]}, id="empty-strategy"),
    ],
)
def test_write_signal_file_with_bad_frame_writes_nothing(store, reference, bad) -> None:
    with pytest.raises(DataError, match=r"s1/2025-01-15\.parquet"):
        write_signal_file(store, "s1", DAY, frame(**bad), reference)
    assert store.list() == []


def test_write_signal_file_rejects_rows_of_another_strategy(store, reference) -> None:
    with pytest.raises(DataError, match="strategy"):
        write_signal_file(store, "s1", DAY, frame("s2"), reference)
    assert store.list() == []
