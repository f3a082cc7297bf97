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
        assert 'exec_errors_total{kind="venue_event"} 1.0' in rendered
        assert 'exec_fills_total{venue="BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"} 2.0' in rendered

    run(body())


class _VenueHealth:
    """Just enough of a venue gateway for ``health()``."""

    def __init__(self, running: bool) -> None:
        self.running = running

    def health(self) -> dict[str, object]:
        return {"running": self.running}

    def venues_health(self) -> dict[str, dict[str, object]]:
        return {"paper": self.health()}


DERIBIT_BTC = "DERIBIT:PERPETUAL:BTC-USD@INV"


def test_an_order_sent_rounded_down_is_filled_when_its_venue_completes_it(
    oms: UnifiedOrderManager, positions: PositionStore, run
) -> None:
    """0.02 BTC at 43,257 is 865.14 USD, sent as 86 contracts of 10 USD: its one fill of
    860 USD is 0.019881… BTC, and only the venue's ``completed`` ends the order (found on
    the paper daemon: the order stayed PARTIALLY_FILLED for ever)."""
    reference = load_reference()
    book = RiskBook()
    orchestrator = LiveExecutionOrchestrator(
        oms, UnifiedPositionTracker(positions), PreTradeRiskEngine(RiskLimits(), reference),
        book, SmartRouter(reference), None, reference, Metrics(),
    )  # fmt: skip

    async def body() -> None:
        orchestrator.venue_events.start()
        ids = []
        for operation_id in ("OP-DONE", "OP-OPEN"):
            record, _ = await oms.record_decided(
                request(operation_id, instrument_key=DERIBIT_BTC, quantity=Decimal("0.02"),
                        exec_algorithm="NORMAL", exec_algorithm_params={}),
                OrderStatus.SUBMITTED, [(EventKind.ROUTED, {})], venue_key=DERIBIT_BTC,
            )  # fmt: skip
            ids.append(record.order_id)
        for order_id, completed in zip(ids, (True, False), strict=True):
            usd = fill(order_id, f"T-{order_id}", "860", "43257", fee_currency="BTC")
            orchestrator.on_venue_event(VenueEvent("accepted", order_id, DERIBIT_BTC, {}))
            orchestrator.on_venue_event(VenueEvent("filled", order_id, DERIBIT_BTC, fill=usd))
            if completed:
                orchestrator.on_venue_event(VenueEvent("completed", order_id, DERIBIT_BTC, {}))
        await orchestrator.stop()
        done, still_open = [await oms.get_order(order_id) for order_id in ids]
        assert done is not None and done.status is OrderStatus.FILLED
        assert done.filled_quantity == Decimal(860) / Decimal(43257)
        last = (await oms.events(ids[0]))[-1]
        assert last["kind"] == "filled" and Decimal(last["detail"]["unsent"]) > 0
        assert still_open is not None and still_open.status is OrderStatus.PARTIALLY_FILLED

    run(body())


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
