"""The stand-in over a real WebSocket on 127.0.0.1 (in-process server on an ephemeral port),
with a real ``websockets`` client; replies checked with the protocol layer's parsers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from execution_core.instruments.reference import load_reference
from live_daemon.venues.deribit import messages as m
from live_daemon.venues.deribit import protocol as p
from live_daemon.venues.deribit.standin.auth import Sessions
from live_daemon.venues.deribit.standin.config import WS_PATH, Bucket, RateLimits, StandinConfig
from live_daemon.venues.deribit.standin.engine import Exchange
from live_daemon.venues.deribit.standin.instruments import listings
from live_daemon.venues.deribit.standin.model import Touch
from live_daemon.venues.deribit.standin.record import StandinRecord
from live_daemon.venues.deribit.standin.server import StandinServer

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "deribit"
WAIT = 10.0  # seconds any single reply may take on a busy machine
TOUCH = Touch(bid=D("50000"), bid_amount=D(1000), ask=D("50000.5"), ask_amount=D(1000))


class Client:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.notes: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> p.Response | p.ErrorResponse:
        request_id = next(self.ids)
        await self.ws.send(p.dumps(p.request(request_id, method, params)))
        while True:
            frame = p.parse_frame(await asyncio.wait_for(self.ws.recv(), WAIT))
            if isinstance(frame, p.Response | p.ErrorResponse) and frame.id == request_id:
                assert frame.us_in is not None and frame.us_diff is not None
                return frame
            self.notes.append(p.loads(frame.model_dump_json(by_alias=True)))

    async def ok(self, method: str, **params: Any) -> Any:
        frame = await self.call(method, **params)
        assert isinstance(frame, p.Response), frame
        return frame.result

    async def error(self, method: str, **params: Any) -> p.ErrorBody:
        frame = await self.call(method, **params)
        assert isinstance(frame, p.ErrorResponse), frame
        return frame.error


@contextlib.asynccontextmanager
async def running(tmp_path: Path, **settings: Any) -> AsyncIterator[StandinServer]:
    config = StandinConfig(
        port=0, state_dir=tmp_path, min_heartbeat_s=0.2, client_secret="s", **settings
    )
    found = listings(load_reference(), config.instruments)
    record = StandinRecord(tmp_path / "record.sqlite")
    exchange = Exchange(found, record, lambda channel, data: None)
    exchange.set_touch("BTC-PERPETUAL", TOUCH)
    server = StandinServer(config, exchange, Sessions("paper", "s", 60, 600))
    port = await server.start()
    server.config = config.model_copy(update={"port": port})
    try:
        yield server
    finally:
        await server.close()
        record.close()


Body = Callable[[StandinServer], Awaitable[None]]


def run(tmp_path: Path, body: Body, **settings: Any) -> None:
    async def main() -> None:
        async with running(tmp_path, **settings) as venue:
            await asyncio.wait_for(body(venue), 60)

    asyncio.run(main())


async def client(venue: StandinServer, *, auth: bool = True) -> Client:
    ws = await connect(f"ws://127.0.0.1:{venue.config.port}{WS_PATH}")
    c = Client(ws)
    if auth:
        result = await c.ok(
            "public/auth", grant_type="client_credentials", client_id="paper", client_secret="s"
        )
        m.AuthResult.model_validate(result)
    return c


def test_market_buy_fills_at_the_ask_and_is_found_by_label(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        result = await c.ok(
            "private/buy", instrument_name="BTC-PERPETUAL", amount=20, type="market", label="ours-1"
        )
        parsed = m.OrderResult.model_validate(result)
        (trade,) = parsed.trades
        assert parsed.order.order_state is m.OrderState.filled and parsed.order.label == "ours-1"
        assert trade.price == D("50000.5") and trade.amount == D(20)
        assert trade.liquidity is m.Liquidity.taker and trade.fee_currency == "BTC"
        assert trade.fee == (D("0.0005") * 20 / D("50000.5")).quantize(D("0.00000001"))
        found = await c.ok("private/get_order_state_by_label", currency="BTC", label="ours-1")
        assert [m.Order.model_validate(o).order_id for o in found] == [parsed.order.order_id]
        trades = m.UserTrades.model_validate(
            await c.ok(
                "private/get_user_trades_by_instrument",
                instrument_name="BTC-PERPETUAL",
                start_seq=1,
            )
        )
        assert [t.trade_id for t in trades.trades] == [trade.trade_id]
        (position,) = await c.ok("private/get_positions", currency="BTC")
        pos = m.Position.model_validate(position)
        assert (pos.size, pos.direction, pos.average_price) == (
            D(20),
            m.PositionDirection.buy,
            D("50000.5"),
        )

    run(tmp_path, body)


def test_resting_limit_fills_when_the_book_crosses_and_is_notified(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        channels = await c.ok(
            "private/subscribe",
            channels=["user.orders.BTC-PERPETUAL.raw", "user.trades.BTC-PERPETUAL.raw"],
        )
        assert len(channels) == 2
        result = await c.ok(
            "private/sell", instrument_name="BTC-PERPETUAL", amount=10, type="limit", price=50100
        )
        order = m.OrderResult.model_validate(result).order
        assert order.order_state is m.OrderState.open
        assert [
            o["order_id"]
            for o in await c.ok(
                "private/get_open_orders_by_instrument", instrument_name="BTC-PERPETUAL"
            )
        ] == [order.order_id]
        venue.exchange.set_touch("BTC-PERPETUAL", Touch(bid=D("50150"), ask=D("50150.5")))
        state = m.Order.model_validate(
            await c.ok("private/get_order_state", order_id=order.order_id)
        )
        assert state.order_state is m.OrderState.filled and state.average_price == D(50100)
        await asyncio.sleep(0.05)  # the notifications are sent as tasks
        await c.ok("public/test")
        channels_seen = [
            n["params"]["channel"] for n in c.notes if n.get("method") == "subscription"
        ]
        assert "user.trades.BTC-PERPETUAL.raw" in channels_seen
        trade = next(
            n for n in c.notes if n["params"]["channel"] == "user.trades.BTC-PERPETUAL.raw"
        )
        (maker,) = [m.Trade.model_validate(t) for t in trade["params"]["data"]]
        assert maker.liquidity is m.Liquidity.maker and maker.price == D(50100)

    run(tmp_path, body)


def test_bad_orders_get_deribits_codes_naming_the_field(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        cases = [
            (
                {"instrument_name": "BTC-27DEC99", "amount": 10, "type": "market"},
                10020,
                "instrument_name",
            ),
            ({"instrument_name": "BTC-PERPETUAL", "amount": 15, "type": "market"}, 11029, "amount"),
            ({"instrument_name": "BTC-PERPETUAL", "amount": 10, "price": 50000.3}, 10043, "price"),
            (
                {"instrument_name": "BTC-PERPETUAL", "amount": 10, "price": 1, "label": "x" * 65},
                -32602,
                "label",
            ),
        ]
        for params, code, param in cases:
            error = await c.error("private/buy", **params)
            assert (error.code, error.data["param"]) == (code, param), params
        assert (await c.error("private/cancel", order_id="BTC-999")).code == 10004
        assert (await c.error("private/nope")).code == -32601

    run(tmp_path, body)


def test_private_methods_need_a_live_token(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        anonymous = await client(venue, auth=False)
        assert (await anonymous.error("private/get_positions", currency="BTC")).code == 13009
        bad = await anonymous.error(
            "public/auth", grant_type="client_credentials", client_id="paper", client_secret="no"
        )
        assert bad.code == 13004
        c = await client(venue)
        await c.ok("standin/set_faults", expire_tokens=True)
        assert (await c.error("private/get_positions", currency="BTC")).code == 13009

    run(tmp_path, body)


def test_too_many_requests_answers_10028_and_closes_the_session(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        await c.ok("standin/set_faults", too_many_requests=1)
        assert (await c.error("private/get_positions", currency="BTC")).code == 10028
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(c.ws.recv(), WAIT)

    run(tmp_path, body)


def test_order_dropped_after_acceptance_is_recorded_and_found_by_label(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        await c.ok("standin/set_faults", drop_after_order=1)
        await c.ws.send(
            p.dumps(
                p.request(
                    99,
                    "private/buy",
                    {
                        "instrument_name": "BTC-PERPETUAL",
                        "amount": 10,
                        "type": "market",
                        "label": "lost-reply",
                    },
                )
            )
        )
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(c.ws.recv(), WAIT)
        again = await client(venue)
        (found,) = await again.ok(
            "private/get_order_state_by_label", currency="BTC", label="lost-reply"
        )
        assert found["order_state"] == "filled"

    run(tmp_path, body)


def test_silent_connection_is_closed_after_a_missed_heartbeat(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        assert await c.ok("public/set_heartbeat", interval=0.2) == "ok"
        frame = p.parse_frame(await asyncio.wait_for(c.ws.recv(), WAIT))
        assert isinstance(frame, p.Heartbeat) and frame.params.type is p.HeartbeatType.test_request
        with pytest.raises(ConnectionClosed):  # we do not answer with public/test
            while True:
                await asyncio.wait_for(c.ws.recv(), WAIT)

    run(tmp_path, body)


def test_book_channel_sends_a_snapshot_then_chained_changes(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        channel = "book.BTC-PERPETUAL.100ms"
        assert await c.ok("public/subscribe", channels=[channel, "book.NOPE.100ms"]) == [channel]
        venue.exchange.set_touch(
            "BTC-PERPETUAL",
            Touch(bid=D("50001"), bid_amount=D(10), ask=D("50000.5"), ask_amount=D(1000)),
        )
        venue.publish_market("BTC-PERPETUAL")
        await asyncio.sleep(0.05)
        await c.ok("public/test")
        updates = [
            m.BookUpdate.model_validate(n["params"]["data"])
            for n in c.notes
            if n.get("params", {}).get("channel") == channel
        ]
        assert len(updates) == 2 and updates[0].is_snapshot
        assert updates[1].prev_change_id == updates[0].change_id
        assert (m.BookAction.new, D("50001"), D(10)) in updates[1].bids

    run(tmp_path, body)


def test_duplicated_and_reordered_notifications(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        await c.ok("private/subscribe", channels=["user.orders.BTC-PERPETUAL.raw"])
        await c.ok("standin/set_faults", duplicate_notifications=1)
        first = await c.ok(
            "private/buy",
            instrument_name="BTC-PERPETUAL",
            amount=10,
            type="limit",
            price=40000,
            label="a",
        )
        await c.ok("standin/set_faults", reorder_notifications=1)
        await c.ok(
            "private/buy",
            instrument_name="BTC-PERPETUAL",
            amount=10,
            type="limit",
            price=40000,
            label="b",
        )
        await c.ok("private/cancel", order_id=first["order"]["order_id"])
        await asyncio.sleep(0.05)
        await c.ok("public/test")
        seen = [
            (n["params"]["data"]["label"], n["params"]["data"]["order_state"])
            for n in c.notes
            if n.get("method") == "subscription"
        ]
        # "a" twice (duplicated), then the cancel of "a" before "b" was told (held back)
        assert seen == [("a", "open"), ("a", "open"), ("a", "cancelled"), ("b", "open")]

    run(tmp_path, body)


def test_dropped_before_the_order_and_a_reply_that_never_comes(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        await c.ok("standin/set_faults", drop_before_order=1)
        await c.ws.send(
            p.dumps(
                p.request(
                    50,
                    "private/buy",
                    {
                        "instrument_name": "BTC-PERPETUAL",
                        "amount": 10,
                        "type": "market",
                        "label": "never",
                    },
                )
            )
        )
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(c.ws.recv(), WAIT)
        c = await client(venue)
        assert await c.ok("private/get_order_state_by_label", currency="BTC", label="never") == []
        await c.ok("standin/set_faults", no_reply=1)
        await c.ws.send(
            p.dumps(
                p.request(
                    51,
                    "private/buy",
                    {
                        "instrument_name": "BTC-PERPETUAL",
                        "amount": 10,
                        "type": "market",
                        "label": "silent",
                    },
                )
            )
        )
        (found,) = await c.ok("private/get_order_state_by_label", currency="BTC", label="silent")
        assert found["order_state"] == "filled"  # handled, only the reply was lost
        assert not any(n.get("id") == 51 for n in c.notes)

    run(tmp_path, body)


def test_cancel_on_disconnect_cancels_open_orders(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        assert await c.ok("private/enable_cancel_on_disconnect", scope="connection") == "ok"
        placed = await c.ok(
            "private/buy", instrument_name="BTC-PERPETUAL", amount=10, type="limit", price=40000
        )
        await c.ws.close()
        other = await client(venue)
        for _ in range(100):
            state = await other.ok("private/get_order_state", order_id=placed["order"]["order_id"])
            if state["order_state"] == "cancelled":
                break
            await asyncio.sleep(0.02)
        assert (
            state["order_state"] == "cancelled" and state["cancel_reason"] == "cancel_on_disconnect"
        )

    run(tmp_path, body)


def test_order_and_trade_fields_are_those_of_deribits_documented_reply(tmp_path: Path) -> None:
    documented = p.loads((FIXTURES / "private_sell_response.json").read_text())["result"]

    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        result = await c.ok(
            "private/sell",
            instrument_name="BTC-PERPETUAL",
            amount=10,
            type="limit",
            price=49000,
            label="x",
        )
        assert set(result) == set(documented)
        assert set(result["order"]) == set(documented["order"])
        (trade,) = result["trades"]
        # "label" is Deribit's too: presented only when the order has one (not in this example)
        assert set(trade) == set(documented["trades"][0]) | {"label"}
        for key in ("amount", "price", "fee", "timestamp", "trade_seq"):
            assert type(trade[key]) in (int, D), key  # numbers, as Deribit sends them

    run(tmp_path, body)


def test_spending_the_order_credits_answers_10028_and_closes(tmp_path: Path) -> None:
    async def body(venue: StandinServer) -> None:
        c = await client(venue)
        for _ in range(2):  # a pool of two orders, refilled far slower than the test runs
            await c.ok(
                "private/buy", instrument_name="BTC-PERPETUAL", amount=10, type="limit", price=40000
            )
        error = await c.error(
            "private/buy", instrument_name="BTC-PERPETUAL", amount=10, type="limit", price=40000
        )
        assert error.code == 10028
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(c.ws.recv(), WAIT)
        assert len(venue.exchange.orders) == 2  # the refused one was never taken

    limits = RateLimits(matching_engine=Bucket(cost=1000, capacity=2000, refill_per_s=0.001))
    run(tmp_path, body, rate_limits=limits)
