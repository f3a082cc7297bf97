"""Pre-trade risk under concurrent submissions, against a real PostgreSQL: orders checked
while others are still being recorded must count those others (no limit is overshot by
a burst), and an order that ends up not recorded releases what it reserved."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from execution_core.instruments.reference import load_reference
from execution_core.risk.config import RiskLimits
from execution_core.risk.engine import PreTradeRiskEngine, RiskBook
from execution_core.routing.router import SmartRouter
from live_daemon.domain import OrderStatus
from live_daemon.metrics import Metrics
from live_daemon.oms import UnifiedOrderManager
from live_daemon.oms.positions import PositionStore
from live_daemon.operations import NAUTILUS_CAPABILITIES, VenueCapabilities
from live_daemon.orchestrator import LiveExecutionOrchestrator
from live_daemon.positions import UnifiedPositionTracker
from live_daemon.venues.gateway import Quote, VenueOrder
from tests.live_daemon.oms.test_orders import BINANCE_BTC, request


class _RecordingVenue:
    """A venue gateway that quotes BTC at 100 and records what it is sent."""

    def __init__(self) -> None:
        self.instrument_keys = [BINANCE_BTC]
        self.sent: list[str] = []

    def venues_health(self) -> dict[str, dict[str, Any]]:
        return {"paper": {**self.health(), "venue_keys": list(self.instrument_keys)}}

    def unavailable_reason(self, venue_key: str) -> str | None:
        return None if self.is_connected(venue_key) else "not connected"

    def is_connected(self, venue_key: str | None = None) -> bool:
        return True

    def capabilities(self, venue_key: str) -> VenueCapabilities:
        return NAUTILUS_CAPABILITIES

    def last_quote(self, venue_key: str) -> Quote | None:
        if venue_key != BINANCE_BTC:
            return None
        return (Decimal("99.9"), Decimal("1000"), Decimal("100.1"), Decimal("1000"), time.time_ns())

    def submit(self, order: VenueOrder) -> None:
        self.sent.append(order.order_id)

    def health(self) -> dict[str, object]:
        return {"running": True}


def _orchestrator(
    oms: UnifiedOrderManager, limits: RiskLimits, venue: _RecordingVenue, book: RiskBook
) -> LiveExecutionOrchestrator:
    reference = load_reference()
    return LiveExecutionOrchestrator(
        oms,
        UnifiedPositionTracker(PositionStore(oms.pool)),
        PreTradeRiskEngine(limits, reference),
        book,
        SmartRouter(reference),
        venue,  # type: ignore[arg-type]
        reference,
        Metrics(),
    )


def _btc(operation_id: str, quantity: str = "1") -> Any:
    return request(
        operation_id,
        instrument_key=BINANCE_BTC,
        quantity=Decimal(quantity),
        exec_algorithm="NORMAL",
        exec_algorithm_params={},
    )


async def _burst(orchestrator: LiveExecutionOrchestrator, n: int) -> list[OrderStatus]:
    """Submit ``n`` orders of 1 BTC at once; their statuses, in submission order."""
    results = await asyncio.gather(*(orchestrator.submit(_btc(f"OP-{i}")) for i in range(n)))
    return [record.status for record, _ in results]


def test_a_concurrent_burst_cannot_overshoot_the_position_limit(
    oms: UnifiedOrderManager, run
) -> None:
    limits = RiskLimits(max_position_per_instrument=Decimal("3"))
    venue, book = _RecordingVenue(), RiskBook(balance=Decimal("1000000"))
    orchestrator = _orchestrator(oms, limits, venue, book)

    statuses = run(_burst(orchestrator, 10))
    assert statuses.count(OrderStatus.SUBMITTED) == 3, statuses
    assert statuses.count(OrderStatus.REJECTED) == 7
    assert len(venue.sent) == 3 and len(book.open_order_ids()) == 3


def test_a_concurrent_burst_cannot_overshoot_the_velocity_limit(
    oms: UnifiedOrderManager, run
) -> None:
    limits = RiskLimits(max_orders_per_second=4, max_orders_per_minute=100)
    venue = _RecordingVenue()
    orchestrator = _orchestrator(oms, limits, venue, RiskBook(balance=Decimal("1000000")))

    statuses = run(_burst(orchestrator, 10))
    assert statuses.count(OrderStatus.SUBMITTED) == 4, statuses
    assert len(venue.sent) == 4


def test_a_replay_reserves_nothing(oms: UnifiedOrderManager, run) -> None:
    limits = RiskLimits(max_position_per_instrument=Decimal("2"))
    venue, book = _RecordingVenue(), RiskBook(balance=Decimal("1000000"))
    orchestrator = _orchestrator(oms, limits, venue, book)

    async def body() -> list[tuple[OrderStatus, bool]]:
        first = await orchestrator.submit(_btc("OP-A"))
        replays = await asyncio.gather(*(orchestrator.submit(_btc("OP-A")) for _ in range(5)))
        second = await orchestrator.submit(_btc("OP-B"))
        return [(r.status, created) for r, created in (first, *replays, second)]

    outcomes = run(body())
    assert outcomes[0] == (OrderStatus.SUBMITTED, True)
    assert all(o == (OrderStatus.SUBMITTED, False) for o in outcomes[1:6])
    # the replays did not count against the limit: a second order of 1 still fits
    assert outcomes[6] == (OrderStatus.SUBMITTED, True)
    assert len(venue.sent) == 2 and len(book.open_order_ids()) == 2
    assert len(book.recent_orders("momentum-btc-v1")) == 2


def test_an_order_the_database_refuses_releases_its_reservation(
    oms: UnifiedOrderManager, run
) -> None:
    limits = RiskLimits(max_position_per_instrument=Decimal("1"))
    venue, book = _RecordingVenue(), RiskBook(balance=Decimal("1000000"))
    orchestrator = _orchestrator(oms, limits, venue, book)

    async def body() -> OrderStatus:
        await oms.pool.execute("ALTER TABLE unified_orders RENAME TO unified_orders_away")
        try:
            await orchestrator.submit(_btc("OP-FAIL"))
        except Exception:
            pass
        else:  # pragma: no cover - the insert must fail
            raise AssertionError("the insert should have failed")
        finally:
            await oms.pool.execute("ALTER TABLE unified_orders_away RENAME TO unified_orders")
        record, _ = await orchestrator.submit(_btc("OP-OK"))
        return record.status

    assert run(body()) is OrderStatus.SUBMITTED
    assert venue.sent and book.open_order_ids() == tuple(venue.sent)
    assert len(book.recent_orders("momentum-btc-v1")) == 1
