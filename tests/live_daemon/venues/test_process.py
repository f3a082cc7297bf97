"""The paper venue in its own process, driven through :class:`VenueProcessGateway`."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import psutil
import pytest

from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.stores.local import LocalObjectStore
from live_daemon.venues.paper import VenueError, VenueEvent
from live_daemon.venues.process import VenueProcessGateway
from tests.live_daemon.venues import BTC_BINANCE, BTC_OKX, DEMO_DAY, publish_small_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


@pytest.fixture(scope="module")
def ticks(
    tmp_path_factory: pytest.TempPathFactory, reference: InstrumentReference
) -> LocalObjectStore:
    return publish_small_demo(tmp_path_factory.mktemp("process-demo"), reference)


async def _wait(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_orders_fill_across_the_process_boundary(ticks: LocalObjectStore) -> None:
    events: list[VenueEvent] = []

    async def body() -> None:
        gateway = VenueProcessGateway(
            ticks.url, [BTC_BINANCE, BTC_OKX], DEMO_DAY, events.append, speed=100.0
        )
        await gateway.start()
        try:
            quote = gateway.last_quote(BTC_BINANCE)  # every book is there once started
            assert quote is not None and quote[0] < quote[2]
            gateway.submit("p-1", BTC_BINANCE, "BUY", Decimal("0.01"), "MARKET", None, "NORMAL", {})
            await _wait(lambda: any(e.kind == "filled" for e in events))
            assert [e.kind for e in events] == ["accepted", "filled"]
            fill = events[1].fill
            assert fill is not None and fill.order_id == "p-1" and fill.quantity == Decimal("0.01")
            assert await gateway.order_state("p-1") == "FILLED"
            assert await gateway.order_state("never-sent") is None
            health = gateway.health()
            assert health["running"] and health["process"]["alive"]
        finally:
            await gateway.stop()
        assert not gateway.is_running
        gateway.submit("p-2", BTC_BINANCE, "BUY", Decimal("0.01"), "MARKET", None, "NORMAL", {})
        assert events[-1].kind == "rejected" and events[-1].order_id == "p-2"
        assert "not running" in events[-1].detail["reason"]

    asyncio.run(body())


def test_the_host_exits_when_the_daemon_is_gone(ticks: LocalObjectStore) -> None:
    """The connection ending (the daemon died) stops the host: it never outlives it."""

    async def body() -> None:
        gateway = VenueProcessGateway(ticks.url, [BTC_BINANCE], DEMO_DAY, lambda e: None)
        await gateway.start()
        pid = gateway.pid
        assert pid is not None and psutil.pid_exists(pid)
        gateway._channel.close()  # type: ignore[union-attr]  # as a SIGKILL of the daemon would
        process = gateway._process
        assert process is not None
        assert await asyncio.wait_for(process.wait(), 30) == 0
        await gateway.stop()

    asyncio.run(body())


def test_a_venue_that_cannot_start_says_why(tmp_path: Path) -> None:
    async def body() -> None:
        gateway = VenueProcessGateway(
            (tmp_path / "empty").as_uri(), [BTC_BINANCE], DEMO_DAY, lambda e: None
        )
        with pytest.raises(VenueError, match=r"venue process could not start: .*2024-03-01"):
            await gateway.start()
        assert gateway.pid is None

    asyncio.run(body())


def test_the_daemon_process_never_loads_nautilus_trader() -> None:
    """The node lives in the venue process: the daemon's own modules stay free of it."""
    import subprocess
    import sys

    code = (
        "import sys, live_daemon.main, live_daemon.service, live_daemon.venues.process; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'nautilus_trader'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_venue_process_that_dies_is_reported_and_orders_are_rejected(
    ticks: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[VenueEvent] = []

    async def body() -> None:
        gateway = VenueProcessGateway(ticks.url, [BTC_BINANCE], DEMO_DAY, events.append)
        await gateway.start()
        try:
            assert gateway.pid is not None
            psutil.Process(gateway.pid).kill()
            # the channel closes first; the exit itself is seen a moment later (SIGCHLD)
            await _wait(lambda: "venue_process_exited" in caplog.text)
            assert not gateway.is_running and not gateway.health()["running"]
            gateway.submit("d-1", BTC_BINANCE, "BUY", Decimal("0.01"), "MARKET", None, "NORMAL", {})
            assert [(e.kind, e.order_id) for e in events] == [("rejected", "d-1")]
        finally:
            await gateway.stop()

    with caplog.at_level("ERROR", logger="live_daemon.venues.process"):
        asyncio.run(body())
    assert "venue_process_exited" in caplog.text
