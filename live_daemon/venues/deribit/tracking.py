"""What Deribit tells of our orders, as the daemon's events: :class:`OrderTracker`.

Deribit reports an order through the reply to ``private/buy``/``sell`` (the order and its
immediate trades), ``user.orders.*`` and ``user.trades.*`` notifications, and the replies
to cancels and reads, in no guaranteed order and sometimes twice. The tracker makes one
story of them per order, by our id (the ``label``):

- ``accepted`` once (``detail["venue_order_id"]``), at the first sign of the order, a fill
  included (a fill implies acceptance);
- ``filled`` once per trade (by ``trade_id``, however often it is told);
- ``canceled`` / ``rejected`` once, final; an order never moves backwards (an ``open``
  notification after ``filled`` or ``cancelled`` changes nothing);
- ``completed`` once, after the ``filled`` events of trades that add up to the order's
  amount: the venue's order is filled in full (the daemon rounds a BTC quantity down to
  whole USD contracts, so the OMS learns from this, not from its own sum, that nothing more
  will fill).

Orders without a label are not ours and are ignored. Plain logic, no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from live_daemon.venues.deribit import messages as m
from live_daemon.venues.deribit.orders import fill
from live_daemon.venues.gateway import VenueEvent, VenueEventKind

log = logging.getLogger(__name__)

_OPEN, _FINAL = 1, 2
_RANK = {
    m.OrderState.untriggered: _OPEN,
    m.OrderState.open: _OPEN,
    m.OrderState.filled: _FINAL,
    m.OrderState.cancelled: _FINAL,
    m.OrderState.rejected: _FINAL,
}


@dataclass
class TrackedOrder:
    order_id: str  # ours, Deribit's label
    venue_key: str
    venue_order_id: str | None = None
    rank: int = 0
    accepted: bool = False
    trade_ids: set[str] = field(default_factory=set)
    amount: Decimal | None = None  # what the venue has of the order (USD for inverse)
    traded: Decimal = Decimal(0)  # the sum of its trades told so far
    completed: bool = False


class OrderTracker:
    """Per-order state from every source (module docstring). ``key_of`` maps Deribit's
    instrument_name to our canonical key (``None`` for one we do not trade)."""

    def __init__(self, key_of: Callable[[str], str | None]) -> None:
        self._key_of = key_of
        self._orders: dict[str, TrackedOrder] = {}
        self._by_venue_id: dict[str, str] = {}
        self.duplicates_ignored = 0
        self.stale_ignored = 0

    def get(self, order_id: str) -> TrackedOrder | None:
        return self._orders.get(order_id)

    def expect(self, order_id: str, venue_key: str) -> None:
        """Before sending: so that notifications racing the reply find the order."""
        self._orders.setdefault(order_id, TrackedOrder(order_id, venue_key))

    def order_id_of(self, venue_order_id: str) -> str | None:
        return self._by_venue_id.get(venue_order_id)

    def _tracked(self, label: str | None, venue_order_id: str, name: str) -> TrackedOrder | None:
        order_id = label or self._by_venue_id.get(venue_order_id)
        if not order_id:
            return None  # not ours: we always send a label
        tracked = self._orders.get(order_id)
        if tracked is None:
            key = self._key_of(name)
            if key is None:
                log.warning("deribit_order_of_unknown_instrument instrument_name=%s", name)
                return None
            tracked = self._orders[order_id] = TrackedOrder(order_id, key)
        if tracked.venue_order_id is None:
            tracked.venue_order_id = venue_order_id
            self._by_venue_id[venue_order_id] = order_id
        return tracked

    def _accept(self, tracked: TrackedOrder, events: list[VenueEvent]) -> None:
        if not tracked.accepted:
            tracked.accepted = True
            events.append(self._event(VenueEventKind.ACCEPTED, tracked))

    @staticmethod
    def _event(kind: VenueEventKind, tracked: TrackedOrder, **detail: object) -> VenueEvent:
        base: dict[str, object] = {"venue_order_id": tracked.venue_order_id}
        base.update(detail)
        return VenueEvent(kind, tracked.order_id, tracked.venue_key, base)

    def on_order(self, order: m.Order) -> list[VenueEvent]:
        """The events an order message adds (none for a repeat or a stale state)."""
        tracked = self._tracked(order.label, order.order_id, order.instrument_name)
        if tracked is None:
            return []
        events: list[VenueEvent] = []
        state = order.order_state
        if state is not m.OrderState.rejected:
            self._accept(tracked, events)
        tracked.amount = order.amount
        self._complete_if_traded(tracked, events)
        rank = _RANK[state]
        if rank <= tracked.rank:
            if rank < tracked.rank:
                self.stale_ignored += 1
            return events
        tracked.rank = rank
        if state is m.OrderState.cancelled:
            events.append(
                self._event(
                    VenueEventKind.CANCELED,
                    tracked,
                    filled_quantity=str(order.filled_amount),
                    reason="cancelled at Deribit",
                )
            )
        elif state is m.OrderState.rejected:
            events.append(
                self._event(VenueEventKind.REJECTED, tracked, reason="rejected by Deribit")
            )
        return events

    def on_trade(self, trade: m.Trade) -> list[VenueEvent]:
        """The events a trade adds: ``filled`` once per trade_id."""
        tracked = self._tracked(trade.label, trade.order_id, trade.instrument_name)
        if tracked is None:
            return []
        if trade.trade_id in tracked.trade_ids:
            self.duplicates_ignored += 1
            return []
        tracked.trade_ids.add(trade.trade_id)
        events: list[VenueEvent] = []
        self._accept(tracked, events)
        event = self._event(VenueEventKind.FILLED, tracked, trade_id=trade.trade_id)
        events.append(
            VenueEvent(
                event.kind,
                event.order_id,
                event.venue_key,
                event.detail,
                fill(trade, tracked.order_id),
            )
        )
        tracked.traded += trade.amount
        self._complete_if_traded(tracked, events)
        return events

    def _complete_if_traded(self, tracked: TrackedOrder, events: list[VenueEvent]) -> None:
        if tracked.completed or tracked.amount is None or tracked.traded < tracked.amount:
            return
        tracked.completed = True
        events.append(self._event(VenueEventKind.COMPLETED, tracked, amount=str(tracked.amount)))

    def rejected(self, order_id: str, venue_key: str, reason: str, code: int | None) -> VenueEvent:
        """The ``rejected`` event of an order refused before or at the send."""
        tracked = self._orders.setdefault(order_id, TrackedOrder(order_id, venue_key))
        tracked.rank = _FINAL
        detail: dict[str, object] = {"reason": reason}
        if code is not None:
            detail["code"] = code
        return VenueEvent(VenueEventKind.REJECTED, order_id, venue_key, detail)
