"""The replaying data client: schedule logic, tick building, and a real node replaying."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from nautilus_trader.config import LiveExecEngineConfig, LoggingConfig, TradingNodeConfig
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick, TradeTick

from execution_core.errors import ConfigError
from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.nautilus.instruments import to_nautilus_instrument
from execution_core.stores.local import LocalObjectStore
from execution_core.ticks.layout import day_start_ns, tick_key
from execution_core.ticks.reader import read_day
from execution_core.ticks.schema import TickKind
from live_daemon.venues.nautilus.config import REPLAY_CLIENT_NAME, replay_client_config
from live_daemon.venues.nautilus.factories import ReplayDataClientFactory, node_in_loop
from live_daemon.venues.nautilus.replay_streams import (
    DueRows,
    ReplaySchedule,
    ReplayStream,
    build_ticks,
    in_replay_order,
    load_streams,
)
from tests.live_daemon.venues import BTC_BINANCE, DEMO_DAY, publish_small_demo

SPEED = 100.0
START_OFFSET_SECS = 6 * 3600.0


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


@pytest.fixture(scope="module")
def ticks(tmp_path_factory: pytest.TempPathFactory, reference: InstrumentReference) -> Any:
    return publish_small_demo(tmp_path_factory.mktemp("replay-demo"), reference)


def _stream(kind: TickKind, offsets: list[int]) -> ReplayStream:
    return ReplayStream(
        key="K",
        kind=kind,
        instrument=None,  # type: ignore[arg-type]  # not used by the schedule
        frame=pl.DataFrame(),
        offsets=np.array(offsets, dtype=np.int64),
    )


def _spans(due: list[DueRows]) -> list[tuple[str, int, int, int]]:
    return [(d.stream.kind.value, d.start, d.stop, d.base) for d in due]


# -- the schedule (pure) -------------------------------------------------------------------


def test_schedule_from_an_offset_without_loop() -> None:
    quotes, trades = _stream(TickKind.QUOTES, [10, 20, 30]), _stream(TickKind.TRADES, [15, 30])
    schedule = ReplaySchedule([quotes, trades], start_ns=15, loop=False, period=100)
    # The book at the start: the last quote before it.
    assert _spans(schedule.snapshot()) == [("quotes", 0, 1, 0)]
    assert _spans(schedule.take_due(15)) == [("trades", 0, 1, 0)]  # at the start itself
    assert schedule.next_due() == 20
    assert schedule.take_due(19) == []
    assert _spans(schedule.take_due(30)) == [("quotes", 1, 3, 0), ("trades", 1, 2, 0)]
    assert schedule.next_due() is None  # the end of the day, no loop
    assert schedule.take_due(10_000) == []


def test_schedule_loops_over_the_day() -> None:
    quotes, trades = _stream(TickKind.QUOTES, [10, 20, 30]), _stream(TickKind.TRADES, [15, 30])
    schedule = ReplaySchedule([quotes, trades], start_ns=0, loop=True, period=100)
    # Starting at 00:00 the book is the day's last quote, as if yesterday were the same.
    assert _spans(schedule.snapshot()) == [("quotes", 2, 3, -100)]
    assert len(schedule.take_due(99)) == 2
    assert schedule.next_due() == 110  # the first quote of the next lap
    assert _spans(schedule.take_due(115)) == [("quotes", 0, 1, 100), ("trades", 0, 1, 100)]
    assert schedule.next_due() == 120
    # Far behind (a stall of many laps): skip to the current lap, do not replay them all.
    due = schedule.take_due(1_025)
    assert _spans(due) == [("quotes", 0, 2, 1_000), ("trades", 0, 1, 1_000)]
    assert schedule.next_due() == 1_030


def test_ticks_due_together_keep_their_order() -> None:
    quotes, trades = _stream(TickKind.QUOTES, [10, 20]), _stream(TickKind.TRADES, [10, 15])
    batches: list[tuple[DueRows, list[Any]]] = [
        (DueRows(trades, 0, 2, 0), ["t10", "t15"]),
        (DueRows(quotes, 0, 2, 0), ["q10", "q20"]),
    ]
    # A quote before a trade of the same instant, then by time.
    assert in_replay_order(batches) == ["q10", "t10", "t15", "q20"]


def test_config_is_checked(ticks: LocalObjectStore) -> None:
    with pytest.raises(ConfigError, match="speed"):
        replay_client_config([BTC_BINANCE], DEMO_DAY, store=ticks, speed=0)
    with pytest.raises(ConfigError, match="exactly one"):
        replay_client_config([BTC_BINANCE], DEMO_DAY)
    with pytest.raises(ConfigError, match="start_offset_secs"):
        replay_client_config([BTC_BINANCE], DEMO_DAY, store=ticks, start_offset_secs=86_400)
    with pytest.raises(ConfigError, match="no instruments"):
        replay_client_config([], DEMO_DAY, store=ticks)


def test_ticks_are_stamped_with_the_given_time(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    streams = load_streams(ticks, reference, [BTC_BINANCE], DEMO_DAY)
    quotes, trades = streams
    stamp = time.time_ns()
    for stream, kind in ((quotes, QuoteTick), (trades, TradeTick)):
        built = build_ticks(DueRows(stream, 5, 9, 0), stamp)
        assert len(built) == 4 and all(isinstance(t, kind) for t in built)
        assert all(t.ts_event == t.ts_init == stamp for t in built)
    first = stream.frame.row(5, named=True)
    assert float(built[0].price) == pytest.approx(first["price"])  # type: ignore[attr-defined]
    assert str(built[0].instrument_id) == "BTCUSDT-PERP.BINANCE"


# -- a node replaying ----------------------------------------------------------------------


def test_node_replays_with_wall_clock_times_and_original_gaps(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    """Through TradingNodeConfig(data_clients=...) and add_data_client_factory, the client
    loading the day itself; speed 100 from 06:00."""
    received: list[tuple[int, Any]] = []

    async def body() -> None:
        loop = asyncio.get_running_loop()
        config = TradingNodeConfig(
            trader_id="REPLAY-001",
            logging=LoggingConfig(log_level="ERROR"),
            exec_engine=LiveExecEngineConfig(reconciliation=False),
            data_clients={
                REPLAY_CLIENT_NAME: replay_client_config(
                    [BTC_BINANCE],
                    DEMO_DAY,
                    store=ticks,
                    reference=reference,
                    speed=SPEED,
                    start_offset_secs=START_OFFSET_SECS,
                )
            },
            timeout_post_stop=0.05,
        )
        with node_in_loop(loop):
            node = TradingNode(config=config, loop=loop)
        node.add_data_client_factory(REPLAY_CLIENT_NAME, ReplayDataClientFactory)
        node.build()
        for topic in ("data.quotes.*", "data.trades.*"):
            node.kernel.msgbus.subscribe(
                topic=topic, handler=lambda tick: received.append((time.time_ns(), tick))
            )
        task = loop.create_task(node.run_async())
        deadline = time.monotonic() + 15
        while len(received) < 12 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        instrument = node.cache.instrument(to_nautilus_instrument(reference.get(BTC_BINANCE)).id)
        assert instrument is not None  # the client published the instrument
        await node.stop_async()
        await asyncio.wait_for(task, 5)
        node.kernel.dispose()

    asyncio.run(body())
    assert len(received) >= 12

    start = day_start_ns(DEMO_DAY) + int(START_OFFSET_SECS * 1e9)
    frames = {
        kind: read_day(ticks, tick_key(BTC_BINANCE, kind, DEMO_DAY), kind) for kind in TickKind
    }
    offsets = {kind: frame["ts_event"].dt.epoch("ns").to_numpy() for kind, frame in frames.items()}

    # First the snapshot: the last quote before 06:00.
    _, snapshot = received[0]
    assert isinstance(snapshot, QuoteTick)
    before = int(np.searchsorted(offsets[TickKind.QUOTES], start, side="left")) - 1
    assert float(snapshot.ask_price) == pytest.approx(frames[TickKind.QUOTES]["ask_price"][before])

    # Then every tick from 06:00 on, in order, none missing, each stamped with the wall clock.
    cursors = {kind: int(np.searchsorted(offsets[kind], start, side="left")) for kind in TickKind}
    expected_offsets = []
    for receipt_ns, tick in received[1:]:
        assert tick.ts_event == tick.ts_init
        assert 0 <= receipt_ns - tick.ts_init < 200_000_000  # delivered promptly
        kind = TickKind.QUOTES if isinstance(tick, QuoteTick) else TickKind.TRADES
        row = frames[kind].row(cursors[kind], named=True)
        if kind is TickKind.QUOTES:
            assert (float(tick.bid_price), float(tick.ask_price)) == pytest.approx(
                (row["bid_price"], row["ask_price"])
            )
        else:
            assert float(tick.price) == pytest.approx(row["price"])
        expected_offsets.append(int(offsets[kind][cursors[kind]]))
        cursors[kind] += 1
    assert expected_offsets == sorted(expected_offsets)

    # Gaps: wall-clock times relative to the first replayed tick = original gaps / speed.
    stamps = np.array([tick.ts_init for _, tick in received[1:]], dtype=np.int64)
    original = np.array(expected_offsets, dtype=np.int64)
    drift_ms = ((stamps - stamps[0]) - (original - original[0]) / SPEED) / 1e6
    print(f"\nreplay drift: max {np.abs(drift_ms).max():.2f} ms over {len(drift_ms)} ticks")
    assert np.abs(drift_ms).max() < 60, drift_ms
    assert (original[-1] - original[0]) / SPEED > 0.5e9  # the check spans > 0.5 s of wall time


def test_missing_tick_file_is_a_data_error(tmp_path: Path, reference: InstrumentReference) -> None:
    from execution_core.errors import DataError

    with pytest.raises(DataError, match="tick file missing"):
        load_streams(LocalObjectStore(tmp_path), reference, [BTC_BINANCE], DEMO_DAY)
