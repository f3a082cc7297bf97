"""The paper venue as a process of its own (``exec-venue paper``) with its own record, and
the daemon's client of it (:class:`VenueProcessGateway`): real processes, real sockets.

Every wait is bounded and says what it waited for; no test asserts a duration."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import psutil
import pytest

from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.stores.local import LocalObjectStore
from live_daemon.venues.auth import MAGIC
from live_daemon.venues.gateway import VenueError, VenueEvent, VenueOrder, VenueUnavailable
from live_daemon.venues.host_config import VenueHostConfig
from live_daemon.venues.journal import RESTART_REASON
from live_daemon.venues.process import START_TIMEOUT_SETTING, VenueProcessGateway
from live_daemon.venues.state_dir import VenueDir
from live_daemon.venues.wire import encode
from tests.live_daemon.daemon_process import free_port
from tests.live_daemon.venues import (
    BTC_BINANCE,
    BTC_OKX,
    DEMO_DAY,
    EXEC_VENUE,
    publish_small_demo,
    stop_venue,
    venue_config,
)

pytestmark = pytest.mark.slow

START_SECS = 180.0  # a venue's start on a busy 2-core machine, at most


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


@pytest.fixture(scope="module")
def ticks(
    tmp_path_factory: pytest.TempPathFactory, reference: InstrumentReference
) -> LocalObjectStore:
    return publish_small_demo(tmp_path_factory.mktemp("process-demo"), reference)


@pytest.fixture
def venue_dirs() -> Iterator[list[Path]]:
    """Directories whose venue is stopped after the test (none is left behind)."""
    dirs: list[Path] = []
    yield dirs
    for state_dir in dirs:
        stop_venue(state_dir)


@pytest.fixture(scope="module")
def running_venue(
    ticks: LocalObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VenueHostConfig]:
    """A venue started by hand (``exec-venue paper`` with options), shared by the tests
    that only connect to it."""
    config = venue_config(ticks.url, tmp_path_factory.mktemp("venue") / "paper")
    log = open(config.state_dir.parent / "venue.out", "ab")  # noqa: SIM115 - the venue's life
    process = subprocess.Popen(
        [
            str(EXEC_VENUE), "paper", "--port", str(config.port), "--dir", str(config.state_dir),
            "--ticks-store-url", ticks.url, "--day", DEMO_DAY.isoformat(), "--speed", "100",
            "--instruments", ",".join(config.instruments),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        asyncio.run(_until_ready(config))
        yield config
    finally:
        stop_venue(config.state_dir)
        assert process.wait(timeout=30) == 0
        log.close()


async def _until_ready(config: VenueHostConfig) -> None:
    """Return once the venue on ``config`` takes a client (it is ready then)."""
    client = VenueProcessGateway(
        config, lambda e: None, autostart=False, start_timeout_secs=START_SECS
    )
    await client.start()
    await client.stop()


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"waited {timeout:g}s for {what}"
        await asyncio.sleep(0.02)


def test_orders_fill_across_the_process_boundary_and_the_record_answers(
    ticks: LocalObjectStore, tmp_path: Path, venue_dirs: list[Path]
) -> None:
    config = venue_config(ticks.url, tmp_path / "venue")
    venue_dirs.append(config.state_dir)
    events: list[VenueEvent] = []
    connections: list[bool] = []

    async def body() -> None:
        gateway = VenueProcessGateway(
            config, events.append, on_connection=connections.append, start_timeout_secs=START_SECS
        )
        await gateway.start()  # nothing listens: it starts the venue, detached
        try:
            assert connections == [True]
            quote = gateway.last_quote(BTC_BINANCE)  # every book is there once started
            assert quote is not None and quote[0] < quote[2]
            health = gateway.health()
            assert health["connected"] and health["running"]
            assert health["endpoint"] == f"127.0.0.1:{config.port}"
            assert health["pid"] == VenueDir(config.state_dir).running_pid() is not None
            assert health["last_quote_age_ms"][BTC_OKX] is not None
            assert gateway.is_connected(BTC_OKX) and not gateway.is_connected("BYBIT:X")

            gateway.submit(
                VenueOrder("p-1", BTC_BINANCE, "BUY", Decimal("0.01"), "MARKET", None, "NORMAL", {})
            )
            await wait_until(lambda: any(e.kind == "filled" for e in events), "p-1's fill")
            assert [e.kind for e in events] == ["accepted", "filled"]
            fill = events[1].fill
            assert fill is not None and fill.order_id == "p-1" and fill.quantity == Decimal("0.01")
            assert events[1].detail["fill_seq"] == 1

            record = await gateway.order_record("p-1")
            assert record is not None
            assert (record.status, record.filled_quantity, record.fills) == (
                "FILLED",
                Decimal("0.01"),
                (fill,),
            )
            assert await gateway.order_state("p-1") == "FILLED"
            assert await gateway.order_record("never-sent") is None
            assert await gateway.order_state("never-sent") is None
            assert await gateway.positions() == {BTC_BINANCE: Decimal("0.01")}
            assert await gateway.fills_since(0) == [(1, BTC_BINANCE, fill)]
            assert await gateway.fills_since(1) == []
            assert await gateway.open_orders() == []
            state = await gateway.venue_state()
            assert [o.order_id for o in state.orders] == ["p-1"]
            assert state.fills == [(BTC_BINANCE, fill)] and state.last_fill_seq == 1

            # a resubmit after a lost reply: answered with the state, never traded again
            events.clear()
            gateway.submit(
                VenueOrder("p-1", BTC_BINANCE, "BUY", Decimal("0.01"), "MARKET", None, "NORMAL", {})
            )
            await wait_until(lambda: len(events) == 2, "the replayed state of p-1")
            assert [(e.kind, e.detail["replayed"]) for e in events] == [
                ("accepted", True),
                ("filled", True),
            ]
            assert events[1].fill == fill
            assert await gateway.positions() == {BTC_BINANCE: Decimal("0.01")}
            record = await gateway.order_record("p-1")
            assert record is not None and record.fills == (fill,)
            pid = gateway.pid
        finally:
            await gateway.stop()

        # the client is gone; the venue and its record are not
        assert pid is not None and psutil.pid_exists(pid)
        assert VenueDir(config.state_dir).running_pid() == pid
        gateway.submit(
            VenueOrder("p-2", BTC_BINANCE, "BUY", Decimal("0.01"), "MARKET", None, "NORMAL", {})
        )
        assert events[-1].kind == "rejected" and events[-1].order_id == "p-2"
        assert f"127.0.0.1:{config.port} is not connected" in events[-1].detail["reason"]
        with pytest.raises(VenueUnavailable, match="not connected"):
            await gateway.order_record("p-1")
        again = VenueProcessGateway(config, lambda e: None, autostart=False)
        await again.start()
        try:
            assert again.pid == pid  # the same venue, not a new one
            record = await again.order_record("p-1")
            assert record is not None and record.status == "FILLED"
        finally:
            await again.stop()
        assert connections == [True]  # stop() is not a lost connection

    asyncio.run(body())


def test_a_killed_venue_is_restarted_with_its_record_and_the_client_reconnects(
    ticks: LocalObjectStore, tmp_path: Path, venue_dirs: list[Path]
) -> None:
    config = venue_config(ticks.url, tmp_path / "venue")
    venue_dirs.append(config.state_dir)
    events: list[VenueEvent] = []
    connections: list[bool] = []
    twap = {"duration_sec": 300, "max_slices": 10}  # a slice every 30 s: open when killed

    async def body() -> None:
        gateway = VenueProcessGateway(
            config,
            events.append,
            on_connection=connections.append,
            start_timeout_secs=START_SECS,
            reconnect_max_secs=0.5,
        )
        await gateway.start()
        try:
            gateway.submit(
                VenueOrder(
                    "open-1", BTC_BINANCE, "BUY", Decimal("0.6"), "MARKET", None, "TWAP", twap
                )
            )
            gateway.submit(
                VenueOrder("done-1", BTC_OKX, "SELL", Decimal("0.02"), "MARKET", None, "NORMAL", {})
            )
            gateway.submit(
                VenueOrder("rej-1", BTC_OKX, "SIDEWAYS", Decimal("1"), "MARKET", None, "NORMAL", {})
            )

            def fills_of(order_id: str) -> list[object]:
                return [e.fill for e in events if e.order_id == order_id and e.kind == "filled"]

            await wait_until(lambda: fills_of("done-1") and fills_of("open-1"), "first fills")
            await wait_until(lambda: any(e.kind == "rejected" for e in events), "rej-1 refused")
            old_pid = gateway.pid
            assert old_pid is not None
            os.kill(old_pid, signal.SIGKILL)
            await wait_until(lambda: connections == [True, False], "the loss to be noticed")
            assert not gateway.is_connected() and not gateway.health()["connected"]

            # while it is down: an order is refused, naming the venue; the record cannot
            # be read, which is not "no such order"
            gateway.submit(
                VenueOrder(
                    "down-1", BTC_BINANCE, "BUY", Decimal("0.01"), "MARKET", None, "NORMAL", {}
                )
            )
            rejected = events[-1]
            assert (rejected.kind, rejected.order_id) == ("rejected", "down-1")
            assert (
                f"paper venue at 127.0.0.1:{config.port} is not connected"
                in (rejected.detail["reason"])
            )
            with pytest.raises(VenueUnavailable):
                await gateway.order_record("open-1")

            await wait_until(gateway.is_connected, "the venue started again", START_SECS)
            assert connections == [True, False, True]
            assert gateway.pid not in (None, old_pid)
            assert gateway.health()["reconnects"] == 1
            before_kill = len(events)

            opened = await gateway.order_record("open-1")
            assert opened is not None
            assert (opened.status, opened.reason) == ("CANCELED", RESTART_REASON)
            assert list(opened.fills) == fills_of("open-1")  # every fill it reported, kept
            assert opened.filled_quantity == sum(f.quantity for f in opened.fills)  # type: ignore[misc]
            done = await gateway.order_record("done-1")
            assert done is not None and done.status == "FILLED"
            refused = await gateway.order_record("rej-1")
            assert refused is not None and refused.status == "REJECTED" and refused.reason
            assert await gateway.order_record("down-1") is None  # never reached the venue
            assert await gateway.open_orders() == []
            assert await gateway.positions() == {
                BTC_BINANCE: opened.filled_quantity,
                BTC_OKX: -done.filled_quantity,
            }

            # its id stays taken: a resubmit gets the state back and is not traded
            gateway.submit(
                VenueOrder(
                    "open-1", BTC_BINANCE, "BUY", Decimal("0.6"), "MARKET", None, "TWAP", twap
                )
            )
            await wait_until(
                lambda: any(e.kind == "canceled" for e in events[before_kill:]), "open-1's state"
            )
            replayed = events[before_kill:]
            assert all(e.order_id == "open-1" and e.detail["replayed"] for e in replayed)
            assert replayed[-1].detail["reason"] == RESTART_REASON
            again = await gateway.order_record("open-1")
            assert again is not None and again.fills == opened.fills
        finally:
            await gateway.stop()

    asyncio.run(body())


def test_the_start_timeout_is_a_setting_and_says_what_it_waited_for(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there, and nothing is started
    config = VenueHostConfig(
        ticks_store_url=(tmp_path / "ticks").as_uri(),
        instruments=[BTC_BINANCE],
        day=DEMO_DAY,
        port=port,
        state_dir=tmp_path / "venue",
    )

    async def body() -> None:
        gateway = VenueProcessGateway(
            config, lambda e: None, autostart=False, start_timeout_secs=0.3
        )
        with pytest.raises(VenueError) as error:
            await gateway.start()
        message = str(error.value)
        assert "not ready after 0.3s" in message
        assert f"a connection to 127.0.0.1:{port}" in message
        assert "autostart is off" in message
        assert START_TIMEOUT_SETTING in message and str(tmp_path / "venue" / "venue.log") in message
        assert not gateway.is_connected()

    asyncio.run(body())


def test_a_venue_that_cannot_start_says_why(tmp_path: Path, venue_dirs: list[Path]) -> None:
    config = venue_config((tmp_path / "empty").as_uri(), tmp_path / "venue")
    venue_dirs.append(config.state_dir)

    async def body() -> None:
        gateway = VenueProcessGateway(config, lambda e: None, start_timeout_secs=START_SECS)
        with pytest.raises(VenueError, match=r"2024-03-01"):
            await gateway.start()
        assert not gateway.is_connected()

    asyncio.run(body())
    # it gave up: nothing is left running on its directory
    deadline = time.monotonic() + 60
    while VenueDir(config.state_dir).is_locked():
        assert time.monotonic() < deadline, "waited 60s for the failed venue to exit"
        time.sleep(0.05)


def test_exec_venue_refuses_a_taken_directory_or_port(
    running_venue: VenueHostConfig, tmp_path: Path
) -> None:
    def paper(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(EXEC_VENUE), "paper", *options],
            capture_output=True,
            text=True,
            timeout=120,
        )

    same_dir = paper("--dir", str(running_venue.state_dir), "--port", str(free_port()))
    assert same_dir.returncode == 2
    assert f"another venue runs on {running_venue.state_dir}" in same_dir.stderr
    same_port = paper("--dir", str(tmp_path / "other"), "--port", str(running_venue.port))
    assert same_port.returncode == 2
    assert "the port is taken" in same_port.stderr
    # neither disturbed the running one
    assert VenueDir(running_venue.state_dir).running_pid() is not None
    stopped = subprocess.run(
        [str(EXEC_VENUE), "stop", "--dir", str(tmp_path / "other")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stopped.returncode == 0 and "no venue runs" in stopped.stdout


def test_a_client_without_the_key_is_refused_and_nothing_it_sent_is_loaded(
    running_venue: VenueHostConfig, tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled"
    frame = encode(("submit", _CreatesDirectory(marker)))

    with socket.create_connection(("127.0.0.1", running_venue.port), timeout=10) as raw:
        greeting = raw.recv(len(MAGIC) + 32, socket.MSG_WAITALL)
        assert greeting.startswith(MAGIC)
        raw.sendall(b"\0" * 64 + frame)  # a wrong answer, then a frame
        try:
            answer = raw.recv(1024)
        except ConnectionResetError:  # closed with the frame unread: a reset, not a FIN
            answer = b""
        assert answer == b""  # closed, and nothing came back
    assert not marker.exists()

    stranger = running_venue.model_copy(update={"state_dir": tmp_path / "stranger"})
    from live_daemon.venues.auth import load_or_create_key

    load_or_create_key(stranger.state_dir / "venue.key")  # a key, but not the venue's

    async def body() -> None:
        gateway = VenueProcessGateway(
            stranger, lambda e: None, autostart=False, start_timeout_secs=30
        )
        with pytest.raises(VenueError, match="do not share a key"):
            await gateway.start()
        owner = VenueProcessGateway(running_venue, lambda e: None, autostart=False)
        await owner.start()  # the venue still serves the one that holds its key
        try:
            assert owner.health()["venue"]["refused"] >= 2
        finally:
            await owner.stop()

    asyncio.run(body())
    assert not marker.exists()
    assert pickle.loads(frame[struct.calcsize(">I") :]) == ("submit", None)  # it was live:
    assert marker.exists()  # loading it does create the directory


def test_a_new_client_replaces_the_old_one_which_stays_away(
    running_venue: VenueHostConfig,
) -> None:
    first_connections: list[bool] = []

    async def body() -> None:
        first = VenueProcessGateway(
            running_venue, lambda e: None, on_connection=first_connections.append, autostart=False
        )
        second = VenueProcessGateway(running_venue, lambda e: None, autostart=False)
        await first.start()
        try:
            await second.start()  # a restarted daemon gets in at once
            await wait_until(lambda: first_connections == [True, False], "the first to be replaced")
            assert second.is_connected() and not first.is_connected()
            assert first.health()["replaced_by"]
            supervisor = first._supervisor
            assert supervisor is not None
            await wait_until(supervisor.done, "the replaced client to stop reconnecting")
            assert await second.order_record("nothing-here") is None
            assert second.is_connected() and first_connections == [True, False]
        finally:
            await first.stop()
            await second.stop()

    asyncio.run(body())


def test_the_daemon_process_never_loads_nautilus_trader() -> None:
    """The node lives in the venue process: the daemon's own modules stay free of it."""
    code = (
        "import sys, live_daemon.main, live_daemon.service, live_daemon.venues.process; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'nautilus_trader'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


class _CreatesDirectory:
    """Unpickling this creates a directory: the proof that a frame was (not) loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.mkdir, (str(self.path),))
