"""The paper venue gateway: a TradingNode of sandbox venues over a replayed demo day.

Each test starts its own gateway (about 0.5 s) at speed 100 over a small demo day.
Run with ``-s`` to see the measured event latencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.model.identifiers import InstrumentId

from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.stores.local import LocalObjectStore
from live_daemon.domain import Fill
from live_daemon.venues.gateway import VenueEvent, VenueOrder
from live_daemon.venues.nautilus.venue import PaperVenueGateway
from tests.live_daemon.venues import BTC_BINANCE, BTC_OKX, DEMO_DAY, ETH_BYBIT, publish_small_demo

SPEED = 100.0
KEYS = (BTC_BINANCE, BTC_OKX, ETH_BYBIT)


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


@pytest.fixture(scope="module")
def ticks(tmp_path_factory: pytest.TempPathFactory, reference: InstrumentReference) -> Any:
    return publish_small_demo(tmp_path_factory.mktemp("paper-demo"), reference)


class Recorder:
    """The ``on_event`` callback: keeps every event with its arrival time and thread."""

    def __init__(self) -> None:
        self.events: list[tuple[float, VenueEvent]] = []
        self.threads: set[int] = set()

    def __call__(self, event: VenueEvent) -> None:
        self.events.append((time.perf_counter(), event))
        self.threads.add(threading.get_ident())

    def of(self, order_id: str, kind: str | None = None) -> list[VenueEvent]:
        return [e for _, e in self.events if e.order_id == order_id and kind in (None, e.kind)]

    def time_of(self, order_id: str, kind: str) -> float:
        return next(t for t, e in self.events if e.order_id == order_id and e.kind == kind)

    def fills(self, order_id: str) -> list[Fill]:
        return [e.fill for e in self.of(order_id, "filled") if e.fill is not None]

    def final(self, order_id: str) -> bool:
        return any(
            e.kind in ("canceled", "rejected") or (e.kind == "filled" and e.detail["final"])
            for e in self.of(order_id)
        )

    async def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; events: {[e for _, e in self.events]}")
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def running_gateway(
    ticks: LocalObjectStore, reference: InstrumentReference, keys: tuple[str, ...] = KEYS
) -> AsyncIterator[tuple[PaperVenueGateway, Recorder]]:
    recorder = Recorder()
    gateway = PaperVenueGateway(
        reference, ticks, list(keys), DEMO_DAY, recorder, speed=SPEED, log_level="ERROR"
    )
    await gateway.start()
    try:
        yield gateway, recorder
    finally:
        await gateway.stop()


def test_market_buy_is_accepted_and_filled_at_the_ask(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    async def body() -> None:
        async with running_gateway(ticks, reference) as (gateway, rec):
            # The first quote is the replay's opening snapshot (the day's last quote, as if
            # yesterday had been the same day); the day's own 00:00 price follows at once
            # and may be far from it. Read the book once the replay has moved on.
            snapshot = gateway.last_quote(BTC_BINANCE)
            assert snapshot is not None
            await rec.wait(
                lambda: (q := gateway.last_quote(BTC_BINANCE)) is not None and q[4] != snapshot[4]
            )
            quote = gateway.last_quote(BTC_BINANCE)
            assert quote is not None
            bid, bid_size, ask, ask_size, ts_ns = quote
            assert bid < ask and bid_size > 0 and ask_size > 0
            assert abs(time.time_ns() - ts_ns) < 60e9  # a wall-clock stamp, not 2024
            gateway.submit(
                VenueOrder(
                    "mkt-1", BTC_BINANCE, "BUY", Decimal("0.010"), "MARKET", None, "NORMAL", {}
                )
            )
            assert rec.events == []  # never called from inside submit
            await rec.wait(lambda: rec.final("mkt-1"))

            kinds = [e.kind for e in rec.of("mkt-1")]
            assert kinds == ["accepted", "filled"]
            (fill,) = rec.fills("mkt-1")
            assert fill.order_id == "mkt-1" and fill.quantity == Decimal("0.010")
            assert abs(fill.price - ask) / ask < Decimal("0.002")  # the ask (or the next one)
            assert float(fill.fee) == pytest.approx(float(fill.quantity * fill.price) * 0.0005)
            assert fill.fee > 0 and fill.fee_currency == "USDT"
            assert fill.liquidity_side == "TAKER"
            assert abs(fill.ts.timestamp() - time.time()) < 5
            assert rec.of("mkt-1", "filled")[0].detail["final"] is True
            assert gateway.order_state("mkt-1") == "FILLED"
            assert gateway.fills("mkt-1") == [fill]
            assert gateway.order_state("never-sent") is None
            assert rec.threads == {threading.get_ident()}  # delivered on the loop
            # a market order is acknowledged by its fill: under the fill's venue order id
            # (found by the browser test of an order's timeline, which had none)
            venue_order_id = rec.of("mkt-1", "filled")[0].detail["venue_order_id"]
            assert venue_order_id
            assert rec.of("mkt-1", "accepted")[0].detail["venue_order_id"] == venue_order_id

    asyncio.run(body())


def test_twap_children_fill_under_our_order_id(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    async def body() -> None:
        async with running_gateway(ticks, reference) as (gateway, rec):
            gateway.submit(
                VenueOrder(
                    "twap-1",
                    BTC_BINANCE,
                    "BUY",
                    Decimal("0.040"),
                    "MARKET",
                    None,
                    "TWAP",
                    {"duration_sec": 2, "max_slices": 4},
                )
            )
            await rec.wait(lambda: rec.final("twap-1"), timeout=6)
            assert [e.kind for e in rec.of("twap-1", "accepted")] == ["accepted"]
            assert rec.of("twap-1", "accepted")[0].detail["exec_algorithm"] == "TWAP"
            fills = rec.of("twap-1", "filled")
            assert len(fills) == 4
            assert [e.detail["client_order_id"] for e in fills] == [
                f"twap-1-E{n}" for n in range(1, 5)
            ]
            assert all(e.fill is not None and e.fill.order_id == "twap-1" for e in fills)
            assert sum(f.quantity for f in rec.fills("twap-1")) == Decimal("0.040")
            assert [e.detail["final"] for e in fills] == [False, False, False, True]
            times = [t for t, e in rec.events if e.order_id == "twap-1" and e.kind == "filled"]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert all(0.3 < gap < 0.9 for gap in gaps), gaps  # 2 s / 4 slices
            assert gateway.order_state("twap-1") == "FILLED"

    asyncio.run(body())


def test_iceberg_is_over_when_its_window_ends(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    """An iceberg too large to fill passively within its window: at the window's end the
    working display is canceled and the order is final (canceled, with the reason),
    never left open at the venue."""

    async def body() -> None:
        async with running_gateway(ticks, reference) as (gateway, rec):
            gateway.submit(
                VenueOrder(
                    "ice-1",
                    BTC_BINANCE,
                    "BUY",
                    Decimal("5"),
                    "MARKET",
                    None,
                    "ICEBERG",
                    {"display_quantity": "0.001", "duration_sec": 1},
                )
            )
            await rec.wait(lambda: rec.final("ice-1"), timeout=6)
            (canceled,) = rec.of("ice-1", "canceled")
            assert canceled.detail["reason"] == "the ICEBERG window ended"
            filled = sum((f.quantity for f in rec.fills("ice-1")), Decimal(0))
            assert Decimal(canceled.detail["filled_quantity"]) == filled < Decimal("5")
            assert gateway.order_state("ice-1") == "CANCELED"

    asyncio.run(body())


def test_far_limit_order_works_until_canceled(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    async def body() -> None:
        async with running_gateway(ticks, reference) as (gateway, rec):
            quote = gateway.last_quote(BTC_BINANCE)
            assert quote is not None
            price = (quote[0] * Decimal("0.8")).quantize(Decimal("0.1"))
            gateway.submit(
                VenueOrder(
                    "lmt-1", BTC_BINANCE, "BUY", Decimal("0.01"), "LIMIT", price, "NORMAL", {}
                )
            )
            await rec.wait(lambda: bool(rec.of("lmt-1", "accepted")))
            await asyncio.sleep(0.3)
            assert gateway.order_state("lmt-1") == "ACCEPTED"
            assert rec.fills("lmt-1") == []
            gateway.cancel("lmt-1")
            await rec.wait(lambda: rec.final("lmt-1"))
            assert [e.kind for e in rec.of("lmt-1")] == ["accepted", "canceled"]
            assert rec.of("lmt-1", "canceled")[0].detail["filled_quantity"] == "0"
            assert gateway.order_state("lmt-1") == "CANCELED"
            gateway.cancel("lmt-1")  # again: nothing more happens
            gateway.cancel("unknown-order")
            await asyncio.sleep(0.05)
            assert len(rec.of("lmt-1")) == 2

    asyncio.run(body())


def test_bad_orders_are_rejected_events_not_exceptions(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    bad: dict[str, tuple[Any, ...]] = {
        # in the reference, but not an instrument of this gateway
        "rej-spot": (
            "BINANCE-SPOT:SPOT_PAIR:BTC-USDT",
            "BUY",
            "0.01",
            "MARKET",
            None,
            "NORMAL",
            {},
        ),
        "rej-key": ("NOT-AN-INSTRUMENT", "BUY", "0.01", "MARKET", None, "NORMAL", {}),
        "rej-lot": (BTC_BINANCE, "BUY", "0.0001", "MARKET", None, "NORMAL", {}),
        "rej-side": (BTC_BINANCE, "HOLD", "0.01", "MARKET", None, "NORMAL", {}),
        "rej-price": (BTC_BINANCE, "BUY", "0.01", "LIMIT", None, "NORMAL", {}),
        "rej-tick": (BTC_BINANCE, "BUY", "0.01", "LIMIT", Decimal("40000.05"), "NORMAL", {}),
        "rej-algo": (BTC_BINANCE, "BUY", "0.01", "MARKET", None, "TWAP", {"duration_sec": -1}),
        "rej-name": (BTC_BINANCE, "BUY", "0.01", "MARKET", None, "SNIPER", {}),
        # refused inside the node: NautilusTrader's risk engine (max quantity 1000)
        "rej-risk": (BTC_BINANCE, "BUY", "1001", "MARKET", None, "NORMAL", {}),
    }

    async def body() -> None:
        async with running_gateway(ticks, reference) as (gateway, rec):
            for order_id, (key, side, qty, kind, price, algo, params) in bad.items():
                gateway.submit(
                    VenueOrder(order_id, key, side, Decimal(qty), kind, price, algo, params)
                )
            await rec.wait(lambda: all(rec.final(order_id) for order_id in bad))
            for order_id in bad:
                events = rec.of(order_id)
                assert [e.kind for e in events] == ["rejected"], (order_id, events)
                assert events[0].detail["reason"]
                assert gateway.order_state(order_id) == "REJECTED"
            reasons = {o: rec.of(o)[0].detail["reason"] for o in bad}
            assert "not traded on this paper venue" in reasons["rej-spot"]
            assert "size increment" in reasons["rej-lot"]
            assert "duration_sec" in reasons["rej-algo"]
            assert "maximum" in reasons["rej-risk"]

            # An algorithm whose first child the risk engine refuses: accepted (by the
            # algorithm), then rejected; its remaining slices never come.
            gateway.submit(
                VenueOrder(
                    "rej-child",
                    BTC_BINANCE,
                    "BUY",
                    Decimal("4004"),
                    "MARKET",
                    None,
                    "TWAP",
                    {"duration_sec": 1, "max_slices": 4},
                )
            )
            await rec.wait(lambda: rec.final("rej-child"))
            assert [e.kind for e in rec.of("rej-child")] == ["accepted", "rejected"]
            assert "maximum" in rec.of("rej-child")[-1].detail["reason"]
            await asyncio.sleep(1.1)
            assert len(rec.of("rej-child")) == 2
            assert gateway.order_state("rej-child") == "REJECTED"

    asyncio.run(body())


def test_market_order_larger_than_the_touch_fills_as_the_book_refills(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    """On OKX, in contracts of 0.01 BTC (the venue's unit; the node works in BTC)."""

    async def body() -> None:
        async with running_gateway(ticks, reference) as (gateway, rec):
            quote = gateway.last_quote(BTC_OKX)
            assert quote is not None
            ask_size = quote[3]
            node = gateway.node
            assert node is not None
            cached = node.cache.quote_tick(InstrumentId.from_str("BTC-USDT-SWAP.OKX"))
            assert ask_size == cached.ask_size.as_decimal() / Decimal("0.01")  # contracts
            quantity = (ask_size * 3).quantize(Decimal(1))
            gateway.submit(
                VenueOrder("big-1", BTC_OKX, "BUY", quantity, "MARKET", None, "NORMAL", {})
            )
            await rec.wait(lambda: rec.final("big-1"), timeout=8)
            fills = rec.fills("big-1")
            assert len(fills) >= 2  # the touch, then the rest at the next quote
            assert sum(f.quantity for f in fills) == quantity
            assert fills[0].quantity < quantity  # the touch (of the quote then current)
            assert gateway.order_state("big-1") == "FILLED"

    asyncio.run(body())


def test_canceling_an_algorithm_stops_its_slices(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    async def body() -> None:
        async with running_gateway(ticks, reference) as (gateway, rec):
            gateway.submit(
                VenueOrder(
                    "twap-2",
                    BTC_BINANCE,
                    "SELL",
                    Decimal("0.040"),
                    "MARKET",
                    None,
                    "TWAP",
                    {"duration_sec": 1.2, "max_slices": 4},
                )
            )
            await rec.wait(lambda: bool(rec.fills("twap-2")))
            gateway.cancel("twap-2")
            await rec.wait(lambda: rec.final("twap-2"))
            (canceled,) = rec.of("twap-2", "canceled")
            filled = sum(f.quantity for f in rec.fills("twap-2"))
            assert Decimal(canceled.detail["filled_quantity"]) == filled < Decimal("0.040")
            await asyncio.sleep(1.3)  # past the remaining slices' times
            assert sum(f.quantity for f in rec.fills("twap-2")) == filled
            assert gateway.order_state("twap-2") == "CANCELED"

            # ICEBERG: limit children at the touch, one at a time; canceled while working.
            gateway.submit(
                VenueOrder(
                    "ice-1",
                    ETH_BYBIT,
                    "SELL",
                    Decimal("2.00"),
                    "LIMIT",
                    Decimal("1000.00"),
                    "ICEBERG",
                    {"display_quantity": 0.2, "limit_offset_bps": 0},
                )
            )
            await rec.wait(lambda: bool(rec.of("ice-1", "accepted")))
            node = gateway.node
            assert node is not None
            children = [
                o for o in node.cache.orders() if o.client_order_id.value.startswith("ice-1-E")
            ]
            assert len(children) == 1 and str(children[0].quantity) == "0.20"
            gateway.cancel("ice-1")
            await rec.wait(lambda: rec.final("ice-1"))
            assert rec.of("ice-1")[-1].kind in ("canceled", "filled")
            assert gateway.order_state("ice-1") in ("CANCELED", "FILLED")

    asyncio.run(body())


def test_runs_in_a_thread_of_its_own_and_stops_cleanly(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    """Started in a non-main thread's loop (as under a test client), driven from the main
    thread; afterwards no task, thread or signal handler is left behind."""
    sigint_before = signal.getsignal(signal.SIGINT)
    sigterm_before = signal.getsignal(signal.SIGTERM)
    threads_before = {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}
    recorder = Recorder()
    holder: dict[str, Any] = {}
    ready, done = threading.Event(), threading.Event()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        baseline = asyncio.all_tasks()
        gateway = PaperVenueGateway(
            reference, ticks, [BTC_BINANCE], DEMO_DAY, recorder, speed=SPEED, log_level="ERROR"
        )
        await gateway.start()
        holder["gateway"] = gateway
        ready.set()
        while not done.is_set():
            await asyncio.sleep(0.01)
        await gateway.stop()
        await gateway.stop()  # idempotent
        await asyncio.sleep(0.05)
        holder["left"] = [t for t in asyncio.all_tasks() if t not in baseline]
        holder["debug"] = loop.get_debug()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), name="gateway-loop")
    thread.start()
    assert ready.wait(30)
    gateway: PaperVenueGateway = holder["gateway"]
    gateway.submit(
        VenueOrder("thr-1", BTC_BINANCE, "BUY", Decimal("0.01"), "MARKET", None, "NORMAL", {})
    )
    deadline = time.monotonic() + 5
    while not recorder.final("thr-1") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorder.final("thr-1")
    assert recorder.threads == {thread.ident}  # delivered on the gateway's loop
    assert gateway.order_state("thr-1") == "FILLED"
    done.set()
    thread.join(10)
    assert not thread.is_alive()
    assert holder["left"] == []
    assert holder["debug"] is False
    assert signal.getsignal(signal.SIGINT) is sigint_before
    assert signal.getsignal(signal.SIGTERM) is sigterm_before
    time.sleep(0.1)
    threads_after = {t for t in threading.enumerate() if not isinstance(t, threading._DummyThread)}
    assert threads_after <= threads_before, threads_after - threads_before
    assert not gateway.is_running and gateway.order_state("thr-1") is None


def test_a_day_without_ticks_fails_to_start_with_a_data_error(
    ticks: LocalObjectStore, reference: InstrumentReference
) -> None:
    from execution_core.errors import DataError

    async def body() -> None:
        gateway = PaperVenueGateway(
            reference, ticks, [BTC_BINANCE], DEMO_DAY.replace(day=2), Recorder(), log_level="ERROR"
        )
        with pytest.raises(DataError, match="tick file missing"):
            await gateway.start()
        assert gateway.node is None and not gateway.is_running
        await gateway.stop()  # harmless

    asyncio.run(body())
