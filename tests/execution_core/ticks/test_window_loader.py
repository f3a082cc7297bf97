"""Loading ticks inside execution windows across day files, and the I/O report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from execution_core.errors import DataError
from execution_core.stores import LocalObjectStore, ObjectStore
from execution_core.ticks.layout import RowGroupLayout, day_start_ns, tick_key
from execution_core.ticks.schema import COLUMNS, TickKind
from execution_core.ticks.window_loader import IOReport, load_tick_windows, windows_by_day
from execution_core.ticks.windows import WINDOW_COLUMNS, execution_windows
from execution_core.ticks.writer import write_tick_day

DAY = dt.date(2025, 1, 15)
NEXT = DAY + dt.timedelta(days=1)
SEC = 1_000_000_000
BINANCE = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"  # has DAY and NEXT files
BYBIT = "BYBIT:PERPETUAL:BTC-USDT@LIN"  # has only DAY files
OKX = "OKX:PERPETUAL:BTC-USDT@LIN"  # has no files
LAYOUT = RowGroupLayout(span_seconds=600)  # few row groups: fast to write, still prunable
N = 5_000


def ticks(kind: TickKind, day: dt.date, seed: int) -> pl.DataFrame:
    """N random ticks over the whole day (a few at the very edges of the day)."""
    rng = np.random.default_rng(seed)
    start = day_start_ns(day)
    ts = np.sort(
        np.concatenate(
            [rng.integers(start, start + 86_400 * SEC, N - 2), [start, start + 86_400 * SEC - 1]]
        )
    )
    columns: dict[str, object]
    if kind is TickKind.TRADES:
        columns = {
            "price": 40_000 + rng.random(N),
            "size": rng.random(N) + 0.001,
            "aggressor_side": rng.choice(["BUY", "SELL"], N),
            "trade_id": [f"{seed}-{i}" for i in range(N)],
        }
    else:
        columns = {
            "bid_price": 40_000 + rng.random(N),
            "bid_size": rng.random(N),
            "ask_price": 40_001 + rng.random(N),
            "ask_size": rng.random(N),
        }
    return pl.DataFrame(
        {"ts_event": pl.Series(ts).cast(pl.Datetime("ns", "UTC")), **columns},
        schema=COLUMNS[kind],
    )


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def events(rows: list[tuple[dt.datetime, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ts_event": [t for t, _ in rows],
            "strategy_id": ["s1"] * len(rows),
            "instrument_key": [k for _, k in rows],
        },
        schema={
            "ts_event": pl.Datetime("ns", "UTC"),
            "strategy_id": pl.String,
            "instrument_key": pl.String,
        },
    )


def windows_of(rows: list[tuple[dt.datetime, str]]) -> pl.DataFrame:
    return execution_windows(events(rows), lambda key: [key])


def inside(frame: pl.DataFrame, windows: pl.DataFrame, key: str) -> pl.DataFrame:
    """Rows of ``frame`` inside ``key``'s windows, by brute force."""
    mine = windows.filter(pl.col("instrument_key") == key)
    if mine.is_empty():
        return frame.clear()
    return frame.filter(
        pl.any_horizontal(
            [
                (pl.col("ts_event") >= s) & (pl.col("ts_event") < e)
                for s, e in mine.select("window_start", "window_end").rows()
            ]
        )
    )


@pytest.fixture(scope="module")
def tick_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Trades and quotes: BINANCE on DAY and NEXT, BYBIT on DAY only."""
    root = tmp_path_factory.mktemp("ticks")
    store = LocalObjectStore(root)
    written: dict[tuple[str, TickKind, dt.date], pl.DataFrame] = {}
    seed = 0
    for key, days in [(BINANCE, [DAY, NEXT]), (BYBIT, [DAY])]:
        for kind in TickKind:
            for day in days:
                seed += 1
                written[key, kind, day] = ticks(kind, day, seed)
                write_tick_day(store, key, kind, day, written[key, kind, day], LAYOUT)
    return root, written


@pytest.fixture
def store(tick_store) -> ObjectStore:
    """A fresh store object (zeroed read stats) over the module's files."""
    return LocalObjectStore(tick_store[0])


@pytest.fixture
def written(tick_store) -> dict[tuple[str, TickKind, dt.date], pl.DataFrame]:
    return tick_store[1]


def full(written, key: str, kind: TickKind) -> pl.DataFrame:
    return pl.concat([written[k] for k in sorted(written) if k[0] == key and k[1] == kind])


WINDOW_EVENTS = [
    (at(3), BINANCE),
    (at(3, 2), BINANCE),  # merges with 03:00
    (at(12), BINANCE),
    (at(23, 58), BINANCE),  # spills into NEXT, which exists
    (at(0), BYBIT),  # starts exactly at the first tick of the day
    (at(6), BYBIT),
    (at(23, 57), BYBIT),  # spills into NEXT, which does not exist
]


def test_loads_exactly_the_rows_inside_the_windows(store, written) -> None:
    """Each instrument and kind gets exactly its window rows, sorted, across day files."""
    windows = windows_of(WINDOW_EVENTS)
    loaded, _ = load_tick_windows(store, windows, DAY)
    assert [(t.instrument_key, t.kind) for t in loaded] == [
        (BINANCE, TickKind.TRADES),
        (BINANCE, TickKind.QUOTES),
        (BYBIT, TickKind.TRADES),
        (BYBIT, TickKind.QUOTES),
    ]
    for result in loaded:
        expected = inside(
            full(written, result.instrument_key, result.kind), windows, result.instrument_key
        )
        assert len(expected) > 0
        assert result.frame.schema == pl.Schema(COLUMNS[result.kind])
        assert result.frame.equals(expected), (result.instrument_key, result.kind)
        assert result.frame["ts_event"].is_sorted()
    # the BINANCE spill brought rows from the next day's file
    binance_trades = loaded[0].frame
    assert (binance_trades["ts_event"] >= at(0, day=NEXT)).sum() > 0
    assert (binance_trades["ts_event"] >= at(0, 3, day=NEXT)).sum() == 0
    # BYBIT's spill file is missing: its rows stop at midnight
    assert (loaded[2].frame["ts_event"] >= at(0, day=NEXT)).sum() == 0
    assert loaded[2].frame["ts_event"].min() == at(0)


def test_io_report_sums_and_reduction(store) -> None:
    """Bytes read are a fraction of the full day files; rows decoded cover the window rows."""
    windows = windows_of(WINDOW_EVENTS)
    loaded, report = load_tick_windows(store, windows, DAY)
    assert report.files == 6  # BINANCE 2 days × 2 kinds, BYBIT 1 day × 2 kinds
    files = [tick_key(BINANCE, k, d) for k in TickKind for d in (DAY, NEXT)] + [
        tick_key(BYBIT, k, DAY) for k in TickKind
    ]
    assert report.bytes_full_days == sum(store.size(f) for f in files)
    assert report.bytes_read == store.read_stats.bytes_read
    assert 0 < report.bytes_read < report.bytes_full_days
    assert report.window_rows == sum(len(t.frame) for t in loaded)
    assert report.rows_read >= report.window_rows > 0
    assert 0.0 < report.reduction < 1.0
    assert report.read_amplification >= 1.0
    assert report.as_dict()["files"] == 6


def test_missing_spill_file_is_recorded_not_an_error(store, caplog) -> None:
    """A window running past midnight into a day not yet written is recorded and skipped."""
    windows = windows_of([(at(23, 57), BYBIT)])
    loaded, report = load_tick_windows(store, windows, DAY)
    assert report.missing_spill_files == [
        store.describe(tick_key(BYBIT, TickKind.TRADES, NEXT)),
        store.describe(tick_key(BYBIT, TickKind.QUOTES, NEXT)),
    ]
    assert report.files == 2
    assert all(len(t.frame) > 0 for t in loaded)
    assert "spill_file_missing" in caplog.text


def test_spill_file_present_is_read(store, written) -> None:
    """With the next day's file there, nothing is missing and both files count."""
    windows = windows_of([(at(23, 58), BINANCE)])
    loaded, report = load_tick_windows(store, windows, DAY, kinds=[TickKind.TRADES])
    assert report.missing_spill_files == []
    assert report.files == 2
    assert [(t.instrument_key, t.kind) for t in loaded] == [(BINANCE, TickKind.TRADES)]
    spill = written[BINANCE, TickKind.TRADES, NEXT]
    expected_next = spill.filter(pl.col("ts_event") < at(0, 3, day=NEXT))
    got_next = loaded[0].frame.filter(pl.col("ts_event") >= at(0, day=NEXT))
    assert len(expected_next) > 0
    assert got_next.equals(expected_next)


def test_missing_partition_day_file_is_an_error_naming_instrument_and_file(store) -> None:
    windows = windows_of([(at(9), OKX)])
    with pytest.raises(DataError) as info:
        load_tick_windows(store, windows, DAY)
    message = str(info.value)
    assert OKX in message
    assert "tick file missing" in message
    assert store.describe(tick_key(OKX, TickKind.TRADES, DAY)) in message


def test_progress_and_kinds(store) -> None:
    """Only the requested kinds are read; progress hears one line per instrument and kind."""
    lines: list[str] = []
    windows = windows_of([(at(9), BINANCE), (at(10), BYBIT)])
    loaded, report = load_tick_windows(store, windows, DAY, [TickKind.QUOTES], lines.append)
    assert [(t.instrument_key, t.kind) for t in loaded] == [
        (BINANCE, TickKind.QUOTES),
        (BYBIT, TickKind.QUOTES),
    ]
    assert report.files == 2
    assert len(lines) == 2
    assert lines[0].startswith(f"{BINANCE} quotes: ")
    assert lines[0].endswith(f"{len(loaded[0].frame)} ticks")


def test_no_windows_reads_nothing(store) -> None:
    loaded, report = load_tick_windows(store, pl.DataFrame(schema=WINDOW_COLUMNS), DAY)
    assert loaded == []
    assert report == IOReport()
    assert report.reduction == 0.0
    assert store.read_stats.bytes_read == 0


def test_windows_by_day_cuts_at_midnight() -> None:
    """A window past midnight becomes two ranges; one ending at midnight stays whole."""
    windows = windows_of(
        [(at(23, 58), BINANCE), (at(23, 54), BINANCE), (at(1), BINANCE), (at(23, 55), BYBIT)]
    )
    ns = lambda t: int(t.timestamp()) * SEC  # noqa: E731
    assert windows_by_day(windows, BINANCE) == {
        DAY: [(ns(at(1)), ns(at(1, 5))), (ns(at(23, 54)), ns(at(0, day=NEXT)))],
        NEXT: [(ns(at(0, day=NEXT)), ns(at(0, 3, day=NEXT)))],
    }
    assert windows_by_day(windows, BYBIT) == {DAY: [(ns(at(23, 55)), ns(at(0, day=NEXT)))]}
    assert windows_by_day(windows, OKX) == {}
