"""The Deribit adapter against the local Deribit stand-in (in-process server on an
ephemeral 127.0.0.1 port, real sockets): an order through, then faults of the stand-in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from pydantic import SecretStr

from execution_core.instruments.reference import load_reference
from live_daemon.venues.deribit.adapter import DeribitAdapter
from live_daemon.venues.deribit.config import DeribitAdapterConfig
from live_daemon.venues.deribit.standin.auth import Sessions
from live_daemon.venues.deribit.standin.config import WS_PATH, StandinConfig
from live_daemon.venues.deribit.standin.engine import Exchange
from live_daemon.venues.deribit.standin.instruments import listings
from live_daemon.venues.deribit.standin.model import Touch
from live_daemon.venues.deribit.standin.record import StandinRecord
from live_daemon.venues.deribit.standin.server import StandinServer
from live_daemon.venues.external.adapter import VenueRejected
from live_daemon.venues.gateway import VenueEvent, VenueOrder, VenueUnavailable

from .scripted import wait_until

KEY = "DERIBIT:PERPETUAL:BTC-USD@INV"
TOUCH = Touch(bid=D("50000"), bid_amount=D(1000), ask=D("50000.5"), ask_amount=D(1000))


@contextlib.asynccontextmanager
async def standin(tmp_path: Path) -> AsyncIterator[StandinServer]:
    config = StandinConfig(port=0, state_dir=tmp_path, client_secret="s")
    record = StandinRecord(tmp_path / "record.sqlite")
    server: StandinServer | None = None

    def notify(channel: str, data: object) -> None:
        if server is not None:
            server.notify(channel, data)

    exchange = Exchange(listings(load_reference(), config.instruments), record, notify)
    exchange.set_touch("BTC-PERPETUAL", TOUCH)
    server = StandinServer(config, exchange, Sessions("paper", "s", 60, 600))
    port = await server.start()
    server.config = config.model_copy(update={"port": port})
    try:
        yield server
    finally:
        await server.close()
        record.close()


def adapter_for(venue: StandinServer) -> DeribitAdapter:
    config = DeribitAdapterConfig(
        url=f"ws://127.0.0.1:{venue.config.port}{WS_PATH}",
        client_id="paper",
        client_secret=SecretStr("s"),
        instruments=[KEY],
        reconnect_initial_backoff_s=0.05,
        reconnect_max_backoff_s=0.2,
        market_data=False,
    )
    return DeribitAdapter(config)


def market(order_id: str, amount: int = 20) -> VenueOrder:
    return VenueOrder(order_id, KEY, "BUY", D(amount), "MARKET")


def test_market_order_fills_once_and_the_record_agrees(tmp_path: Path) -> None:
    async def body() -> None:
        async with standin(tmp_path) as venue:
            adapter = adapter_for(venue)
            events: list[VenueEvent] = []
            adapter.bind(events.append, lambda v, up: None)
            await adapter.connect()
            await adapter.submit_order(market("s-1"))
            await asyncio.sleep(0.2)  # let any user.* notification arrive: none may add events
            assert [e.kind.value for e in events] == ["accepted", "filled", "completed"]
            record = await adapter.get_order_state("s-1")
            assert record is not None and record.status == "FILLED"
            assert [f.fill_id for f in record.fills] == [events[1].detail["trade_id"]]
            assert await adapter.get_positions() == {KEY: D(20)}
            fills = await adapter.get_fills()
            assert [f.order_id for _, f in fills] == ["s-1"]
            await adapter.disconnect()

    asyncio.run(asyncio.wait_for(body(), 60))


@pytest.mark.parametrize("fault", ["drop_after_order", "drop_before_order"])
def test_dropped_connection_around_an_order_is_never_a_duplicate(
    tmp_path: Path, fault: str
) -> None:
    async def body() -> None:
        async with standin(tmp_path) as venue:
            adapter = adapter_for(venue)
            ups: list[bool] = []
            adapter.bind(lambda e: None, lambda v, up: ups.append(up))
            await adapter.connect()
            setattr(venue.faults, fault, 1)
            with pytest.raises(VenueUnavailable):
                await adapter.submit_order(market("d-1"))
            await wait_until(lambda: ups == [True, False, True], "the reconnect")
            record = await adapter.get_order_state("d-1")
            if fault == "drop_after_order":
                assert record is not None and record.status == "FILLED"
                assert await adapter.get_positions() == {KEY: D(20)}
            else:
                assert record is None
            await adapter.disconnect()

    asyncio.run(asyncio.wait_for(body(), 60))


def test_10028_from_the_standin_drops_the_session_then_reads_work_again(tmp_path: Path) -> None:
    async def body() -> None:
        async with standin(tmp_path) as venue:
            adapter = adapter_for(venue)
            ups: list[bool] = []
            adapter.bind(lambda e: None, lambda v, up: ups.append(up))
            await adapter.connect()
            venue.faults.too_many_requests = 1
            with pytest.raises(VenueUnavailable, match="10028"):
                await adapter.get_positions()
            await wait_until(lambda: ups == [True, False, True], "the reconnect")
            assert await adapter.get_positions() == {}
            await adapter.disconnect()

    asyncio.run(asyncio.wait_for(body(), 60))


def test_expired_token_reads_resent_orders_refused_not_resent(tmp_path: Path) -> None:
    async def body() -> None:
        async with standin(tmp_path) as venue:
            adapter = adapter_for(venue)
            await adapter.connect()
            venue.faults.expire_tokens = True
            assert await adapter.get_order_state("none") is None  # 13009, re-auth, resent
            venue.faults.expire_tokens = True
            with pytest.raises(VenueRejected, match="13009"):
                await adapter.submit_order(market("e-1"))
            assert await adapter.get_order_state("e-1") is None  # not placed, not resent
            await adapter.submit_order(market("e-2"))
            assert await adapter.get_positions() == {KEY: D(20)}
            await adapter.disconnect()

    asyncio.run(asyncio.wait_for(body(), 60))


def test_duplicated_and_reordered_notifications_of_a_resting_order(tmp_path: Path) -> None:
    async def body() -> None:
        async with standin(tmp_path) as venue:
            adapter = adapter_for(venue)
            events: list[VenueEvent] = []
            adapter.bind(events.append, lambda v, up: None)
            await adapter.connect()
            venue.faults.duplicate_notifications = 10
            venue.faults.reorder_notifications = 1  # the open notice goes after the filled one
            await adapter.submit_order(VenueOrder("r-1", KEY, "SELL", D(10), "LIMIT", D(50100)))
            venue.exchange.set_touch("BTC-PERPETUAL", Touch(bid=D("50150"), ask=D("50150.5")))
            record = await adapter.get_order_state("r-1")
            assert record is not None and record.status == "FILLED"
            await wait_until(lambda: len(events) >= 2, "the fill notification")
            await adapter.get_positions()  # a round trip: any duplicate has arrived by now
            assert [e.kind.value for e in events] == ["accepted", "filled", "completed"]
            assert events[1].fill is not None and events[1].fill.liquidity_side == "MAKER"
            tracker = adapter.execution.tracker
            assert tracker.duplicates_ignored >= 1 and tracker.stale_ignored >= 1  # faults hit
            await adapter.disconnect()

    asyncio.run(asyncio.wait_for(body(), 60))


def test_default_limits_forty_orders_at_once_none_refused(tmp_path: Path) -> None:
    """Deribit's default matching-engine limit at the stand-in (burst 20, 5/s): 40 orders
    submitted at once all pass, the adapter waiting for credits instead of a 10028."""

    async def body() -> None:
        async with standin(tmp_path) as venue:
            adapter = adapter_for(venue)
            ups: list[bool] = []
            adapter.bind(lambda e: None, lambda v, up: ups.append(up))
            await adapter.connect()
            await asyncio.gather(*(adapter.submit_order(market(f"l-{i}", 10)) for i in range(40)))
            assert ups == [True]  # never dropped
            assert adapter.limiter.matching_engine.taken == 40
            assert adapter.limiter.matching_engine.waited >= 20
            assert await adapter.get_positions() == {KEY: D(400)}
            await adapter.disconnect()

    asyncio.run(asyncio.wait_for(body(), 60))
