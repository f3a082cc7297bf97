"""The daemon runs TWAP, VWAP and ICEBERG for an external venue (AlgorithmRunner): children
as plain NORMAL orders ``{parent}.{n}`` at the schedule's times, on the venue's size
grid; the parent's events only (accepted once, a fill per child fill, completed once, or
canceled/rejected saying what was unfilled); through the CompositeGateway the OMS sees
parents only; and on the local Deribit venue the children are labelled orders."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from execution_core.algorithms import parse_algorithm, schedule_for
from live_daemon.domain import Fill
from live_daemon.operations import Operation, TimeInForce, VenueCapabilities, VenueType
from live_daemon.venues.composite import CompositeGateway
from live_daemon.venues.external.adapter import ExternalVenueAdapter, VenueRejected
from live_daemon.venues.external.algorithms import (
    MAX_CHILD_ID,
    MAX_CHILDREN,
    AlgorithmRunner,
    child_order_id,
    orphan_child_event,
    parent_order_id,
    runs_in_daemon,
)
from live_daemon.venues.external.registry import AdapterRegistry
from live_daemon.venues.gateway import (
    Quote,
    VenueEvent,
    VenueEventKind,
    VenueOrder,
    VenueOrderRecord,
    VenueUnavailable,
)

KEY = "DERIBIT:PERPETUAL:BTC-USD@INV"
PARENT = "ORD-01JAXQ5V8M3N4P6R7S9T0VWXYZ"
PRICE = D("50000")
T0 = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)


# -- a fake clock ---------------------------------------------------------------------------------


class FakeClock:
    """``now`` moves only when the test says so; ``sleep`` waits for it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, secs: float) -> None:
        entry = (self.now + secs, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self._sleepers.remove(entry)

    def next_due(self) -> float | None:
        due = [t for t, f in self._sleepers if not f.done()]
        return min(due) if due else None

    async def advance_to(self, when: float) -> None:
        self.now = max(self.now, when)
        for due, future in list(self._sleepers):
            if due <= self.now and not future.done():
                future.set_result(None)
        await settle()


async def settle() -> None:
    for _ in range(30):
        await asyncio.sleep(0)


async def run_out(clock: FakeClock, task: asyncio.Task[None], until: float | None = None) -> None:
    """Move the clock from one wake-up to the next until ``task`` ends (or ``until``)."""
    for _ in range(1000):
        await settle()
        if task.done():
            return
        due = clock.next_due()
        assert due is not None, "the runner waits for nothing the clock can bring"
        if until is not None and due > until:
            await clock.advance_to(until)
            return
        await clock.advance_to(due)
    raise AssertionError("the runner never ended")


# -- a fake external venue ------------------------------------------------------------------------


@dataclass
class _Order:
    order: VenueOrder
    status: str = "ACCEPTED"
    fills: list[Fill] = field(default_factory=list)

    @property
    def filled(self) -> D:
        return sum((f.quantity for f in self.fills), D(0))

    def record(self) -> VenueOrderRecord:
        o = self.order
        reason = "cancelled at the venue" if self.status == "CANCELED" else None
        return VenueOrderRecord(o.order_id, o.venue_key, o.side, o.quantity, self.status,
                                self.filled, reason, tuple(self.fills))  # fmt: skip


class FakeVenue(ExternalVenueAdapter):
    """In memory. ``outcomes`` (by send, then ``default``): ``fill`` (accepted, filled in
    full at PRICE, completed, all during the submit), ``rest`` (accepted only), ``refuse``
    (rejected, VenueRejected), ``lost_after`` (stored and filled, no event, then
    VenueUnavailable), ``lost_before`` (VenueUnavailable, nothing stored)."""

    venue = "DERIBIT"

    def __init__(
        self,
        outcomes: Iterable[str] = (),
        default: str = "fill",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.instrument_keys = [KEY]
        self.outcomes, self.default, self.clock = list(outcomes), default, clock
        self.orders: dict[str, _Order] = {}
        self.sent: list[tuple[float, VenueOrder]] = []
        self.cancels: list[str] = []
        self.lookups: list[str] = []
        self._trades = 0

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    def is_connected(self) -> bool:
        return True

    def capabilities(self) -> VenueCapabilities:
        return VenueCapabilities(
            VenueType.EXTERNAL_SDK, frozenset({Operation.TRADE}), frozenset({TimeInForce.GTC})
        )

    def _event(self, kind: VenueEventKind, order_id: str, **detail: Any) -> None:
        self.emit(VenueEvent(kind, order_id, KEY, detail))

    def fill(self, order_id: str, quantity: D | None = None, *, tell: bool = True) -> None:
        stored = self.orders[order_id]
        quantity = stored.order.quantity - stored.filled if quantity is None else quantity
        self._trades += 1
        fill = Fill(f"T-{self._trades}", order_id, quantity, PRICE, D("0.00000001"), "BTC",
                    "TAKER", T0)  # fmt: skip
        stored.fills.append(fill)
        full = stored.filled >= stored.order.quantity
        stored.status = "FILLED" if full else "PARTIALLY_FILLED"
        if tell:
            self.emit(VenueEvent(VenueEventKind.FILLED, order_id, KEY, {"trade_id": fill.fill_id},
                                 fill))  # fmt: skip
            if full:
                self._event(VenueEventKind.COMPLETED, order_id)

    async def submit_order(self, order: VenueOrder) -> None:
        assert order.exec_algorithm == "NORMAL" and not order.exec_algorithm_params
        assert order.quantity % 10 == 0 and order.quantity > 0
        self.sent.append((self.clock(), order))
        outcome = self.outcomes.pop(0) if self.outcomes else self.default
        if outcome == "refuse":
            self._event(VenueEventKind.REJECTED, order.order_id, reason="10041 not enough funds")
            raise VenueRejected("refused by the venue: 10041", code=10041)
        if outcome == "lost_before":
            raise VenueUnavailable("connection closed before the answer")
        self.orders[order.order_id] = _Order(order)
        if outcome == "lost_after":
            self.fill(order.order_id, tell=False)
            raise VenueUnavailable("connection closed before the answer")
        self._event(VenueEventKind.ACCEPTED, order.order_id, venue_order_id=f"V-{order.order_id}")
        if outcome == "fill":
            self.fill(order.order_id)

    async def cancel_order(self, order_id: str) -> None:
        self.cancels.append(order_id)
        stored = self.orders.get(order_id)
        if stored is not None and stored.status in ("ACCEPTED", "PARTIALLY_FILLED"):
            stored.status = "CANCELED"
            self._event(VenueEventKind.CANCELED, order_id, reason="cancelled at the venue")

    async def get_order_state(self, order_id: str) -> VenueOrderRecord | None:
        self.lookups.append(order_id)
        stored = self.orders.get(order_id)
        return None if stored is None else stored.record()

    async def get_open_orders(self) -> list[VenueOrderRecord]:
        return [
            replace_fills(o.record())
            for o in self.orders.values()
            if o.status in ("ACCEPTED", "PARTIALLY_FILLED")
        ]

    async def get_fills(self, since: dt.datetime | None = None) -> list[tuple[str, Fill]]:
        return [(KEY, f) for o in self.orders.values() for f in o.fills]

    async def get_positions(self) -> dict[str, D]:
        return {KEY: sum((o.filled for o in self.orders.values()), D(0))}

    async def subscribe_market_data(self, venue_keys: Iterable[str]) -> None: ...

    def last_quote(self, venue_key: str) -> Quote | None:
        return (D("49999.5"), D(1000), D("50000"), D(1000), 0)

    def open_ids(self) -> list[str]:
        return [i for i, o in self.orders.items() if o.status in ("ACCEPTED", "PARTIALLY_FILLED")]


def replace_fills(record: VenueOrderRecord) -> VenueOrderRecord:
    return VenueOrderRecord(record.order_id, record.venue_key, record.side, record.quantity,
                            record.status, record.filled_quantity, record.reason)  # fmt: skip


def parent(quantity: int, algorithm: str, params: dict[str, Any]) -> VenueOrder:
    return VenueOrder(PARENT, KEY, "BUY", D(quantity), "MARKET", None, algorithm, params)


def start(
    venue: FakeVenue, order: VenueOrder, clock: FakeClock, **settings: Any
) -> tuple[AlgorithmRunner, list[VenueEvent], asyncio.Task[None]]:
    events: list[VenueEvent] = []
    runner = AlgorithmRunner(
        venue, order, lot_size=D(10), tick_size=D("0.5"), emit=events.append,
        clock=clock, sleep=clock.sleep, **settings,
    )  # fmt: skip
    venue.bind(runner.on_child_event, lambda v, up: None)
    return runner, events, asyncio.get_running_loop().create_task(runner.run())


def kinds(events: list[VenueEvent]) -> list[str]:
    return [e.kind.value for e in events]


def fills_of(events: list[VenueEvent]) -> list[Fill]:
    return [e.fill for e in events if e.fill is not None]


# -- TWAP / VWAP --------------------------------------------------------------------------------


def test_twap_sends_four_children_at_the_scheduled_times_and_completes_the_parent() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(clock=clock)
        order = parent(40, "TWAP", {"duration_sec": 4, "max_slices": 4})
        runner, events, task = start(venue, order, clock)
        await run_out(clock, task)
        assert [t for t, _ in venue.sent] == [0.0, 1.0, 2.0, 3.0]
        assert [o.order_id for _, o in venue.sent] == [f"{PARENT}.{n}" for n in (1, 2, 3, 4)]
        assert all(
            (o.exec_algorithm, o.order_type, o.quantity, o.side) == ("NORMAL", "MARKET", 10, "BUY")
            for _, o in venue.sent
        )
        assert kinds(events) == ["accepted"] + ["filled"] * 4 + ["completed"]
        assert {e.order_id for e in events} == {PARENT}
        fills = fills_of(events)
        assert {f.order_id for f in fills} == {PARENT}
        assert len({f.fill_id for f in fills}) == 4
        assert sum(f.quantity for f in fills) == order.quantity
        assert [e.detail["child_order_id"] for e in events[1:5]] == [
            o.order_id for _, o in venue.sent
        ]
        assert events[-1].detail["unfilled_quantity"] == "0"
        assert runner.view().status == "FILLED"

    asyncio.run(asyncio.wait_for(body(), 30))


def test_vwap_children_are_the_backtest_schedule_on_the_size_grid() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(clock=clock)
        params = {"duration_sec": 8, "max_slices": 4, "profile": [1, 2, 3, 4]}
        order = parent(100, "VWAP", params)
        _, events, task = start(venue, order, clock)
        await run_out(clock, task)
        algorithm, parsed = parse_algorithm("VWAP", params)
        expected = schedule_for(algorithm, parsed, 100.0, 10.0)
        assert [(t, o.quantity) for t, o in venue.sent] == [
            (s.offset_ns / 1e9, D(repr(s.quantity))) for s in expected
        ]
        assert [o.quantity for _, o in venue.sent] == [10, 20, 30, 40]
        assert kinds(events)[-1] == "completed"
        assert sum(f.quantity for f in fills_of(events)) == 100

    asyncio.run(asyncio.wait_for(body(), 30))


def test_a_cancel_midway_stops_the_schedule_and_ends_canceled() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(clock=clock)
        runner, events, task = start(
            venue, parent(40, "TWAP", {"duration_sec": 4, "max_slices": 4}), clock
        )
        await run_out(clock, task, until=1.5)
        assert len(venue.sent) == 2
        runner.cancel()
        await run_out(clock, task)
        assert len(venue.sent) == 2  # no further child
        assert kinds(events) == ["accepted", "filled", "filled", "canceled"]
        reason = events[-1].detail["reason"]
        assert "20 of 40 unfilled" in reason and "cancelled" in reason
        assert events[-1].detail["filled_quantity"] == "20"

    asyncio.run(asyncio.wait_for(body(), 30))


def test_a_cancel_of_a_resting_child_cancels_it_at_the_venue() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(default="rest", clock=clock)
        runner, events, task = start(
            venue, parent(40, "TWAP", {"duration_sec": 4, "max_slices": 4}), clock
        )
        await run_out(clock, task, until=0.5)
        runner.cancel()
        await run_out(clock, task)
        assert venue.cancels == [f"{PARENT}.1"]
        assert kinds(events) == ["accepted", "canceled"]
        assert "40 of 40 unfilled" in events[-1].detail["reason"]

    asyncio.run(asyncio.wait_for(body(), 30))


def test_the_horizon_ending_with_quantity_unfilled_cancels_the_rest_saying_how_much() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(["fill", "rest"], clock=clock)
        order = parent(20, "TWAP", {"duration_sec": 2, "max_slices": 2})
        _, events, task = start(venue, order, clock, end_grace_secs=1.0)
        await run_out(clock, task)
        assert [t for t, _ in venue.sent] == [0.0, 1.0]
        assert venue.cancels == [f"{PARENT}.2"]
        assert clock.now == 3.0  # horizon 2 s + 1 s of grace
        assert kinds(events) == ["accepted", "filled", "canceled"]
        assert events[-1].detail["reason"] == "TWAP: 10 of 20 unfilled (the TWAP horizon ended)"
        assert events[-1].detail["unfilled_quantity"] == "10"

    asyncio.run(asyncio.wait_for(body(), 30))


# -- refusals and unknown outcomes --------------------------------------------------------------


def test_a_first_child_refused_rejects_the_parent() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(["refuse"], clock=clock)
        _, events, task = start(
            venue, parent(40, "TWAP", {"duration_sec": 4, "max_slices": 4}), clock
        )
        await run_out(clock, task)
        assert len(venue.sent) == 1
        assert kinds(events) == ["rejected"]
        assert events[0].order_id == PARENT
        assert "10041" in events[0].detail["reason"]

    asyncio.run(asyncio.wait_for(body(), 30))


def test_a_child_refused_after_a_fill_stops_the_algorithm_canceled() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(["fill", "refuse"], clock=clock)
        _, events, task = start(
            venue, parent(40, "TWAP", {"duration_sec": 4, "max_slices": 4}), clock
        )
        await run_out(clock, task)
        assert len(venue.sent) == 2
        assert kinds(events) == ["accepted", "filled", "canceled"]
        reason = events[-1].detail["reason"]
        assert "30 of 40 unfilled" in reason and f"{PARENT}.2 rejected" in reason

    asyncio.run(asyncio.wait_for(body(), 30))


def test_a_lost_answer_is_looked_up_by_the_child_id_and_never_sent_again() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(["lost_after"], clock=clock)
        _, events, task = start(
            venue, parent(20, "TWAP", {"duration_sec": 2, "max_slices": 2}), clock
        )
        await run_out(clock, task)
        assert [o.order_id for _, o in venue.sent] == [f"{PARENT}.1", f"{PARENT}.2"]
        assert venue.lookups == [f"{PARENT}.1"]
        assert kinds(events) == ["accepted", "filled", "filled", "completed"]
        assert sum(f.quantity for f in fills_of(events)) == 20

    asyncio.run(asyncio.wait_for(body(), 30))


def test_a_child_the_venue_never_stored_rejects_the_parent_without_resending() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(["lost_before"], clock=clock)
        _, events, task = start(
            venue, parent(20, "TWAP", {"duration_sec": 2, "max_slices": 2}), clock
        )
        await run_out(clock, task)
        assert len(venue.sent) == 1 and venue.lookups == [f"{PARENT}.1"]
        assert kinds(events) == ["rejected"]
        assert "it was not sent again" in events[0].detail["reason"]

    asyncio.run(asyncio.wait_for(body(), 30))


def test_invalid_params_reject_the_parent_before_any_child() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(clock=clock)
        _, events, task = start(venue, parent(40, "TWAP", {"duration_sec": 900}), clock)
        await run_out(clock, task)
        assert venue.sent == []
        assert kinds(events) == ["rejected"]
        assert "duration_sec" in events[0].detail["reason"]

    asyncio.run(asyncio.wait_for(body(), 30))


# -- ICEBERG ------------------------------------------------------------------------------------


def test_iceberg_shows_one_child_at_a_time_priced_at_the_touch() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(default="rest", clock=clock)
        params = {"display_quantity": 20, "duration_sec": 60}
        _, events, task = start(venue, parent(50, "ICEBERG", params), clock)
        await settle()
        assert venue.open_ids() == [f"{PARENT}.1"]
        first = venue.sent[0][1]
        assert (first.order_type, first.price, first.quantity) == ("LIMIT", D("49999.5"), 20)
        venue.fill(f"{PARENT}.1", D(10))  # a partial fill shows nothing new
        await settle()
        assert len(venue.sent) == 1
        venue.fill(f"{PARENT}.1")
        await settle()
        assert venue.open_ids() == [f"{PARENT}.2"]
        venue.fill(f"{PARENT}.2")
        await settle()
        assert venue.open_ids() == [f"{PARENT}.3"]
        venue.fill(f"{PARENT}.3")
        await run_out(clock, task)
        assert [o.quantity for _, o in venue.sent] == [20, 20, 10]
        assert kinds(events) == ["accepted"] + ["filled"] * 4 + ["completed"]
        assert sum(f.quantity for f in fills_of(events)) == 50

    asyncio.run(asyncio.wait_for(body(), 30))


def test_iceberg_at_its_duration_cancels_the_working_child() -> None:
    async def body() -> None:
        clock = FakeClock()
        venue = FakeVenue(default="rest", clock=clock)
        params = {"display_quantity": 20, "duration_sec": 5}
        _, events, task = start(venue, parent(50, "ICEBERG", params), clock)
        await settle()
        venue.fill(f"{PARENT}.1")
        await run_out(clock, task)
        assert clock.now == 5.0
        assert venue.cancels == [f"{PARENT}.2"]
        assert kinds(events) == ["accepted", "filled", "canceled"]
        assert "30 of 50 unfilled" in events[-1].detail["reason"]

    asyncio.run(asyncio.wait_for(body(), 30))


# -- ids ----------------------------------------------------------------------------------------


def test_child_ids_map_back_to_their_parent_and_fit_deribits_label() -> None:
    for n in (1, 2, 10, MAX_CHILDREN):
        child = child_order_id(PARENT, n)
        assert parent_order_id(child) == PARENT
        assert len(child) <= MAX_CHILD_ID
    assert parent_order_id(PARENT) is None
    assert parent_order_id("O-1") is None
    assert parent_order_id(f"{PARENT}.0") is None  # children count from 1
    assert parent_order_id(child_order_id("a.b", 3)) == "a.b"
    assert not runs_in_daemon(VenueOrder("o", KEY, "BUY", D(10), "MARKET"))
    assert runs_in_daemon(parent(40, "TWAP", {}))
    assert runs_in_daemon(parent(40, "BOGUS", {}))  # the runner rejects it saying why
    fill = Fill("T-1", f"{PARENT}.3", D(10), PRICE, D(0), "BTC", "TAKER", T0)
    event = VenueEvent(VenueEventKind.FILLED, f"{PARENT}.3", KEY, {}, fill)
    orphan = orphan_child_event(event)
    assert orphan is not None and orphan.order_id == PARENT and orphan.fill is not None
    assert orphan.fill.order_id == PARENT and orphan.detail["child_order_id"] == f"{PARENT}.3"
    canceled = VenueEvent(VenueEventKind.CANCELED, f"{PARENT}.3", KEY, {})
    assert orphan_child_event(canceled) is None


# -- through the CompositeGateway ---------------------------------------------------------------


async def _until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def test_the_composite_runs_a_twap_for_an_external_venue_and_shows_only_the_parent() -> None:
    async def body() -> None:
        venue = FakeVenue()
        events: list[VenueEvent] = []
        gateway = CompositeGateway(None, AdapterRegistry([venue]), events.append)
        order = parent(40, "TWAP", {"duration_sec": 0.8, "max_slices": 4})
        gateway.submit(order)
        await _until(lambda: len(venue.sent) >= 1, "the first child")
        state = await gateway.venue_state()
        assert [(o.order_id, o.status) for o in state.orders] == [(PARENT, "PARTIALLY_FILLED")]
        assert {f.order_id for _, f in state.fills} == {PARENT}
        await _until(lambda: "completed" in kinds(events), "the parent's completion")
        assert [o.order_id for _, o in venue.sent] == [f"{PARENT}.{n}" for n in (1, 2, 3, 4)]
        first = venue.sent[0][0]
        offsets = [t - first for t, _ in venue.sent]
        assert all(o >= 0.2 * k - 0.02 for k, o in enumerate(offsets)), offsets  # 0.2 s apart
        assert {e.order_id for e in events} == {PARENT}
        assert kinds(events) == ["accepted"] + ["filled"] * 4 + ["completed"]
        state = await gateway.venue_state()
        assert state.orders == []
        assert [f.order_id for _, f in state.fills] == [PARENT] * 4
        record = await gateway.order_record(PARENT)
        assert record is not None and (record.status, record.filled_quantity) == ("FILLED", 40)
        assert [f.order_id for f in record.fills] == [PARENT] * 4
        assert await gateway.order_record(f"{PARENT}.9") is None
        # a daemon started afterwards (no runner) finds the parent from its children
        later = CompositeGateway(None, AdapterRegistry([venue]), events.append)
        found = await later.order_record(PARENT)
        assert found is not None and found.filled_quantity == 40 and len(found.fills) == 4
        assert found.status == "CANCELED" and "no longer runs" in (found.reason or "")
        await gateway.stop()

    asyncio.run(asyncio.wait_for(body(), 30))


def test_a_cancel_through_the_composite_stops_the_algorithm() -> None:
    async def body() -> None:
        venue = FakeVenue(default="rest")
        events: list[VenueEvent] = []
        gateway = CompositeGateway(None, AdapterRegistry([venue]), events.append)
        gateway.submit(parent(50, "ICEBERG", {"display_quantity": 20, "duration_sec": 60}))
        await _until(lambda: "accepted" in kinds(events), "the parent's acceptance")
        assert venue.sent[0][1].price == D("49999.5")  # the reference's tick 0.5
        gateway.cancel(PARENT, KEY)
        await _until(lambda: "canceled" in kinds(events), "the parent's cancel")
        assert venue.cancels == [f"{PARENT}.1"]
        assert {e.order_id for e in events} == {PARENT}
        assert "50 of 50 unfilled" in events[-1].detail["reason"]
        await gateway.stop()

    asyncio.run(asyncio.wait_for(body(), 30))


def test_a_later_daemon_cancels_the_resting_children_of_an_algorithm_it_did_not_run() -> None:
    async def body() -> None:
        venue = FakeVenue(default="rest")
        before: list[VenueEvent] = []
        gateway = CompositeGateway(None, AdapterRegistry([venue]), before.append)
        gateway.submit(parent(50, "ICEBERG", {"display_quantity": 20, "duration_sec": 60}))
        await _until(lambda: "accepted" in kinds(before), "the parent's acceptance")
        venue.fill(f"{PARENT}.1", D(10))
        await gateway.stop()  # the daemon stops with its child resting
        events: list[VenueEvent] = []
        later = CompositeGateway(None, AdapterRegistry([venue]), events.append)
        state = await later.venue_state()
        assert [(o.order_id, o.status) for o in state.orders] == [(PARENT, "PARTIALLY_FILLED")]
        later.cancel(PARENT, KEY)
        await _until(lambda: "canceled" in kinds(events), "the parent's cancel")
        assert venue.cancels == [PARENT, f"{PARENT}.1"]
        assert {e.order_id for e in events} == {PARENT}
        assert kinds(events) == ["accepted", "filled", "canceled"]
        assert events[1].fill is not None and events[1].fill.order_id == PARENT
        await later.stop()

    asyncio.run(asyncio.wait_for(body(), 30))


# -- on the local Deribit venue -----------------------------------------------------------------


def test_a_twap_on_the_local_deribit_venue_fills_through_four_labelled_children(
    tmp_path: Path,
) -> None:
    from tests.live_daemon.venues.deribit.adapter.test_against_standin import (
        adapter_for,
        standin,
    )

    async def body() -> None:
        async with standin(tmp_path) as venue:
            events: list[VenueEvent] = []
            gateway = CompositeGateway(None, AdapterRegistry([adapter_for(venue)]), events.append)
            await gateway.start()
            started = time.monotonic()
            gateway.submit(parent(40, "TWAP", {"duration_sec": 2, "max_slices": 4}))
            await _until(lambda: "completed" in kinds(events), "the TWAP's completion", 20)
            assert time.monotonic() - started >= 1.4  # the last slice at 1.5 s
            assert {e.order_id for e in events} == {PARENT}
            assert kinds(events) == ["accepted"] + ["filled"] * 4 + ["completed"]
            children = sorted(venue.exchange.orders.values(), key=lambda o: o.label)
            assert [o.label for o in children] == [f"{PARENT}.{n}" for n in (1, 2, 3, 4)]
            assert all(o.amount == 10 and o.filled_amount == 10 for o in children)
            record = await gateway.order_record(PARENT)
            assert record is not None and record.status == "FILLED"
            assert record.filled_quantity == 40 and len(record.fills) == 4
            await gateway.stop()

    asyncio.run(asyncio.wait_for(body(), 60))


@pytest.mark.parametrize("algorithm", ["TWAP", "ICEBERG"])
def test_the_deribit_adapter_itself_still_refuses_an_algorithm_order(algorithm: str) -> None:
    from execution_core.instruments.reference import load_reference
    from live_daemon.venues.deribit.instruments import instrument
    from live_daemon.venues.deribit.orders import OrderInputError, order_params

    with pytest.raises(OrderInputError, match="Deribit runs no"):
        order_params(parent(40, algorithm, {}), instrument(load_reference(), KEY))
