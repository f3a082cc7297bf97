"""The venue contract the orchestrator works against, free of NautilusTrader imports (the
daemon process never loads NautilusTrader in paper mode: the node lives in the venue
process).

- :class:`VenueGateway`: what the orchestrator calls. ``submit`` and ``cancel`` return at
  once and the venue answers with events; ``last_quote`` is the latest top of book in the
  venue's units; ``order_state`` says what the venue knows of an order (a coroutine when
  the venue is across a connection);
- :class:`VenueEvent`: what comes back, per order (the kinds are described in
  :mod:`live_daemon.venues.nautilus.tracking`);
- :class:`VenueOrderRecord` and :class:`VenueState`: what a venue's own record says of an
  order, and the whole record at one instant. The venue's record, not the OMS, is the truth
  about what happened at a venue; the daemon reconciles with it. Quantities are in the
  venue's units (the daemon converts, as the event consumer does for fills);
- :class:`VenueError`: a venue that could not start, or was used before it started;
  :class:`VenueUnavailable`: a venue that cannot answer *now* (not connected, the connection
  was lost before the answer, no answer in time). It is never an answer: "the venue has no
  such order" is ``None``, "the venue could not be asked" is this exception.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from execution_core.errors import ExecutionServicesError
from live_daemon.domain import Fill
from live_daemon.operations import OrderTerms, VenueCapabilities

Quote = tuple[Decimal, Decimal, Decimal, Decimal, int]
"""``(bid, bid size, ask, ask size, ts_ns)``, sizes in the venue's units."""

ORDER_STATUSES = ("SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED")
"""A venue order's status, in the daemon's vocabulary (``OrderStatus`` values)."""
OPEN_STATUSES = ("SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED")


class VenueEventKind(StrEnum):
    """What a venue reports of one of our orders (:attr:`VenueEvent.kind`; when each comes:
    :mod:`live_daemon.venues.nautilus.tracking`). ``canceled`` and ``rejected`` are final."""

    ACCEPTED = "accepted"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    # the venue's order is filled in full, after its fills' events: an order the daemon
    # sent rounded down onto the venue's contract grid (Deribit's USD contracts) is over
    # although its fills, in base units, add up to a little less than it asked for
    COMPLETED = "completed"


CLOSING_KINDS = (VenueEventKind.CANCELED, VenueEventKind.REJECTED)
"""The kinds that end an order at the venue."""


class VenueError(ExecutionServicesError):
    """The paper venue could not start (or was used before it started)."""


class VenueUnavailable(VenueError):
    """The venue cannot answer now (not connected, connection lost, no answer in time).
    Never to be read as "the venue has no such order"."""


class VenueNotSent(VenueUnavailable):
    """The request never left (no session, closed while it waited for rate-limit credits,
    the wait for credits too long): nothing happened at the venue, so an order may be
    rejected at once; no lookup needed, and the venue itself did not fail."""


@dataclass(frozen=True)
class VenueEvent:
    """An order event for the daemon."""

    kind: VenueEventKind
    order_id: str
    venue_key: str
    detail: dict[str, Any] = field(default_factory=dict)
    fill: Fill | None = None


@dataclass(frozen=True, slots=True)
class VenueOrderRecord:
    """One of our orders as the venue's record has it.

    ``status`` is one of :data:`ORDER_STATUSES`; ``quantity`` and ``filled_quantity`` are in
    the venue's units; ``reason`` says why a CANCELED or REJECTED order ended (``None`` if
    the venue gave none); ``fills`` are the order's fills in the venue's sequence (empty in
    :class:`VenueState`, whose fills are listed once, apart). ``from_children``: the order
    is the parent of an algorithm the daemon ran, which the venue never saw: its record is
    told from its children's (their fills, summed; open while one is)."""

    order_id: str
    venue_key: str
    side: str
    quantity: Decimal
    status: str
    filled_quantity: Decimal
    reason: str | None
    fills: tuple[Fill, ...] = ()
    from_children: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class VenueState:
    """The venue's whole record at ``read_at``: every order (without its fills), every
    fill as ``(venue_key, fill)`` in the venue's sequence, and the position per venue_key
    (the signed sum of its fills, BUY + and SELL −, venue units). ``last_fill_seq`` is the
    sequence number of the last fill included: ``fills_since(last_fill_seq)`` continues
    from there."""

    read_at: dt.datetime
    orders: list[VenueOrderRecord]
    fills: list[tuple[str, Fill]]
    positions: dict[str, Decimal]
    last_fill_seq: int = 0


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """An order as it goes to a venue: our order id (it travels to the venue, so that the
    order is found, never sent twice), the concrete instrument, and the quantity and price
    in the venue's units; the execution algorithm runs at the venue. ``terms``: the
    operation and its fields, for a venue that declared it takes them (``None`` for a
    plain GTC trade, the only order a NautilusTrader venue takes)."""

    order_id: str
    venue_key: str
    side: str  # BUY | SELL
    quantity: Decimal
    order_type: str  # MARKET | LIMIT
    price: Decimal | None = None
    exec_algorithm: str = "NORMAL"
    exec_algorithm_params: dict[str, Any] = field(default_factory=dict)
    terms: OrderTerms | None = None


class VenueGateway(Protocol):
    instrument_keys: list[str]

    def capabilities(self, venue_key: str) -> VenueCapabilities:
        """What the venue of ``venue_key`` takes: the orchestrator sends nothing else."""
        ...

    def submit(self, order: VenueOrder) -> None: ...

    def cancel(self, order_id: str, venue_key: str | None = None) -> None: ...

    def last_quote(self, venue_key: str) -> Quote | None: ...

    def is_connected(self, venue_key: str | None = None) -> bool: ...

    def unavailable_reason(self, venue_key: str) -> str | None:
        """Why ``venue_key``'s venue cannot take an order now, or ``None``."""
        ...

    def order_state(self, order_id: str) -> str | Awaitable[str | None] | None: ...

    async def order_record(self, order_id: str) -> VenueOrderRecord | None: ...

    async def venue_state(self) -> VenueState: ...

    def health(self) -> dict[str, Any]: ...

    def venues_health(self) -> dict[str, dict[str, Any]]:
        """Per venue name (``paper``, ``DERIBIT``…): its health, with ``connected`` and
        ``venue_keys`` (the concrete instrument keys it trades)."""
        ...


def unbound_event_sink(event: VenueEvent) -> None:
    """A gateway's event sink until it is bound to its consumer (``bind``): an event then
    is a wiring mistake, said loudly rather than dropped."""
    raise RuntimeError(f"venue event {event.kind} before the gateway was bound to a consumer")
