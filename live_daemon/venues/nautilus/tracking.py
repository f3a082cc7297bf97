"""Order tracking in the paper node: each of our orders' family of Nautilus orders, and the
Nautilus order events :class:`OrderTracker` turns into the
:class:`~live_daemon.venues.gateway.VenueEvent` objects the daemon receives.

An order's *family* is the Nautilus order itself for a NORMAL order, and the children an
algorithm spawned from its primary otherwise (the primary never leaves the node). A stopped
order (``cancel()``, a rejection midway, an algorithm's window ending) gets its final event
once every order of its family is closed.

Events (:class:`~live_daemon.venues.gateway.VenueEvent`), per our order_id:

- ``accepted`` once: the venue accepted the order; for an algorithm order, the algorithm
  took it (its children are not acknowledged separately);
- ``filled`` per fill (children's included), with a :class:`Fill` and ``detail``
  ``filled_quantity``, ``leaves_quantity``, ``final`` (true on the last fill);
- ``canceled`` once, final, after ``cancel()`` (or an expiry) once every order of the family
  is closed (``detail["filled_quantity"]``);
- ``rejected`` once, final: invalid request, instrument not traded here, risk-engine
  denial or venue rejection. A child rejected midway stops the algorithm:
  ``rejected`` if nothing filled, else ``canceled`` with the reason.

``Fill.ts`` is the wall clock when the gateway received the fill: the sandbox's own event
times come from a test clock that only advances with the data (the last tick's time,
``detail["ts_venue_ns"]``), so they can precede the submission.

Threads: events reach :meth:`OrderTracker.on_order_event` on whatever thread NautilusTrader
publishes from (it runs time alerts, hence the TWAP slices, on a Rust timer thread) and are
handled on the loop; ``on_event`` is always called on the loop, through
``call_soon_threadsafe`` (the gateway's ``emit``), never from inside Nautilus.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.model.enums import OrderStatus, liquidity_side_to_str, order_status_to_str
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.orders import Order

from live_daemon.domain import Fill
from live_daemon.venues.gateway import VenueEvent, VenueEventKind
from live_daemon.venues.nautilus.execution import GatewayStrategy
from live_daemon.venues.nautilus.orders import (
    ORDER_ID_TAG,
    TrackedOrder,
    TrackedOrders,
    client_order_id_for,
    venue_units,
)

log = logging.getLogger(__name__)

_STATUS = {
    OrderStatus.INITIALIZED: "SUBMITTED",
    OrderStatus.SUBMITTED: "SUBMITTED",
    OrderStatus.EMULATED: "ACCEPTED",
    OrderStatus.RELEASED: "ACCEPTED",
    OrderStatus.ACCEPTED: "ACCEPTED",
    OrderStatus.TRIGGERED: "ACCEPTED",
    OrderStatus.PENDING_UPDATE: "ACCEPTED",
    OrderStatus.PENDING_CANCEL: "ACCEPTED",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.EXPIRED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
    OrderStatus.DENIED: "REJECTED",
}


def daemon_status(order: Order) -> str:
    """A Nautilus order's status in the daemon's vocabulary."""
    status = _STATUS.get(order.status, order_status_to_str(order.status))
    if status == "ACCEPTED" and order.filled_qty.as_decimal() > 0:
        return "PARTIALLY_FILLED"
    return status


class OrderTracker:
    """The families of our orders in one node, and their events (module docstring).

    Made once the node is built, with what it works on: the node's ``cache``, the
    ``strategy`` our orders go through (the tracker receives its order events from then
    on), the node's exec ``algorithms`` by id (their clocks hold the slices' timers), the
    gateway's ``orders``, ``emit`` (hands an event to the daemon: queued on the loop) and
    ``in_loop`` (runs a call on the loop: at once on the loop's thread, otherwise through
    ``call_soon_threadsafe``). :meth:`close` when the node stops: the tracker then
    reports only what is already under way (acceptances, fills), never a final event."""

    def __init__(
        self,
        cache: CacheFacade,
        strategy: GatewayStrategy,
        algorithms: Mapping[str, ExecAlgorithm],
        orders: TrackedOrders,
        *,
        emit: Callable[[VenueEvent], None],
        in_loop: Callable[..., None],
    ) -> None:
        self._cache: CacheFacade | None = cache
        self._strategy = strategy
        self._algorithms = dict(algorithms)
        self._orders = orders
        self._emit = emit
        self._in_loop = in_loop
        strategy.forward_order_events(self.on_order_event)

    def close(self) -> None:
        """The node is stopping: from now on nothing is asked of it."""
        self._cache = None

    # -- what the gateway asks -------------------------------------------------------------

    def cancel(self, tracked: TrackedOrder) -> None:
        """Stop an open order: no more slices, every open order of its family canceled;
        ``canceled`` once they are all closed."""
        tracked.cancel_requested = True
        self._stop_family(tracked)
        self._maybe_finish(tracked)

    def order_state(self, order_id: str) -> str | None:
        """What the node knows of an order, in the daemon's vocabulary (see the gateway's
        ``order_state``); ``None`` if it never saw it."""
        assert self._cache is not None
        cache = self._cache
        cid = client_order_id_for(order_id)
        primary = cache.order(cid)
        tracked = self._orders.get(order_id)
        if primary is None:  # refused before reaching Nautilus, or never seen
            return "REJECTED" if tracked is not None and tracked.final else None
        if primary.exec_algorithm_id is None:
            return daemon_status(primary)
        children = [o for o in cache.orders_for_exec_spawn(cid) if o.client_order_id != cid]
        filled = sum((o.filled_qty.as_decimal() for o in children), Decimal(0))
        if filled >= primary.quantity.as_decimal():
            return "FILLED"
        if not primary.is_closed or any(not o.is_closed for o in children):
            return "PARTIALLY_FILLED" if filled > 0 else "ACCEPTED"
        refused = tracked is not None and tracked.stop_reason is not None
        return "REJECTED" if refused and filled == 0 else "CANCELED"

    # -- families --------------------------------------------------------------------------

    def _family(self, tracked: TrackedOrder) -> list[Order]:
        """Every Nautilus order of ``tracked`` that goes to the venue (not the primary of an
        algorithm order: it never leaves the node)."""
        assert self._cache is not None
        cache = self._cache
        cid = tracked.client_order_id
        if tracked.algorithm is None:
            order = cache.order(cid)
            return [] if order is None else [order]
        return [o for o in cache.orders_for_exec_spawn(cid) if o.client_order_id != cid]

    def _open_family(self, tracked: TrackedOrder) -> list[Order]:
        return [o for o in self._family(tracked) if not o.is_closed]

    def _stop_family(self, tracked: TrackedOrder) -> None:
        """No more slices; cancel every open order of the family."""
        assert self._cache is not None
        if tracked.algorithm is not None:
            key = tracked.client_order_id.value
            clock = self._algorithms[tracked.algorithm].clock
            for name in clock.timer_names:
                if name.startswith(f"{key}:"):
                    clock.cancel_timer(name)
        for order in self._open_family(tracked):
            if not order.is_pending_cancel:
                self._strategy.cancel_order(order)
        if tracked.algorithm is not None:
            primary = self._cache.order(tracked.client_order_id)
            if primary is not None and not primary.is_closed:
                self._strategy.cancel_order(primary)  # canceled locally by the algorithm
            else:
                tracked.primary_closed = True

    def _maybe_finish(self, tracked: TrackedOrder) -> None:
        """The final ``canceled``/``rejected`` event once a stopped order's family is closed."""
        if tracked.final or self._cache is None:
            return
        if not (tracked.cancel_requested or tracked.stop_reason is not None):
            return
        if tracked.algorithm is not None and not tracked.primary_closed:
            return
        if self._open_family(tracked):
            return
        tracked.final = True
        detail: dict[str, Any] = {
            "client_order_id": tracked.client_order_id.value,
            "filled_quantity": str(tracked.filled),
        }
        kind = VenueEventKind.CANCELED
        if tracked.cancel_reason is not None:
            detail["reason"] = tracked.cancel_reason
        if tracked.stop_reason is not None:
            detail["reason"] = tracked.stop_reason
            if tracked.filled == 0:
                kind = VenueEventKind.REJECTED
        self._emit(VenueEvent(kind, tracked.order_id, tracked.venue_key, detail))

    # -- Nautilus events -------------------------------------------------------------------

    def on_order_event(self, event: OrderEvent) -> None:
        """From the strategy, on whatever thread Nautilus publishes from."""
        self._in_loop(self._handle_event, event)

    def _order_id_of(self, client_order_id: ClientOrderId) -> str | None:
        order_id = self._orders.order_id_of(client_order_id)
        if order_id is not None or self._cache is None:
            return order_id
        order = self._cache.order(client_order_id)
        if order is None:
            return None
        if order.exec_spawn_id is not None:
            order_id = self._orders.order_id_of(order.exec_spawn_id)
        if order_id is None:
            for tag in order.tags or []:
                if tag.startswith(ORDER_ID_TAG):
                    order_id = tag[len(ORDER_ID_TAG) :]
        if order_id is not None:
            self._orders.link(client_order_id, order_id)
        return order_id

    def _handle_event(self, event: OrderEvent) -> None:
        order_id = self._order_id_of(event.client_order_id)
        tracked = self._orders.get(order_id) if order_id is not None else None
        if tracked is None:
            return
        if tracked.final:
            if isinstance(event, OrderFilled):
                log.error(
                    "paper_venue_fill_after_final order_id=%s client_order_id=%s",
                    tracked.order_id,
                    event.client_order_id,
                )
            return
        cid = event.client_order_id
        is_primary = cid == tracked.client_order_id
        base: dict[str, Any] = {"client_order_id": cid.value}
        if isinstance(event, OrderAccepted):
            if not tracked.accepted:
                tracked.accepted = True
                base["venue_order_id"] = event.venue_order_id.value
                self._emit(
                    VenueEvent(VenueEventKind.ACCEPTED, tracked.order_id, tracked.venue_key, base)
                )
        elif isinstance(event, OrderFilled):
            self._on_fill(tracked, event, base)
        elif isinstance(event, OrderCanceled | OrderExpired):
            if tracked.algorithm is not None and is_primary:
                tracked.primary_closed = True
                if not tracked.cancel_requested:  # the algorithm closed it: its window ended
                    tracked.cancel_requested = True
                    tracked.cancel_reason = f"the {tracked.algorithm} window ended"
            elif not tracked.cancel_requested and tracked.algorithm is None:
                # Canceled or expired by the venue itself: the order is over.
                tracked.cancel_requested = True
                tracked.cancel_reason = (
                    "expired" if isinstance(event, OrderExpired) else "canceled by the venue"
                )
            self._maybe_finish(tracked)
        elif isinstance(event, OrderRejected | OrderDenied):
            reason = str(event.reason)
            if is_primary and tracked.filled == 0:
                tracked.final = True
                base["reason"] = reason
                base["filled_quantity"] = "0"
                self._emit(
                    VenueEvent(VenueEventKind.REJECTED, tracked.order_id, tracked.venue_key, base)
                )
                return
            tracked.stop_reason = f"{cid} rejected: {reason}"
            if is_primary:
                tracked.primary_closed = True
            self._stop_family(tracked)
            self._maybe_finish(tracked)
        elif isinstance(event, OrderCancelRejected):
            log.warning(
                "paper_venue_cancel_rejected order_id=%s client_order_id=%s reason=%s",
                tracked.order_id,
                cid,
                event.reason,
            )

    def _on_fill(self, tracked: TrackedOrder, event: OrderFilled, base: dict[str, Any]) -> None:
        assert tracked.spec is not None
        quantity = venue_units(event.last_qty.as_decimal(), tracked.spec)
        tracked.filled += quantity
        if not tracked.accepted:  # a fill implies acceptance, under the fill's venue order id
            tracked.accepted = True
            accepted = {**base, "venue_order_id": event.venue_order_id.value}
            self._emit(
                VenueEvent(VenueEventKind.ACCEPTED, tracked.order_id, tracked.venue_key, accepted)
            )
        now = time.time_ns()
        fill = Fill(
            fill_id=event.trade_id.value,
            order_id=tracked.order_id,
            quantity=quantity,
            price=event.last_px.as_decimal(),
            fee=event.commission.as_decimal(),
            fee_currency=event.commission.currency.code,
            liquidity_side=liquidity_side_to_str(event.liquidity_side),
            ts=dt.datetime.fromtimestamp(now / 1e9, tz=dt.UTC),
        )
        tracked.fills.append(fill)
        final = tracked.filled >= tracked.quantity
        detail = {
            **base,
            "venue_order_id": event.venue_order_id.value,
            "trade_id": event.trade_id.value,
            "filled_quantity": str(tracked.filled),
            "leaves_quantity": str(max(tracked.quantity - tracked.filled, Decimal(0))),
            "final": final,
            "child": event.client_order_id != tracked.client_order_id,
            "ts_venue_ns": int(event.ts_event),
            "latency_ns": now - tracked.submitted_ns,
        }
        if final:
            tracked.final = True
            if tracked.algorithm is not None:
                self._stop_family(tracked)  # no slice should be left; make sure
        self._emit(
            VenueEvent(VenueEventKind.FILLED, tracked.order_id, tracked.venue_key, detail, fill)
        )
