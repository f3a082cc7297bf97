"""CompositeGateway's fault rules for an external venue, on a scripted adapter: a submit is
sent once; an unknown outcome is settled from the venue's record (looked up by our id),
never by sending again; repeated failures open the venue's circuit, and the reason is
what the router records."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from live_daemon.domain import Fill
from live_daemon.operations import Operation, TimeInForce, VenueCapabilities, VenueType
from live_daemon.venues.composite import CompositeGateway
from live_daemon.venues.external.adapter import ExternalVenueAdapter, VenueRejected
from live_daemon.venues.external.registry import AdapterRegistry
from live_daemon.venues.gateway import (
    Quote,
    VenueEvent,
    VenueNotSent,
    VenueOrder,
    VenueOrderRecord,
    VenueUnavailable,
)

KEY = "DERIBIT:PERPETUAL:BTC-USD@INV"
T0 = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)


class ScriptedDeribit(ExternalVenueAdapter):
    """``outcomes`` says what each submit does: ``filled`` (answers, fills in full),
    ``refused`` (a definite refusal), ``lost_after`` (stores and fills the order, then the
    connection drops before the answer), ``lost_before`` (the connection drops before the
    venue stores it). ``unreachable``: every read fails too."""

    venue = "DERIBIT"

    def __init__(self, outcomes: Iterable[str]) -> None:
        super().__init__()
        self.instrument_keys = [KEY]
        self.outcomes = list(outcomes)
        self.submits: list[str] = []
        self.record: dict[str, VenueOrderRecord] = {}
        self.unreachable = False
        self.lookups = 0

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    def is_connected(self) -> bool:
        return True

    def capabilities(self) -> VenueCapabilities:
        return VenueCapabilities(
            VenueType.EXTERNAL_SDK, frozenset({Operation.TRADE}), frozenset({TimeInForce.GTC})
        )

    def _store(self, order: VenueOrder) -> None:
        fill = Fill(f"T-{order.order_id}", order.order_id, order.quantity, Decimal(43_000),
                    Decimal("0.0000001"), "BTC", "TAKER", T0)  # fmt: skip
        self.record[order.order_id] = VenueOrderRecord(
            order.order_id, KEY, order.side, order.quantity, "FILLED", order.quantity, None,
            (fill,),
        )  # fmt: skip

    async def submit_order(self, order: VenueOrder) -> None:
        self.submits.append(order.order_id)
        outcome = self.outcomes.pop(0)
        if outcome == "refused":
            raise VenueRejected("Deribit refused the order: 11044 not_open_order", code=11044)
        if outcome in ("filled", "lost_after"):
            self._store(order)
        if outcome.startswith("lost"):
            raise VenueUnavailable("Deribit: connection closed before the answer")
        if outcome == "not_sent":
            raise VenueNotSent("not connected to Deribit (10028): private/buy not sent")

    async def cancel_order(self, order_id: str) -> None: ...

    async def get_order_state(self, order_id: str) -> VenueOrderRecord | None:
        self.lookups += 1
        if self.unreachable:
            raise VenueUnavailable("Deribit: not connected")
        return self.record.get(order_id)

    async def get_open_orders(self) -> list[VenueOrderRecord]:
        return []

    async def get_fills(self, since: dt.datetime | None = None) -> list[tuple[str, Fill]]:
        return [(KEY, f) for r in self.record.values() for f in r.fills]

    async def get_positions(self) -> dict[str, Decimal]:
        return {}

    async def subscribe_market_data(self, venue_keys: Iterable[str]) -> None: ...

    def last_quote(self, venue_key: str) -> Quote | None:
        return None


def _order(order_id: str) -> VenueOrder:
    return VenueOrder(order_id, KEY, "BUY", Decimal(860), "MARKET")


async def _send(adapter: ScriptedDeribit, *order_ids: str, **settings: float):
    events: list[VenueEvent] = []
    gateway = CompositeGateway(
        None, AdapterRegistry([adapter]), events.append, lookup_secs=0.3, **settings
    )
    for order_id in order_ids:
        gateway.submit(_order(order_id))
        await asyncio.sleep(0)
    for _ in range(200):  # until every spawned send and lookup is over
        if not gateway._tasks:
            break
        await asyncio.sleep(0.01)
    return gateway, events


def _story(events: list[VenueEvent], order_id: str) -> list[str]:
    return [e.kind.value for e in events if e.order_id == order_id]


def test_a_lost_answer_is_settled_from_the_venues_record_and_never_sent_again() -> None:
    adapter = ScriptedDeribit(["lost_after"])
    _, events = asyncio.run(_send(adapter, "O-1"))
    assert adapter.submits == ["O-1"]  # once
    assert _story(events, "O-1") == ["accepted", "filled", "completed"]
    assert events[1].fill is not None and events[1].fill.quantity == 860


def test_an_order_the_venue_never_stored_is_rejected_saying_it_was_not_sent_again() -> None:
    adapter = ScriptedDeribit(["lost_before"])
    _, events = asyncio.run(_send(adapter, "O-1"))
    assert adapter.submits == ["O-1"]
    (rejected,) = events
    assert rejected.kind == "rejected"
    assert rejected.detail["reason"] == (
        "DERIBIT has no order O-1 after the submit failed (Deribit: connection closed "
        "before the answer); it was not sent again"
    )


def test_an_order_that_cannot_be_looked_up_stays_in_flight_for_reconciliation() -> None:
    adapter = ScriptedDeribit(["lost_after"])
    adapter.unreachable = True
    _, events = asyncio.run(_send(adapter, "O-1"))
    assert adapter.submits == ["O-1"] and adapter.lookups > 1  # asked again, with backoff
    assert events == []  # no guess: the reconciliation on reconnection settles it


def test_repeated_failures_open_the_circuit_and_a_refusal_does_not() -> None:
    adapter = ScriptedDeribit(["refused", "lost_before", "lost_before"])
    gateway, events = asyncio.run(_send(adapter, "O-1", "O-2", "O-3", breaker_failures=2))
    assert _story(events, "O-1") == []  # the adapter tells a refusal itself
    reason = gateway.unavailable_reason(KEY)
    assert reason is not None and reason.startswith("circuit open after 2 consecutive failures")
    assert gateway.venues_health()["DERIBIT"]["breaker"]["state"] == "open"
    assert not gateway.is_connected(KEY)


def test_an_order_that_never_left_is_rejected_at_once_and_the_circuit_stays_closed() -> None:
    """Found by the benchmark: orders waiting for rate-limit credits when the session closed
    counted as unknown outcomes: each opened the circuit and cost lookups."""
    adapter = ScriptedDeribit(["not_sent"] * 3)
    gateway, events = asyncio.run(_send(adapter, "O-1", "O-2", "O-3", breaker_failures=2))
    assert [e.kind.value for e in events] == ["rejected"] * 3 and adapter.lookups == 0
    assert events[0].detail["reason"] == (
        "not sent to DERIBIT: not connected to Deribit (10028): private/buy not sent"
    )
    assert gateway.unavailable_reason(KEY) is None
