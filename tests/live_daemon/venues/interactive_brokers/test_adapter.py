"""The IB adapter against the stand-in over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from live_daemon.venues.external.adapter import VenueRejected
from live_daemon.venues.gateway import (
    VenueError,
    VenueEvent,
    VenueEventKind,
    VenueOrder,
    VenueUnavailable,
)
from live_daemon.venues.interactive_brokers.adapter import InteractiveBrokersAdapter
from live_daemon.venues.interactive_brokers.config import IBAdapterConfig, IBInstrument
from live_daemon.venues.interactive_brokers.standin.server import StandInServer

AAPL = "IB:SPOT_PAIR:AAPL-USD"
ES = "IB:FUTURE:ES-USD-20250321"
PRICES = {"AAPL": Decimal("190.5"), "ES:20250321": Decimal("6000.25")}


def _config(port: int, **kw: object) -> IBAdapterConfig:
    return IBAdapterConfig(
        port=port,
        client_id=7,
        instruments=[
            IBInstrument(key=AAPL, con_id=265598),
            IBInstrument(key=ES, exchange="CME", multiplier="50"),
        ],
        connect_timeout_s=5,
        start_timeout_s=20,
        request_timeout_s=5,
        submit_timeout_s=5,
        reconnect_initial_s=0.05,
        reconnect_max_s=0.5,
        **kw,  # type: ignore[arg-type]
    )


class Recorder:
    def __init__(self) -> None:
        self.events: list[VenueEvent] = []
        self.connections: list[bool] = []

    def kinds(self, order_id: str) -> list[str]:
        return [e.kind.value for e in self.events if e.order_id == order_id]

    async def wait(self, what: str, check: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}: {self.events}"
                )
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def _venue(
    tmp_path: Path, **config: object
) -> AsyncIterator[tuple[StandInServer, InteractiveBrokersAdapter, Recorder]]:
    server = StandInServer(tmp_path / "ib", PRICES)
    await server.start()
    rec = Recorder()
    ad = InteractiveBrokersAdapter(_config(server.port, **config))
    ad.bind(rec.events.append, lambda venue, up: rec.connections.append(up))
    try:
        await ad.connect()
        yield server, ad, rec
    finally:
        await ad.disconnect()
        await server.stop()


def _run(body: Coroutine[Any, Any, None]) -> None:
    asyncio.run(body)


def _order(
    oid: str, side: str = "BUY", qty: str = "10", price: str | None = None, key: str = AAPL
) -> VenueOrder:
    return VenueOrder(
        oid,
        key,
        side,
        Decimal(qty),
        "LIMIT" if price else "MARKET",
        Decimal(price) if price else None,
    )


def test_market_order_fills_with_its_commission(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue(tmp_path) as (_, ad, rec):
            assert rec.connections == [True] and ad.is_connected()
            await ad.submit_order(_order("o-1"))
            await rec.wait("the fill", lambda: "filled" in rec.kinds("o-1"))
            accepted = next(e for e in rec.events if e.kind is VenueEventKind.ACCEPTED)
            assert accepted.order_id == "o-1" and accepted.venue_key == AAPL
            assert int(accepted.detail["venue_order_id"]) > 0
            fill = next(e.fill for e in rec.events if e.kind is VenueEventKind.FILLED)
            assert fill is not None
            assert (fill.order_id, fill.quantity, fill.price) == (
                "o-1",
                Decimal(10),
                Decimal("190.5"),
            )
            assert (fill.fee, fill.fee_currency, fill.liquidity_side) == (
                Decimal(1),
                "USD",
                "TAKER",
            )
            assert await ad.get_positions() == {AAPL: Decimal(10)}
            record = await ad.get_order_state("o-1")
            assert record is not None
            assert (record.status, record.filled_quantity, record.side) == (
                "FILLED",
                Decimal(10),
                "BUY",
            )
            assert [f.fee for f in record.fills] == [Decimal(1)]
            assert [(k, f.fill_id) for k, f in await ad.get_fills()] == [(AAPL, fill.fill_id)]
            assert await ad.get_order_state("nope") is None

    _run(body())


def test_limit_orders_rest_fill_when_marketable_and_cancel(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue(tmp_path) as (standin, ad, rec):
            await ad.submit_order(_order("far", price="180", qty="5"))
            await ad.submit_order(_order("near", side="SELL", price="190", qty="3"))  # marketable
            await ad.submit_order(_order("later", price="185", qty="2", key=ES))
            await rec.wait("the marketable fill", lambda: "filled" in rec.kinds("near"))
            assert {r.order_id for r in await ad.get_open_orders()} == {"far", "later"}
            await ad.cancel_order("far")
            await rec.wait("the cancel", lambda: "canceled" in rec.kinds("far"))
            standin.set_price("ES:20250321", Decimal("184"))
            await rec.wait("the resting fill", lambda: "filled" in rec.kinds("later"))
            maker = next(e.fill for e in rec.events if e.order_id == "later" and e.fill)
            assert maker is not None and (maker.price, maker.liquidity_side) == (
                Decimal(185),
                "MAKER",
            )
            assert rec.kinds("far") == ["accepted", "canceled"]
            assert await ad.get_open_orders() == []
            far = await ad.get_order_state("far")
            assert far is not None and far.status == "CANCELED"
            assert await ad.get_positions() == {AAPL: Decimal(-3), ES: Decimal(2)}
            await ad.cancel_order("far")  # no longer open: not an error

    _run(body())


def test_rejections_name_the_reason(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue(tmp_path) as (_, ad, rec):
            opt = "IB:OPTION:AAPL-USD-150-20250117-C"
            with pytest.raises(VenueRejected, match="not configured"):
                await ad.submit_order(_order("bad-key", key=opt))
            with pytest.raises(VenueRejected, match="quantity"):
                await ad.submit_order(_order("bad-qty", qty="0"))
            ad._contracts = type(ad._contracts)([IBInstrument(key=opt, multiplier="100")])
            with pytest.raises(VenueRejected, match="201") as err:
                await ad.submit_order(_order("no-price", key=opt))
            assert err.value.code == 201 and "no market price" in str(err.value)
            assert rec.kinds("no-price") == ["rejected"]
            record = await ad.get_order_state("no-price")
            assert (
                record is not None
                and record.status == "REJECTED"
                and "no market price" in (record.reason or "")
            )

    _run(body())


def test_resubmit_after_reconnect_finds_the_order_by_ref(tmp_path: Path) -> None:
    _run(_resubmit(tmp_path))


async def _resubmit(tmp_path: Path) -> None:
    standin = StandInServer(tmp_path / "ib", PRICES)
    await standin.start()
    rec = Recorder()
    ad = InteractiveBrokersAdapter(_config(standin.port))
    ad.bind(rec.events.append, lambda venue, up: rec.connections.append(up))
    await ad.connect()
    await ad.submit_order(_order("keep", price="100"))
    await ad.disconnect()
    fresh = InteractiveBrokersAdapter(_config(standin.port))  # a restarted daemon
    fresh.bind(rec.events.append, lambda venue, up: None)
    await fresh.connect()
    try:
        record = await fresh.get_order_state("keep")
        assert record is not None and record.status == "ACCEPTED"
        await fresh.submit_order(_order("keep", price="100"))  # found by orderRef: not sent
        assert len(standin.book.orders) == 1
    finally:
        await fresh.disconnect()
        await standin.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(state_dir: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "live_daemon.venues.interactive_brokers.standin",
           "--state-dir", str(state_dir), "--port", str(port), "--price", "AAPL=190.5"]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_standin_process_killed_and_restarted_keeps_its_record(tmp_path: Path) -> None:
    _run(_killed(tmp_path))


async def _killed(tmp_path: Path) -> None:
    port = _free_port()
    proc = _spawn(tmp_path / "ib", port)
    rec = Recorder()
    ad = InteractiveBrokersAdapter(_config(port))
    ad.bind(rec.events.append, lambda venue, up: rec.connections.append(up))
    try:
        await ad.connect()
        await ad.submit_order(_order("before", qty="4"))
        await ad.submit_order(_order("resting", price="150"))
        await rec.wait("the fill", lambda: "filled" in rec.kinds("before"))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        await rec.wait("the disconnection", lambda: rec.connections[-1] is False)
        with pytest.raises(VenueUnavailable):
            await ad.get_order_state("before")
        proc = _spawn(tmp_path / "ib", port)
        await rec.wait("the reconnection", lambda: rec.connections[-1] is True, timeout=30)
        before = await ad.get_order_state("before")
        assert before is not None and before.status == "FILLED"
        assert [f.fee for f in before.fills] == [Decimal(1)]
        assert [r.order_id for r in await ad.get_open_orders()] == ["resting"]
        assert await ad.get_positions() == {AAPL: Decimal(4)}
        await ad.submit_order(_order("after", qty="1"))
        await rec.wait("the new fill", lambda: "filled" in rec.kinds("after"))
        fill_ids = [f.fill_id for _, f in await ad.get_fills()]
        assert len(fill_ids) == len(set(fill_ids)) == 2
    finally:
        await ad.disconnect()
        proc.terminate()
        proc.wait(timeout=10)


def test_a_fill_while_disconnected_is_told_after_the_reconnect(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue(tmp_path) as (standin, ad, rec):
            await ad.submit_order(_order("rest", price="180"))
            await standin.stop()  # the venue goes away; it comes back with the price moved
            await rec.wait("the disconnection", lambda: rec.connections[-1] is False)
            moved = StandInServer(tmp_path / "ib", {"AAPL": Decimal(179)}, port=standin.port)
            await moved.start()  # the resting order fills at once, nobody connected
            try:
                await rec.wait("the fill", lambda: "filled" in rec.kinds("rest"), timeout=30)
                assert rec.connections == [True, False, True]
                assert rec.kinds("rest") == ["accepted", "filled"]
                fill = next(e.fill for e in rec.events if e.fill)
                assert (fill.price, fill.fee, fill.liquidity_side) == (
                    Decimal(180),
                    Decimal(1),
                    "MAKER",
                )
            finally:
                await moved.stop()

    _run(body())


def test_connect_gives_up_saying_what_it_waited_for_and_keeps_trying(tmp_path: Path) -> None:
    async def body() -> None:
        port = _free_port()
        ad = InteractiveBrokersAdapter(_cfg(port))
        ups: list[bool] = []
        ad.bind(lambda e: None, lambda venue, up: ups.append(up))
        try:
            with pytest.raises(VenueError, match=f"127.0.0.1:{port}.*not connected"):
                await ad.connect()
            with pytest.raises(VenueUnavailable, match="not connected"):
                await ad.submit_order(_order("x"))
            server = StandInServer(tmp_path / "ib", PRICES, port=port)
            await server.start()  # the venue comes up: the adapter gets in by itself
            try:
                await Recorder().wait("the connection", lambda: ups == [True], timeout=30)
            finally:
                await server.stop()
        finally:
            await ad.disconnect()

    _run(body())


def _cfg(port: int) -> IBAdapterConfig:
    return _config(port).model_copy(update={"start_timeout_s": 0.3})


def test_every_instrument_with_a_con_id_is_quoted_from_the_connection_on(
    tmp_path: Path,
) -> None:
    """What the router prices an IB order from: no subscription asked for (found by the
    daemon's first IB order, which no venue could price)."""

    async def body() -> None:
        async with _venue(tmp_path) as (_, ad, rec):
            await rec.wait("AAPL's first quote", lambda: ad.last_quote(AAPL) is not None)
            quote = ad.last_quote(AAPL)
            assert quote is not None and quote[0] == Decimal("190.5")
            assert ad.last_quote(ES) is None  # no con_id configured: not subscribed

    _run(body())


def test_quotes_come_from_market_data_and_follow_the_price(tmp_path: Path) -> None:
    async def body() -> None:
        async with _venue(tmp_path, market_data=False) as (standin, ad, rec):
            assert ad.last_quote(AAPL) is None
            await ad.subscribe_market_data([AAPL])
            await rec.wait("a quote", lambda: ad.last_quote(AAPL) is not None)
            quote = ad.last_quote(AAPL)
            assert quote is not None and quote[:4] == (
                Decimal("190.5"), Decimal(100), Decimal("190.5"), Decimal(100),
            )  # fmt: skip
            standin.set_price("AAPL", Decimal("191.25"))

            def moved() -> bool:
                q = ad.last_quote(AAPL)
                return q is not None and q[0] == Decimal("191.25")

            await rec.wait("the new quote", moved)
            with pytest.raises(ValueError, match="not configured"):
                await ad.subscribe_market_data(["IB:SPOT_PAIR:MSFT-USD"])
            with pytest.raises(ValueError, match="con_id"):
                await ad.subscribe_market_data([ES])

    _run(body())
