"""The orchestrator reuses a venue's quote, converted for the router, until the venue
sends a new one: each order is still routed and risk-checked on the latest quote."""

from __future__ import annotations

import time
from decimal import Decimal

from execution_core.instruments.ids import instrument_family
from execution_core.risk.config import RiskLimits
from execution_core.risk.engine import RiskBook
from live_daemon.domain import OrderStatus
from live_daemon.oms import UnifiedOrderManager
from live_daemon.operations import NAUTILUS_CAPABILITIES, VenueCapabilities
from live_daemon.venues.gateway import Quote
from tests.live_daemon.oms.test_orders import BINANCE_BTC
from tests.live_daemon.test_concurrent_risk import _btc, _orchestrator, _RecordingVenue


class _MovingVenue(_RecordingVenue):
    def __init__(self) -> None:
        super().__init__()
        self.quote: Quote = self.quoted(Decimal(100))

    @staticmethod
    def quoted(mid: Decimal) -> Quote:
        half = Decimal("0.1")
        return (mid - half, Decimal("1000"), mid + half, Decimal("1000"), time.time_ns())

    def capabilities(self, venue_key: str) -> VenueCapabilities:
        return NAUTILUS_CAPABILITIES

    def last_quote(self, venue_key: str) -> Quote | None:
        return self.quote if venue_key == BINANCE_BTC else None


def test_each_order_is_routed_on_the_latest_quote(oms: UnifiedOrderManager, run) -> None:
    venue, book = _MovingVenue(), RiskBook(balance=Decimal(10**9))
    orchestrator = _orchestrator(oms, RiskLimits(), venue, book)
    family = instrument_family(BINANCE_BTC)

    async def routed_mid(operation_id: str) -> float:
        record, _ = await orchestrator.submit(_btc(operation_id))
        assert record.status is OrderStatus.SUBMITTED, record.rejection_reason
        (routed,) = [e for e in await oms.events(record.order_id) if e["kind"] == "routed"]
        return float(routed["detail"]["scores"][0]["reference_price"])

    assert run(routed_mid("OP-1")) == 100.0
    assert run(routed_mid("OP-2")) == 100.0  # the same quote: reused
    assert book.view().last_prices[family] == Decimal(100)
    venue.quote = venue.quoted(Decimal(200))
    assert run(routed_mid("OP-3")) == 200.0
    assert book.view().last_prices[family] == Decimal(200)
