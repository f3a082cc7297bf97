"""Interactive Brokers wired into the daemon: settings from the environment
(``EXEC_DAEMON_INTERACTIVE_BROKERS__*``) → ``build_adapters`` → the IB adapter, the stand-in
started detached in paper mode, orders through the ``CompositeGateway``, and
``exec-venue ib start|status|stop``. Every stand-in a test starts is stopped in teardown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from live_daemon.settings import DaemonSettings
from live_daemon.venues.cli import app as exec_venue
from live_daemon.venues.composite import CompositeGateway
from live_daemon.venues.external.adapter import ExternalVenueAdapter
from live_daemon.venues.external.factories import build_adapters
from live_daemon.venues.external.registry import AdapterRegistry
from live_daemon.venues.gateway import VenueEvent, VenueEventKind, VenueOrder
from live_daemon.venues.interactive_brokers.adapter import InteractiveBrokersAdapter
from live_daemon.venues.interactive_brokers.factories import ensure_ib_standin
from live_daemon.venues.interactive_brokers.standin.matching import Book
from live_daemon.venues.interactive_brokers.standin.record import JOURNAL
from live_daemon.venues.state_dir import VenueDir

AAPL = "IB:SPOT_PAIR:AAPL-USD"
ENV = "EXEC_DAEMON_INTERACTIVE_BROKERS__"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


async def _await(what: str, check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def _stop_standin(state_dir: Path) -> None:
    """SIGTERM whatever stand-in runs on ``state_dir`` (SIGKILL if it lingers), and reap it."""
    venue_dir = VenueDir(state_dir.resolve())
    info = venue_dir.read_pid()
    if info is None:
        return
    pid = int(info["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(psutil.Error):
        try:
            psutil.Process(pid).wait(timeout=15)
        except psutil.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            psutil.Process(pid).wait(timeout=15)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # launched from this process: reap it


@pytest.fixture
def ib_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A paper daemon's IB settings in the environment: AAPL, a free port, the stand-in's
    directory in ``tmp_path`` (yielded) and its price; the stand-in stopped afterwards."""
    state_dir = tmp_path / "ib"
    monkeypatch.setenv("EXEC_DAEMON_MODE", "paper")
    monkeypatch.setenv(f"{ENV}INSTRUMENTS", json.dumps([{"key": AAPL, "con_id": 265598}]))
    monkeypatch.setenv(f"{ENV}PORT", str(_free_port()))
    monkeypatch.setenv(f"{ENV}CLIENT_ID", "11")
    monkeypatch.setenv(f"{ENV}STANDIN_DIR", str(state_dir))
    monkeypatch.setenv(f"{ENV}STANDIN_PRICES", json.dumps({"AAPL": "190.5"}))
    try:
        yield state_dir
    finally:
        _stop_standin(state_dir)


def _only_ib(adapters: list[ExternalVenueAdapter]) -> InteractiveBrokersAdapter:
    assert len(adapters) == 1 and isinstance(adapters[0], InteractiveBrokersAdapter)
    return adapters[0]


def _standin_positions(state_dir: Path) -> dict[str, Decimal]:
    """The stand-in's own positions, by symbol, from its journal (read without its lock)."""
    book = Book(prices={})
    lines = (state_dir / JOURNAL).read_text().splitlines()
    book.restore(json.loads(line) for line in lines)
    return {contract["symbol"]: qty for _, contract, qty, _ in book.positions() if qty}


def test_settings_from_the_environment_build_the_ib_adapter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [n for n in os.environ if n.startswith(ENV)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EXEC_DAEMON_MODE", "live")  # live: nothing is started
    assert DaemonSettings().interactive_brokers.instruments == []
    assert build_adapters(DaemonSettings()) == []  # IB off by default
    monkeypatch.setenv(f"{ENV}INSTRUMENTS", json.dumps([{"key": AAPL}]))
    monkeypatch.setenv(f"{ENV}STANDIN_PRICES", '{"AAPL": "190.5"}')
    settings = DaemonSettings()
    ib = settings.interactive_brokers
    assert ib.standin_prices == {"AAPL": Decimal("190.5")}
    adapter = _only_ib(build_adapters(settings))
    assert adapter.venue == "IB" and adapter.instrument_keys == [AAPL]
    cfg = adapter.config
    assert (cfg.host, cfg.port, cfg.client_id, cfg.account) == ("127.0.0.1", 7497, 1, "")
    monkeypatch.setenv(f"{ENV}INSTRUMENTS", json.dumps([{"key": "DERIBIT:SPOT_PAIR:BTC-USD"}]))
    with pytest.raises(ValueError, match="venue must be IB"):
        DaemonSettings()


def test_paper_daemon_starts_the_standin_and_trades_on_it(ib_env: Path) -> None:
    settings = DaemonSettings()
    adapter = _only_ib(build_adapters(settings))
    venue_dir = VenueDir(ib_env.resolve())
    _wait("the stand-in's pid file", lambda: venue_dir.running_pid() is not None)
    info = venue_dir.read_pid()
    assert info is not None and info["port"] == settings.interactive_brokers.port
    pid = info["pid"]
    ensure_ib_standin(settings)  # something listens now: not started twice
    assert venue_dir.running_pid() == pid

    async def body() -> None:
        events: list[VenueEvent] = []
        adapter.bind(events.append, lambda venue, up: None)
        await adapter.connect()
        try:
            order = VenueOrder("ib-wiring-1", AAPL, "BUY", Decimal(10), "MARKET", None)
            await adapter.submit_order(order)
            await _await("the fill", lambda: any(e.fill for e in events))
            record = await adapter.get_order_state("ib-wiring-1")
            assert record is not None
            assert (record.status, record.filled_quantity) == ("FILLED", Decimal(10))
            assert [(f.quantity, f.price) for f in record.fills] == [
                (Decimal(10), Decimal("190.5"))
            ]
            fills = await adapter.get_fills()
            assert [(k, f.order_id, f.fill_id) for k, f in fills] == [
                (AAPL, "ib-wiring-1", record.fills[0].fill_id)
            ]
            positions = await adapter.get_positions()
            assert positions == {AAPL: Decimal(10)}
            assert _standin_positions(ib_env) == {"AAPL": Decimal(10)}
        finally:
            await adapter.disconnect()

    asyncio.run(body())
    assert (ib_env / "venue.log").exists()  # the detached stand-in's output


def test_orders_through_the_composite_gateway(ib_env: Path) -> None:
    async def body() -> None:
        events: list[VenueEvent] = []
        gateway = CompositeGateway(
            None, AdapterRegistry(build_adapters(DaemonSettings())), events.append
        )
        assert gateway.instrument_keys == [AAPL]
        await gateway.start()
        try:
            assert gateway.is_connected(AAPL) and gateway.unavailable_reason(AAPL) is None
            gateway.submit(VenueOrder("ib-gw-1", AAPL, "SELL", Decimal(3), "LIMIT", Decimal(190)))
            await _await(
                "accepted and filled",
                lambda: (
                    {VenueEventKind.ACCEPTED, VenueEventKind.FILLED} <= {e.kind for e in events}
                ),
            )
            ours = [e for e in events if e.order_id == "ib-gw-1"]
            assert [e.kind for e in ours] == [VenueEventKind.ACCEPTED, VenueEventKind.FILLED]
            assert all(e.venue_key == AAPL for e in ours)
            fill = ours[1].fill
            assert fill is not None and (fill.quantity, fill.price) == (
                Decimal(3),
                Decimal("190.5"),
            )
            state = await gateway.venue_state()
            assert state.positions == {AAPL: Decimal(-3)}
            assert await gateway.order_state("ib-gw-1") == "FILLED"
            assert gateway.venues_health()["IB"]["connected"] is True
        finally:
            await gateway.stop()

    asyncio.run(body())
    assert _standin_positions(ib_env) == {"AAPL": Decimal(-3)}


def test_exec_venue_ib_start_status_stop(tmp_path: Path) -> None:
    runner = CliRunner()
    state_dir, port = tmp_path / "ib", _free_port()
    try:
        started = runner.invoke(
            exec_venue,
            ["ib", "start", "--port", str(port), "--dir", str(state_dir), "--price", "AAPL=190.5"],
        )
        assert started.exit_code == 0, started.output
        info = json.loads(started.stdout)  # stdout only: a log line may go to stderr
        assert info["port"] == port and psutil.pid_exists(info["pid"])
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # it listens
        again = runner.invoke(
            exec_venue, ["ib", "start", "--port", str(port), "--dir", str(state_dir)]
        )
        assert again.exit_code == 2 and "already running" in again.output
        status = runner.invoke(exec_venue, ["ib", "status", "--dir", str(state_dir)])
        assert status.exit_code == 0 and json.loads(status.stdout)["pid"] == info["pid"]
        stopped = runner.invoke(exec_venue, ["ib", "stop", "--dir", str(state_dir)])
        assert stopped.exit_code == 0 and "stopped" in stopped.output, stopped.output
        with contextlib.suppress(ChildProcessError):
            os.waitpid(info["pid"], 0)
        after = runner.invoke(exec_venue, ["ib", "status", "--dir", str(state_dir)])
        assert after.exit_code == 1 and "no stand-in runs" in after.output
        bad = runner.invoke(exec_venue, ["ib", "start", "--dir", str(state_dir), "--price", "AAPL"])
        assert bad.exit_code == 2 and "KEY=PRICE" in bad.output
    finally:
        _stop_standin(state_dir)
