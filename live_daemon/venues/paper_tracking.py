"""The paper gateway's order tracking: each of our orders' family of Nautilus orders, and
the Nautilus order events it turns into
:class:`~live_daemon.venues.paper_events.VenueEvent` objects.

:class:`OrderTracking` is a base class of
:class:`~live_daemon.venues.paper.PaperVenueGateway` (it holds no state of its own: the
attributes it uses are set by the gateway). An order's *family* is the Nautilus order itself
for a NORMAL order, and the children an algorithm spawned from its primary otherwise (the
primary never leaves the node). A stopped order (``cancel()``, a rejection midway, an
algorithm's window ending) gets its final event once every order of its family is closed.

Threads: events reach :meth:`OrderTracking._on_nautilus_event` on whatever thread
NautilusTrader publishes from (it runs time alerts, hence the TWAP slices, on a Rust timer
thread) and are handled on the loop; ``on_event`` is always called on the loop, through
``call_soon_threadsafe``, never from inside Nautilus.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.enums import liquidity_side_to_str
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
from live_daemon.venues.gateway import VenueEvent
from live_daemon.venues.paper_events import (
    ORDER_ID_TAG,
    GatewayStrategy,
    _Tracked,
    _venue_units,
)

log = logging.getLogger("live_daemon.venues.paper")


class OrderTracking:
    """Families of Nautilus orders and their events (module docstring)."""

    _on_event: Callable[[VenueEvent], None]
    _loop: asyncio.AbstractEventLoop | None
    _thread_id: int | None
    _node: TradingNode | None
    _strategy: GatewayStrategy | None
    _algorithms: dict[str, ExecAlgorithm]
    _orders: dict[str, _Tracked]
    _by_client_id: dict[str, str]  # ClientOrderId value -> our order_id

    # -- events for the daemon -------------------------------------------------------------

    def _emit(self, event: VenueEvent) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: VenueEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception(
                "paper_venue_on_event_failed kind=%s order_id=%s", event.kind, event.order_id
            )

    # -- families --------------------------------------------------------------------------

    def _family(self, tracked: _Tracked) -> list[Order]:
        """Every Nautilus order of ``tracked`` that goes to the venue (not the primary of an
        algorithm order: it never leaves the node)."""
        assert self._node is not None
        cache = self._node.cache
        cid = tracked.client_order_id
        if tracked.algorithm is None:
            order = cache.order(cid)
            return [] if order is None else [order]
        return [o for o in cache.orders_for_exec_spawn(cid) if o.client_order_id != cid]

    def _open_family(self, tracked: _Tracked) -> list[Order]:
        return [o for o in self._family(tracked) if not o.is_closed]

    def _stop_family(self, tracked: _Tracked) -> None:
        """No more slices; cancel every open order of the family."""
        assert self._node is not None and self._strategy is not None
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
            primary = self._node.cache.order(tracked.client_order_id)
            if primary is not None and not primary.is_closed:
                self._strategy.cancel_order(primary)  # canceled locally by the algorithm
            else:
                tracked.primary_closed = True

    def _maybe_finish(self, tracked: _Tracked) -> None:
        """The final ``canceled``/``rejected`` event once a stopped order's family is closed."""
        if tracked.final or self._node is None:
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
        kind = "canceled"
        if tracked.cancel_reason is not None:
            detail["reason"] = tracked.cancel_reason
        if tracked.stop_reason is not None:
            detail["reason"] = tracked.stop_reason
            if tracked.filled == 0:
                kind = "rejected"
        self._emit(VenueEvent(kind, tracked.order_id, tracked.venue_key, detail))

    # -- Nautilus events -------------------------------------------------------------------

    def _on_nautilus_event(self, event: OrderEvent) -> None:
        """From the strategy, on whatever thread Nautilus publishes from."""
        if threading.get_ident() != self._thread_id and self._loop is not None:
            self._loop.call_soon_threadsafe(self._handle_event, event)
        else:
            self._handle_event(event)

    def _order_id_of(self, client_order_id: ClientOrderId) -> str | None:
        order_id = self._by_client_id.get(client_order_id.value)
        if order_id is not None or self._node is None:
            return order_id
        order = self._node.cache.order(client_order_id)
        if order is None:
            return None
        if order.exec_spawn_id is not None:
            order_id = self._by_client_id.get(order.exec_spawn_id.value)
        if order_id is None:
            for tag in order.tags or []:
                if tag.startswith(ORDER_ID_TAG):
                    order_id = tag[len(ORDER_ID_TAG) :]
        if order_id is not None:
            self._by_client_id[client_order_id.value] = order_id
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
                self._emit(VenueEvent("accepted", tracked.order_id, tracked.venue_key, base))
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
                self._emit(VenueEvent("rejected", tracked.order_id, tracked.venue_key, base))
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

    def _on_fill(self, tracked: _Tracked, event: OrderFilled, base: dict[str, Any]) -> None:
        assert tracked.spec is not None
        quantity = _venue_units(event.last_qty.as_decimal(), tracked.spec)
        tracked.filled += quantity
        if not tracked.accepted:  # a fill implies acceptance
            tracked.accepted = True
            self._emit(VenueEvent("accepted", tracked.order_id, tracked.venue_key, dict(base)))
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
        self._emit(VenueEvent("filled", tracked.order_id, tracked.venue_key, detail, fill))
