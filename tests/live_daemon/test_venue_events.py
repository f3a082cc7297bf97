"""The orchestrator's venue-event consumer against a real PostgreSQL: a burst of events is
committed together, in arrival order, and one bad event costs only itself."""

from __future__ import annotations

from decimal import Decimal

from execution_core.instruments.reference import load_reference
from execution_core.risk.config import RiskLimits
from execution_core.risk.engine import PreTradeRiskEngine, RiskBook
from execution_core.routing.router import SmartRouter
from live_daemon.domain import EventKind, OrderStatus
from live_daemon.metrics import Metrics
from live_daemon.oms import UnifiedOrderManager
from live_daemon.oms.positions import PositionStore
from live_daemon.orchestrator import LiveExecutionOrchestrator
from live_daemon.positions import UnifiedPositionTracker
from live_daemon.venues.gateway import VenueEvent
from tests.live_daemon.oms.test_orders import BINANCE_BTC, fill, request


def test_a_burst_of_events_is_applied_in_order_and_a_bad_one_costs_only_itself(
    oms: UnifiedOrderManager, positions: PositionStore, run
) -> None:
    reference = load_reference()
    metrics = Metrics()
    book = RiskBook()
    orchestrator = LiveExecutionOrchestrator(
        oms,
        UnifiedPositionTracker(positions),
        PreTradeRiskEngine(RiskLimits(), reference),
        book,
        SmartRouter(reference),
        None,  # no venue: this test feeds the events itself
        reference,
        metrics,
    )

    async def body() -> None:
        orchestrator.venue_events.start()  # no venue: nothing to recover from
        record, _ = await oms.record_decided(
            request("OP-A", quantity=Decimal("0.02"), exec_algorithm="NORMAL"),
            OrderStatus.SUBMITTED,
            [(EventKind.ROUTED, {})],
            venue_key=BINANCE_BTC,
        )
        order_id = record.order_id
        burst = [
            VenueEvent("accepted", order_id, BINANCE_BTC, {"venue_order_id": "V-1"}),
            VenueEvent("filled", order_id, BINANCE_BTC, fill=fill(order_id, "F-1", "0.01", "100")),
            # a fill of an order the OMS does not know: refused, and nothing else lost
            VenueEvent("filled", "ORD-NOPE", BINANCE_BTC, fill=fill("ORD-NOPE", "F-X", "1", "1")),
            VenueEvent("filled", order_id, BINANCE_BTC, fill=fill(order_id, "F-2", "0.01", "102")),
        ]
        for event in burst:  # queued in one go: the consumer takes them as one batch
            orchestrator.on_venue_event(event)
        await orchestrator.stop()

        stored = await oms.get_order(order_id)
        assert stored is not None and stored.status is OrderStatus.FILLED
        assert stored.filled_quantity == Decimal("0.02") and stored.avg_fill_price == 101
        kinds = [e["kind"] for e in await oms.events(order_id)]
        assert kinds == ["submitted", "routed", "acknowledged", "filled", "filled"]
        assert await oms.get_order("ORD-NOPE") is None
        assert book.position(record.strategy_id, BINANCE_BTC) == Decimal("0.02")
        (row,) = await positions.all()  # written once for the batch's two fills
        assert row["quantity"] == Decimal("0.02") and row["avg_entry_price"] == 101
        assert row["fees"] == Decimal("0.02")
        rendered = metrics.render().decode()
        assert 'errors_total{kind="venue_event"} 1.0' in rendered
        assert 'fills_total{venue="BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"} 2.0' in rendered

    run(body())


class _VenueHealth:
    """Just enough of a venue gateway for ``health()``."""

    def __init__(self, running: bool) -> None:
        self.running = running

    def health(self) -> dict[str, object]:
        return {"running": self.running}

    def venues_health(self) -> dict[str, dict[str, object]]:
        return {"paper": self.health()}


def test_health_is_degraded_while_the_venue_is_down(oms: UnifiedOrderManager, run) -> None:
    reference = load_reference()
    venue = _VenueHealth(running=True)
    orchestrator = LiveExecutionOrchestrator(
        oms,
        UnifiedPositionTracker(PositionStore(oms.pool)),
        PreTradeRiskEngine(RiskLimits(), reference),
        RiskBook(),
        SmartRouter(reference),
        venue,  # type: ignore[arg-type]
        reference,
        Metrics(),
    )
    assert run(orchestrator.health())["status"] == "ok"
    venue.running = False
    health = run(orchestrator.health())
    assert health["status"] == "degraded" and health["database"] == "ok"
