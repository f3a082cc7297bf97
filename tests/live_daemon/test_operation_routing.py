"""An order goes only to a venue that declares its operation and time in force: with none
connected it is recorded REJECTED with the reason before any venue sees it; a venue that
declares the operation gets it, with its terms, and the OMS records how it is reached."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from live_daemon.domain import OrderStatus
from live_daemon.oms import UnifiedOrderManager
from live_daemon.operations import (
    NAUTILUS_CAPABILITIES,
    Operation,
    OrderTerms,
    TimeInForce,
    VenueCapabilities,
    VenueType,
)
from live_daemon.venues.gateway import VenueOrder
from tests.live_daemon.test_orchestrator_venues import (
    BINANCE_BTC,
    BYBIT_BTC,
    _orchestrator,
    _order,
    _ScriptedVenue,
)

ANY_BTC = "ANY:PERPETUAL:BTC-USDT@LIN"
BET = OrderTerms(Operation.BET, odds=Decimal("2.5"), selection="HOME")
BETTING = VenueCapabilities(
    VenueType.EXTERNAL_SDK,
    frozenset({Operation.TRADE, Operation.BET}),
    frozenset({TimeInForce.GTC}),
)


class _Venues(_ScriptedVenue):
    """The scripted venue, where ``declared`` venues declare other capabilities."""

    def __init__(self, quoted: list[str], declared: dict[str, VenueCapabilities]) -> None:
        super().__init__(quoted)
        self.declared = declared
        self.orders_sent: list[VenueOrder] = []

    def capabilities(self, venue_key: str) -> VenueCapabilities:
        return self.declared.get(venue_key, NAUTILUS_CAPABILITIES)

    def submit(self, order: VenueOrder) -> None:
        super().submit(order)
        self.orders_sent.append(order)


async def _submit(oms: UnifiedOrderManager, venue: _Venues, *orders: Any) -> list[Any]:
    orchestrator = _orchestrator(oms, venue)
    await orchestrator.start()
    try:
        return [(await orchestrator.submit(order))[0] for order in orders]
    finally:
        await orchestrator.stop()


def test_an_operation_no_venue_declares_is_rejected_before_any_venue_sees_it(
    oms: UnifiedOrderManager, run: Any
) -> None:
    async def body() -> None:
        venue = _Venues([BINANCE_BTC, BYBIT_BTC], {})
        bet = replace(_order("bet-1", ANY_BTC), terms=BET)
        ioc = replace(_order("ioc-1"), terms=OrderTerms(time_in_force=TimeInForce.IOC))
        rejected_bet, rejected_ioc = await _submit(oms, venue, bet, ioc)
        assert venue.sent == []
        assert rejected_bet.status is OrderStatus.REJECTED
        assert rejected_bet.rejection_reason == (
            "UNSUPPORTED_OPERATION: no connected venue supports operation 'bet'"
        )
        assert rejected_ioc.rejection_reason == (
            "UNSUPPORTED_OPERATION: no connected venue supports time_in_force 'IOC'"
        )
        stored = await oms.get("bet-1")
        assert stored is not None and stored.terms == BET  # recorded with its terms
        events = await oms.events(rejected_bet.order_id)
        assert [e["kind"] for e in events] == ["submitted", "routed"]
        assert events[-1]["detail"]["code"] == "UNSUPPORTED_OPERATION"

    run(body())


def test_an_operation_goes_only_to_a_venue_declaring_it(oms: UnifiedOrderManager, run: Any) -> None:
    async def body() -> None:
        venue = _Venues([BINANCE_BTC, BYBIT_BTC], {BYBIT_BTC: BETTING})
        bet = replace(_order("bet-2", ANY_BTC), terms=BET)
        to_binance = replace(_order("bet-3", BINANCE_BTC), terms=BET)
        trade = _order("trade-1")
        routed, refused, plain = await _submit(oms, venue, bet, to_binance, trade)
        assert routed.status is OrderStatus.SUBMITTED and routed.venue_key == BYBIT_BTC
        assert routed.terms == replace(BET, venue_type=VenueType.EXTERNAL_SDK)
        assert refused.status is OrderStatus.REJECTED  # Binance does not take bets
        assert "supports operation 'bet'" in (refused.rejection_reason or "")
        assert plain.status is OrderStatus.SUBMITTED and plain.venue_key == BINANCE_BTC
        assert plain.terms.venue_type is VenueType.NAUTILUS
        sent = {order.order_id: order for order in venue.orders_sent}
        assert set(sent) == {routed.order_id, plain.order_id}
        assert sent[routed.order_id].terms == BET  # the venue gets the bet's odds and selection
        assert sent[plain.order_id].terms is None  # a plain trade travels as before

    run(body())
