"""The Deribit adapter against a scripted venue on 127.0.0.1 (real sockets): auth, refresh,
re-auth on 13009, heartbeats, the label, lost replies, 10028, reconnects, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr
from websockets.asyncio.server import ServerConnection

from live_daemon.venues.deribit.adapter import DeribitAdapter
from live_daemon.venues.deribit.config import CreditLimit, DeribitAdapterConfig
from live_daemon.venues.external.adapter import VenueRejected
from live_daemon.venues.gateway import (
    VenueError,
    VenueEvent,
    VenueEventKind,
    VenueOrder,
    VenueUnavailable,
)

from .scripted import ScriptedVenue, order, trade, wait_until

KEY = "DERIBIT:PERPETUAL:BTC-USD@INV"


def adapter_for(venue: ScriptedVenue, **settings: Any) -> DeribitAdapter:
    settings.setdefault("reconnect_initial_backoff_s", 0.05)
    settings.setdefault("reconnect_max_backoff_s", 0.2)
    settings.setdefault("request_timeout_s", 5.0)
    config = DeribitAdapterConfig(
        url=venue.url,
        client_id="id",
        client_secret=SecretStr("secret"),
        instruments=[KEY],
        **settings,
    )
    return DeribitAdapter(config)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), 60))


def limit_order(order_id: str, quantity: str = "100", price: str = "50000.5") -> VenueOrder:
    return VenueOrder(order_id, KEY, "BUY", Decimal(quantity), "LIMIT", Decimal(price))


class Recorder:
    def __init__(self, adapter: DeribitAdapter) -> None:
        self.events: list[VenueEvent] = []
        self.connection: list[bool] = []
        adapter.bind(self.events.append, lambda venue, up: self.connection.append(up))

    def kinds(self, order_id: str) -> list[str]:
        return [e.kind.value for e in self.events if e.order_id == order_id]


def test_connects_authenticates_sets_heartbeat_and_subscribes() -> None:
    async def body() -> None:
        async with ScriptedVenue() as venue:
            adapter = adapter_for(venue)
            rec = Recorder(adapter)
            await adapter.connect()
            assert adapter.is_connected() and rec.connection == [True]
            (auth,) = venue.methods("public/auth")
            assert auth["params"] == {
                "grant_type": "client_credentials",
                "client_id": "id",
                "client_secret": "secret",
            }
            assert venue.methods("public/set_heartbeat")[0]["params"] == {"interval": 10}
            channels = venue.methods("private/subscribe")[0]["params"]["channels"]
            assert set(channels) == {
                "user.orders.BTC-PERPETUAL.raw",
                "user.trades.BTC-PERPETUAL.raw",
                "book.BTC-PERPETUAL.100ms",
                "ticker.BTC-PERPETUAL.100ms",
            }
            await adapter.disconnect()
            assert rec.connection == [True, False]

    run(body)


def test_token_is_refreshed_before_it_expires() -> None:
    async def body() -> None:
        async with ScriptedVenue(expires_in=1) as venue:
            adapter = adapter_for(venue)
            await adapter.connect()
            await wait_until(
                lambda: any(
                    r["params"].get("grant_type") == "refresh_token"
                    for r in venue.methods("public/auth")
                ),
                "a refresh_token grant",
            )
            refresh = next(
                r
                for r in venue.methods("public/auth")
                if r["params"]["grant_type"] == "refresh_token"
            )
            assert refresh["params"]["refresh_token"] == "r1"
            await adapter.disconnect()

    run(body)


def test_heartbeat_test_request_is_answered_with_public_test() -> None:
    async def body() -> None:
        async with ScriptedVenue() as venue:
            adapter = adapter_for(venue)
            await adapter.connect()
            ws = venue.connections[-1]
            await ws.send('{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"test_request"}}')
            await wait_until(lambda: len(venue.methods("public/test")) == 1, "public/test")
            await adapter.disconnect()

    run(body)


def test_label_travels_and_accepted_names_the_venue_order_id() -> None:
    async def body() -> None:
        async with ScriptedVenue() as venue:
            adapter = adapter_for(venue)
            rec = Recorder(adapter)
            await adapter.connect()
            await adapter.submit_order(limit_order("ord-1"))
            (buy,) = venue.methods("private/buy")
            assert buy["params"]["label"] == "ord-1"
            assert buy["params"]["amount"] == 100 and buy["params"]["price"] == 50000.5
            assert buy["params"]["type"] == "limit"
            (accepted,) = rec.events
            assert accepted.kind is VenueEventKind.ACCEPTED
            assert accepted.detail["venue_order_id"] == "BTC-1"
            record = await adapter.get_order_state("ord-1")
            assert record is not None and record.status == "ACCEPTED"
            assert await adapter.get_order_state("never-sent") is None
            await adapter.cancel_order("ord-1")
            assert rec.kinds("ord-1") == ["accepted", "canceled"]
            await adapter.disconnect()

    run(body)


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (limit_order("a", quantity="15"), "quantity"),
        (limit_order("b", quantity="100.5"), "quantity"),
        (limit_order("c", price="50000.3"), "price"),
        (
            VenueOrder("d", "DERIBIT:PERPETUAL:ETH-USD@INV", "BUY", Decimal(1), "MARKET"),
            "venue_key",
        ),
    ],
)
def test_bad_input_is_refused_before_sending_naming_the_field(
    order: VenueOrder, field: str
) -> None:
    async def body() -> None:
        async with ScriptedVenue() as venue:
            adapter = adapter_for(venue)
            rec = Recorder(adapter)
            await adapter.connect()
            with pytest.raises(VenueRejected, match=field):
                await adapter.submit_order(order)
            assert venue.methods("private/buy") == []
            (rejected,) = rec.events
            assert rejected.kind is VenueEventKind.REJECTED and field in rejected.detail["reason"]
            await adapter.disconnect()

    run(body)


def test_deribit_error_becomes_a_rejection_naming_the_code() -> None:
    async def refuse(v: ScriptedVenue, ws: ServerConnection, req: dict[str, Any]) -> bool:
        if req["method"] == "private/buy":
            await v.error(ws, req["id"], 10009, "not_enough_funds")
            return True
        return False

    async def body() -> None:
        async with ScriptedVenue() as venue:
            venue.handlers.append(refuse)
            adapter = adapter_for(venue)
            rec = Recorder(adapter)
            await adapter.connect()
            with pytest.raises(VenueRejected, match="10009 not_enough_funds") as info:
                await adapter.submit_order(limit_order("x"))
            assert info.value.code == 10009
            assert rec.kinds("x") == ["rejected"]
            assert "10009" in rec.events[0].detail["reason"]
            await adapter.disconnect()

    run(body)


def test_lost_reply_raises_unavailable_and_is_not_resent() -> None:
    async def drop(v: ScriptedVenue, ws: ServerConnection, req: dict[str, Any]) -> bool:
        if req["method"] == "private/buy":
            v.orders[req["params"]["label"]] = order(req["params"]["label"], oid="BTC-9")
            await ws.close()  # the venue took it; the reply is lost with the connection
            return True
        return False

    async def body() -> None:
        async with ScriptedVenue() as venue:
            venue.handlers.append(drop)
            adapter = adapter_for(venue)
            rec = Recorder(adapter)
            await adapter.connect()
            with pytest.raises(VenueUnavailable, match="private/buy"):
                await adapter.submit_order(limit_order("lost-1"))
            await wait_until(lambda: rec.connection == [True, False, True], "the reconnect")
            record = await adapter.get_order_state("lost-1")  # found by its label
            assert record is not None and record.order_id == "lost-1"
            assert len(venue.methods("private/buy")) == 1
            await adapter.disconnect()

    run(body)


def test_reply_timeout_raises_unavailable_and_is_not_resent() -> None:
    async def silent(v: ScriptedVenue, ws: ServerConnection, req: dict[str, Any]) -> bool:
        return req["method"] == "private/buy"

    async def body() -> None:
        async with ScriptedVenue() as venue:
            venue.handlers.append(silent)
            adapter = adapter_for(venue, request_timeout_s=0.3)
            await adapter.connect()
            with pytest.raises(VenueUnavailable, match=r"no answer .* private/buy"):
                await adapter.submit_order(limit_order("slow-1"))
            assert len(venue.methods("private/buy")) == 1
            await adapter.disconnect()

    run(body)


def test_10028_drops_the_session_and_the_adapter_reconnects_and_resubscribes() -> None:
    async def throttle(v: ScriptedVenue, ws: ServerConnection, req: dict[str, Any]) -> bool:
        if req["method"] == "private/get_positions":
            await v.error(ws, req["id"], 10028, "too_many_requests")
            await ws.close()
            return True
        return False

    async def body() -> None:
        async with ScriptedVenue() as venue:
            venue.handlers.append(throttle)
            adapter = adapter_for(venue)
            rec = Recorder(adapter)
            await adapter.connect()
            with pytest.raises(VenueUnavailable, match="10028"):
                await adapter.get_positions()
            await wait_until(lambda: rec.connection == [True, False, True], "the reconnect")
            assert len(venue.methods("public/auth")) == 2
            subs = venue.methods("private/subscribe")
            assert len(subs) == 2 and subs[0]["params"] == subs[1]["params"]
            assert len(venue.connections) == 2
            await adapter.disconnect()

    run(body)


def test_13009_reauthenticates_and_resends_reads_once_never_orders() -> None:
    expired = {"private/get_order_state_by_label": 1, "private/buy": 1}

    async def expire(v: ScriptedVenue, ws: ServerConnection, req: dict[str, Any]) -> bool:
        if expired.get(req["method"], 0) > 0:
            expired[req["method"]] -= 1
            await v.error(ws, req["id"], 13009, "unauthorized")
            return True
        return False

    async def body() -> None:
        async with ScriptedVenue() as venue:
            venue.handlers.append(expire)
            adapter = adapter_for(venue)
            await adapter.connect()
            assert await adapter.get_order_state("nope") is None  # read resent after re-auth
            assert len(venue.methods("private/get_order_state_by_label")) == 2
            assert len(venue.methods("public/auth")) == 2
            with pytest.raises(VenueRejected, match="13009"):
                await adapter.submit_order(limit_order("o-13009"))
            assert len(venue.methods("private/buy")) == 1  # never resent
            assert len(venue.methods("public/auth")) == 3
            await adapter.submit_order(limit_order("o-next"))  # the session works again
            await adapter.disconnect()

    run(body)


def test_duplicated_and_out_of_order_notifications() -> None:
    async def body() -> None:
        async with ScriptedVenue() as venue:
            adapter = adapter_for(venue)
            rec = Recorder(adapter)
            await adapter.connect()
            await adapter.submit_order(limit_order("n-1"))
            ws = venue.connections[-1]
            tr = trade("n-1", "T-1", amount=100)
            await venue.notify(ws, "user.trades.BTC-PERPETUAL.raw", [tr])
            await venue.notify(ws, "user.trades.BTC-PERPETUAL.raw", [tr])  # duplicate
            await venue.notify(
                ws, "user.orders.BTC-PERPETUAL.raw", order("n-1", "filled", filled=100)
            )
            await venue.notify(ws, "user.orders.BTC-PERPETUAL.raw", order("n-1", "open"))  # stale
            await venue.notify(ws, "user.orders.BTC-PERPETUAL.raw", order("n-1", "cancelled"))
            await venue.notify(
                ws,
                "ticker.BTC-PERPETUAL.100ms",
                {
                    "instrument_name": "BTC-PERPETUAL",
                    "timestamp": 5,
                    "best_bid_price": 50000,
                    "best_bid_amount": 1000,
                    "best_ask_price": 50000.5,
                    "best_ask_amount": 2000,
                },
            )
            await wait_until(lambda: adapter.last_quote(KEY) is not None, "the ticker")
            assert rec.kinds("n-1") == ["accepted", "filled", "completed"]
            fill = rec.events[1].fill
            assert fill is not None and fill.fill_id == "T-1" and fill.quantity == 100
            assert fill.liquidity_side == "TAKER" and fill.fee_currency == "BTC"
            assert adapter.last_quote(KEY) == (
                Decimal(50000),
                Decimal(1000),
                Decimal("50000.5"),
                Decimal(2000),
                5_000_000,
            )
            await adapter.disconnect()

    run(body)


def test_rate_limiter_keeps_under_the_venue_limit() -> None:
    """The venue keeps its own bucket (burst 5, 20/s) and refuses with 10028 when empty;
    40 orders sent as fast as the adapter lets them all pass, and most had to wait."""
    venue_limit = CreditLimit(max_credits=5, refill_per_s=20, cost=1)
    limit = CreditLimit(max_credits=5, refill_per_s=20, cost=1, headroom_requests=2)

    async def body() -> None:
        async with ScriptedVenue() as venue:
            from live_daemon.venues.deribit.rate_limit import CreditBucket

            server_bucket = CreditBucket(venue_limit.model_copy(update={"headroom_requests": 0}))
            refused: list[str] = []

            async def police(v: ScriptedVenue, ws: ServerConnection, req: dict[str, Any]) -> bool:
                if req["method"] == "private/buy" and not server_bucket.try_take():
                    refused.append(req["params"]["label"])
                    await v.error(ws, req["id"], 10028, "too_many_requests")
                    return True
                return False

            venue.handlers.append(police)
            adapter = adapter_for(venue, matching_engine_limit=limit)
            await adapter.connect()
            await asyncio.gather(*(adapter.submit_order(limit_order(f"r-{i}")) for i in range(40)))
            assert refused == []
            assert len(venue.methods("private/buy")) == 40
            assert adapter.limiter.matching_engine.taken == 40
            assert adapter.limiter.matching_engine.waited >= 30  # the client's burst is 3
            await adapter.disconnect()

    run(body)


def test_connect_gives_up_naming_what_it_waited_for_and_keeps_trying() -> None:
    async def body() -> None:
        async with ScriptedVenue() as venue:
            url_port = venue.port
        config = DeribitAdapterConfig(
            url=f"ws://127.0.0.1:{url_port}/ws/api/v2",
            client_id="id",
            client_secret=SecretStr("s"),
            instruments=[KEY],
            start_timeout_s=0.5,
            reconnect_initial_backoff_s=0.05,
            reconnect_max_backoff_s=0.1,
        )
        adapter = DeribitAdapter(config)
        with pytest.raises(VenueError, match=r"no authenticated session within 0\.5 s"):
            await adapter.connect()
        await adapter.disconnect()

    run(body)


def test_market_data_subscribed_later_and_a_book_gap_resubscribes() -> None:
    async def body() -> None:
        async with ScriptedVenue() as venue:
            adapter = adapter_for(venue, market_data=False)
            await adapter.connect()
            (first,) = venue.methods("private/subscribe")
            assert not any(c.startswith("book.") for c in first["params"]["channels"])
            await adapter.subscribe_market_data([KEY])
            later = venue.methods("private/subscribe")[1]["params"]["channels"]
            assert later == ["book.BTC-PERPETUAL.100ms", "ticker.BTC-PERPETUAL.100ms"]
            with pytest.raises(ValueError, match="venue_keys"):
                await adapter.subscribe_market_data(["DERIBIT:PERPETUAL:ETH-USD@INV"])
            ws = venue.connections[-1]
            book = {"instrument_name": "BTC-PERPETUAL", "timestamp": 1, "change_id": 1}
            await venue.notify(
                ws, later[0], {**book, "bids": [["new", 100, 5]], "asks": [["new", 101, 5]]}
            )
            gap = {**book, "change_id": 5, "prev_change_id": 4, "bids": [], "asks": []}
            await venue.notify(ws, later[0], gap)
            await wait_until(
                lambda: len(venue.methods("private/subscribe")) == 3, "the book resubscription"
            )
            assert venue.methods("private/unsubscribe")[0]["params"]["channels"] == [later[0]]
            assert adapter.last_quote(KEY) == (Decimal(100), 5, Decimal(101), 5, 1_000_000)
            await adapter.disconnect()

    run(body)
