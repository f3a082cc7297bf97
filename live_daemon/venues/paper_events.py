"""What the paper venue tells the daemon, and the vocabulary of its gateway.

:class:`~live_daemon.venues.paper.PaperVenueGateway` reports
:class:`~live_daemon.venues.gateway.VenueEvent` objects and raises
:class:`~live_daemon.venues.gateway.VenueError` (both defined with the gateway contract, free
of NautilusTrader); this module holds what the gateway's parts share: the
:class:`GatewayStrategy` bridge, the per-order bookkeeping (:class:`_Tracked`), identifiers,
unit and status conversions.

Events (:class:`VenueEvent`), per our order_id:

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

Identifiers: an order's ``ClientOrderId`` is our ``order_id`` (a hash-derived id when the
order_id is not a valid Nautilus identifier, :func:`client_order_id_for`), and its tags
carry ``order_id=...`` (:data:`ORDER_ID_TAG`). Children spawned by an algorithm
(``{primary}-E{n}``) map back through their ``exec_spawn_id``.

Units: quantities and book sizes at the gateway's API are in the venue's own unit (the
instrument reference's: contracts on OKX swaps), as elsewhere in the daemon; inside the node
they are base units (``to_nautilus_instrument``), converted with ``quantity_scale(spec)``
(:func:`_venue_units` back to venue units).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import OrderStatus, order_status_to_str
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from execution_core.instruments.reference import InstrumentSpec
from execution_core.nautilus.instruments import quantity_scale
from live_daemon.domain import Fill

STRATEGY_ID = "PAPER-GATEWAY"
ORDER_ID_TAG = "order_id="


class GatewayStrategy(Strategy):
    """The in-node bridge: orders go out through it, their events come back."""

    def __init__(self, on_order_event: Callable[[OrderEvent], None]) -> None:
        super().__init__(
            StrategyConfig(strategy_id=STRATEGY_ID, log_events=False, log_commands=False)
        )
        self._forward_event = on_order_event

    def on_start(self) -> None:
        pass  # nothing to subscribe: the gateway reads quotes from the cache

    def on_stop(self) -> None:
        pass

    def on_order_event(self, event: OrderEvent) -> None:
        self._forward_event(event)


def client_order_id_for(order_id: str) -> ClientOrderId:
    """Our order_id as a ``ClientOrderId``; a stable hash when Nautilus rejects the text."""
    try:
        if order_id and order_id.isascii() and not any(c.isspace() for c in order_id):
            return ClientOrderId(order_id)
    except ValueError:
        pass
    return ClientOrderId("O-" + hashlib.sha256(order_id.encode()).hexdigest()[:32])


@dataclass
class _Tracked:
    """The gateway's view of one of our orders and its family of Nautilus orders."""

    order_id: str
    venue_key: str
    client_order_id: ClientOrderId  # the primary
    algorithm: str | None  # None for NORMAL
    quantity: Decimal  # venue units
    spec: InstrumentSpec | None  # None when refused before reaching the node
    submitted_ns: int
    filled: Decimal = Decimal(0)
    fills: list[Fill] = field(default_factory=list)
    accepted: bool = False
    final: bool = False
    cancel_requested: bool = False
    primary_closed: bool = False  # algorithm orders: the primary was canceled
    stop_reason: str | None = None  # why the order stopped early (a rejection)
    cancel_reason: str | None = None  # set when the venue canceled it on its own


def _venue_units(node_units: Decimal, spec: InstrumentSpec) -> Decimal:
    """A node (base units) quantity in ``spec``'s venue units, on its size grid."""
    scale = quantity_scale(spec)
    if scale == 1:
        return node_units
    return (node_units / scale).quantize(spec.size_increment)


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


def _daemon_status(order: Order) -> str:
    status = _STATUS.get(order.status, order_status_to_str(order.status))
    if status == "ACCEPTED" and order.filled_qty.as_decimal() > 0:
        return "PARTIALLY_FILLED"
    return status
