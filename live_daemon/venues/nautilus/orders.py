"""Our orders as the paper gateway keeps them: a :class:`TrackedOrder` per order_id, all of
them in :class:`TrackedOrders`, and how they are named and measured inside the node.

Identifiers: an order's ``ClientOrderId`` is our ``order_id`` (a hash-derived id when the
order_id is not a valid Nautilus identifier, :func:`client_order_id_for`), and its tags
carry ``order_id=...`` (:data:`ORDER_ID_TAG`). Children spawned by an algorithm
(``{primary}-E{n}``) map back through their ``exec_spawn_id``.

Units: quantities and book sizes at the gateway's API are in the venue's own unit (the
instrument reference's: contracts on OKX swaps), as elsewhere in the daemon; inside the node
they are base units (``to_nautilus_instrument``), converted with ``quantity_scale(spec)``
(:func:`venue_units` back to venue units).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from decimal import Decimal

from nautilus_trader.model.identifiers import ClientOrderId

from execution_core.instruments.reference import InstrumentSpec
from execution_core.nautilus.instruments import quantity_scale
from live_daemon.domain import Fill

ORDER_ID_TAG = "order_id="


def client_order_id_for(order_id: str) -> ClientOrderId:
    """Our order_id as a ``ClientOrderId``; a stable hash when Nautilus rejects the text."""
    try:
        if order_id and order_id.isascii() and not any(c.isspace() for c in order_id):
            return ClientOrderId(order_id)
    except ValueError:
        pass
    return ClientOrderId("O-" + hashlib.sha256(order_id.encode()).hexdigest()[:32])


def venue_units(node_units: Decimal, spec: InstrumentSpec) -> Decimal:
    """A node (base units) quantity in ``spec``'s venue units, on its size grid."""
    scale = quantity_scale(spec)
    if scale == 1:
        return node_units
    return (node_units / scale).quantize(spec.size_increment)


@dataclass
class TrackedOrder:
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


class TrackedOrders:
    """Every order the gateway was asked for since its node last started, by order_id, and
    the Nautilus ``ClientOrderId`` values known to belong to them.

    It lives as long as the gateway: cleared when a node starts (a new node knows nothing
    of a previous one's orders), kept when it stops (``fills``, the open count). Used on
    the gateway's loop only."""

    def __init__(self) -> None:
        self._orders: dict[str, TrackedOrder] = {}
        self._by_client_id: dict[str, str] = {}  # ClientOrderId value -> our order_id

    def clear(self) -> None:
        self._orders.clear()
        self._by_client_id.clear()

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def get(self, order_id: str) -> TrackedOrder | None:
        return self._orders.get(order_id)

    def add(self, tracked: TrackedOrder) -> None:
        """An order going to the node; its primary's client order id maps back to it."""
        self._orders[tracked.order_id] = tracked
        self._by_client_id[tracked.client_order_id.value] = tracked.order_id

    def add_refused(self, order_id: str, venue_key: str) -> TrackedOrder:
        """An order refused before reaching the node: final at once (a resubmit of its
        order_id is then ignored); its client order id is not mapped."""
        tracked = TrackedOrder(
            order_id, venue_key, client_order_id_for(order_id), None, Decimal(0), None,
            time.time_ns(), final=True,
        )  # fmt: skip
        self._orders[order_id] = tracked
        return tracked

    def order_id_of(self, client_order_id: ClientOrderId) -> str | None:
        """Our order_id of a Nautilus order, if known."""
        return self._by_client_id.get(client_order_id.value)

    def link(self, client_order_id: ClientOrderId, order_id: str) -> None:
        """Remember that ``client_order_id`` (a child, or a primary) belongs to ``order_id``."""
        self._by_client_id[client_order_id.value] = order_id

    def open_count(self) -> int:
        return sum(1 for t in self._orders.values() if not t.final)

    def fills(self, order_id: str) -> list[Fill]:
        tracked = self._orders.get(order_id)
        return list(tracked.fills) if tracked is not None else []
