"""Tick files: time-bounded row groups, windowed reads that fetch only what they need."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from execution_core.errors import DataError
from execution_core.stores import LocalObjectStore, ObjectStore
from execution_core.ticks.layout import RowGroupLayout, day_start_ns, index_key, tick_key
from execution_core.ticks.reader import read_day, read_windows
from execution_core.ticks.schema import TickKind
from execution_core.ticks.writer import row_group_bounds, write_tick_day

DAY = dt.date(2025, 1, 15)
KEY = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
SEC = 1_000_000_000


def trades(n: int, seed: int = 1, day: dt.date = DAY) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = day_start_ns(day)
    ts = np.sort(rng.integers(start, start + 86_400 * SEC, n))
    return pl.DataFrame(
        {
            "ts_event": pl.Series(ts).cast(pl.Datetime("ns", "UTC")),
            "price": np.round(40_000 + np.cumsum(rng.normal(0, 1, n)), 1),
            "size": np.round(rng.exponential(0.05, n), 3) + 0.001,
            "aggressor_side": np.where(rng.random(n) < 0.5, "BUY", "SELL"),
            "trade_id": np.arange(n).astype(str),
        }
    )


def inside(frame: pl.DataFrame, windows: list[tuple[int, int]]) -> pl.DataFrame:
    ts = pl.col("ts_event").dt.epoch("ns")
    return frame.filter(pl.any_horizontal([(ts >= s) & (ts < e) for s, e in windows]))


@pytest.fixture
def store(tmp_path) -> ObjectStore:
    return LocalObjectStore(tmp_path / "ticks")


@pytest.fixture
def written(store: ObjectStore) -> tuple[pl.DataFrame, str]:
    frame = trades(50_000)
    info = write_tick_day(store, KEY, TickKind.TRADES, DAY, frame)
    return frame, info.key


def hour_windows(hours: list[int], minutes: int = 5) -> list[tuple[int, int]]:
    start = day_start_ns(DAY)
    return [
        (start + h * 3600 * SEC + 17 * SEC, start + h * 3600 * SEC + (17 + 60 * minutes) * SEC)
        for h in hours
    ]


def test_key_follows_the_architecture_layout() -> None:
    assert tick_key(KEY, TickKind.TRADES, DAY) == (
        "CRYPTO/BINANCE-FUTURES/PERPETUAL/BTC-USDT@LIN/trades/2025-01-15.parquet"
    )
    with pytest.raises(ValueError, match="resolve ANY"):
        tick_key("ANY:PERPETUAL:BTC-USDT@LIN", TickKind.TRADES, DAY)


def test_row_groups_hold_bounded_time_spans_with_statistics(store, written) -> None:
    frame, key = written
    layout = RowGroupLayout()
    metadata = pq.ParquetFile(io.BytesIO(store.read_bytes(key))).metadata
    assert metadata.num_rows == len(frame)
    for g in range(metadata.num_row_groups):
        stats = metadata.row_group(g).column(0).statistics
        assert stats is not None and stats.has_min_max
        span = stats.max_raw - stats.min_raw
        assert span < layout.span_seconds * SEC
        # a group never crosses a span boundary of the day
        assert (stats.min_raw - day_start_ns(DAY)) // (layout.span_seconds * SEC) == (
            stats.max_raw - day_start_ns(DAY)
        ) // (layout.span_seconds * SEC)


def test_row_group_bounds_split_bursts_by_max_rows() -> None:
    ts = np.full(10, day_start_ns(DAY) + 5 * SEC)
    bounds = row_group_bounds(ts, DAY, RowGroupLayout(span_seconds=20, max_rows=4))
    assert bounds.tolist() == [0, 4, 8, 10]


def test_window_read_returns_exactly_the_window_rows(store, written) -> None:
    frame, key = written
    windows = hour_windows([1, 7, 13, 23])
    result = read_windows(store, key, windows, TickKind.TRADES)
    expected = inside(frame, windows)
    assert result.frame.equals(expected)
    assert result.rows_read >= len(expected)
    assert result.row_groups_read < result.row_groups_total
    assert result.bytes_read < 0.1 * result.bytes_full


def test_index_avoids_the_footer_and_reads_less_than_footer_path(store, written) -> None:
    _, key = written
    windows = hour_windows([2, 9])
    with_index = read_windows(store, key, windows, TickKind.TRADES)
    store.delete(index_key(key))
    footer_only = read_windows(store, key, windows, TickKind.TRADES)
    assert footer_only.frame.equals(with_index.frame)
    assert with_index.bytes_read < footer_only.bytes_read


def test_stale_index_is_detected_and_the_footer_path_used(store, written) -> None:
    _, key = written
    stale_index = store.read_bytes(index_key(key))
    newer = trades(40_000, seed=2)
    write_tick_day(store, KEY, TickKind.TRADES, DAY, newer)
    store.write_bytes(index_key(key), stale_index)  # as if the index write had not landed
    windows = hour_windows([5])
    assert read_windows(store, key, windows, TickKind.TRADES).frame.equals(inside(newer, windows))


def test_read_day_round_trips(store, written) -> None:
    frame, key = written
    assert read_day(store, key, TickKind.TRADES).equals(frame)


def test_missing_day_file_names_the_file(store) -> None:
    key = tick_key(KEY, TickKind.TRADES, DAY)
    with pytest.raises(DataError, match=r"tick file missing: .*2025-01-15\.parquet"):
        read_windows(store, key, hour_windows([1]), TickKind.TRADES)


def test_corrupt_parquet_names_the_file(store, written) -> None:
    _, key = written
    data = bytearray(store.read_bytes(key))
    data[len(data) // 2 : len(data) // 2 + 5000] = b"\x00" * 5000
    store.write_bytes(key, bytes(data))
    store.delete(index_key(key))
    with pytest.raises(DataError, match=r"corrupt tick file .*2025-01-15\.parquet"):
        read_windows(
            store, key, [(day_start_ns(DAY), day_start_ns(DAY) + 86_400 * SEC)], TickKind.TRADES
        )


def test_unsorted_tick_file_is_rejected_with_row_group_and_row(store) -> None:
    frame = trades(2_000)
    shuffled = pl.concat([frame.slice(0, 10).reverse(), frame.slice(10)])
    key = tick_key(KEY, TickKind.TRADES, DAY)
    sink = io.BytesIO()
    shuffled.write_parquet(sink)  # written by another tool: no sorting, no index
    store.write_bytes(key, sink.getvalue())
    with pytest.raises(DataError, match=r"not sorted \(row group 0, row 1\)"):
        read_day(store, key, TickKind.TRADES)


def test_ticks_outside_the_day_are_rejected_and_nothing_written(store) -> None:
    frame = pl.concat([trades(100), trades(5, day=DAY + dt.timedelta(days=1))])
    with pytest.raises(DataError, match=r"5 ticks fall outside 2025-01-15"):
        write_tick_day(store, KEY, TickKind.TRADES, DAY, frame)
    assert store.list() == []


def test_schema_violations_name_column_and_rows(store) -> None:
    frame = trades(100).with_columns(
        pl.when(pl.int_range(pl.len()) == 42).then(-1.0).otherwise(pl.col("price")).alias("price")
    )
    with pytest.raises(DataError, match=r"column 'price' failed .* at rows \[42\]"):
        write_tick_day(store, KEY, TickKind.TRADES, DAY, frame)
    assert store.list() == []


@pytest.mark.gcs
def test_window_read_through_gcs_emulator(gcs_bucket_url: str) -> None:
    from execution_core.stores import open_store

    store = open_store(gcs_bucket_url)
    frame = trades(20_000)
    info = write_tick_day(store, KEY, TickKind.TRADES, DAY, frame)
    windows = hour_windows([3, 15])
    result = read_windows(store, info.key, windows, TickKind.TRADES)
    assert result.frame.equals(inside(frame, windows))
    assert result.bytes_read < 0.15 * result.bytes_full
