"""The contract of an external venue adapter: :class:`ExternalVenueAdapter`.

An adapter is the daemon's client of one venue it reaches with the venue's own API (Deribit
over JSON-RPC/WebSocket, Interactive Brokers over the TWS socket). It speaks the daemon's
vocabulary on one side (:class:`~live_daemon.venues.gateway.VenueOrder` in, venue
events, :class:`~live_daemon.venues.gateway.VenueOrderRecord` and fills out, quantities in
the venue's units as the instrument reference states them) and the venue's protocol on
the other. The rules every adapter keeps:

- **our order id travels to the venue** (Deribit ``label``, IB ``orderRef``), so that after
  a lost reply or a reconnect the order is found by it (:meth:`get_order_state`) and never
  sent twice. :meth:`submit_order` sends once; it never retries a send by itself;
- **what the venue says comes back as events**, through the ``on_event`` the gateway binds
  (:meth:`bind`): ``accepted`` (``detail["venue_order_id"]``), ``filled`` (one per venue
  trade, with its :class:`~live_daemon.domain.Fill`; a trade notified twice is passed on
  once), ``canceled`` and ``rejected`` (``detail["reason"]``, naming the venue's error code
  when there is one). Out-of-order notifications never move an order backwards;
- **an unreachable venue raises**, :class:`~live_daemon.venues.gateway.VenueUnavailable`
  (not connected, the connection was lost before the answer, no answer in time), which is
  never read as an answer: "the venue has no such order" is ``None``. A definite refusal
  by the venue raises :class:`VenueRejected`, after the ``rejected`` event;
- **connection changes are told** through ``on_connection(venue, connected)``; the adapter
  reconnects by itself (and re-authenticates, re-subscribes) until :meth:`disconnect`;
- **market data**: :meth:`last_quote` is the latest top of book of a subscribed instrument
  in the venue's units, as the router needs it.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from live_daemon.domain import Fill
from live_daemon.operations import VenueCapabilities
from live_daemon.venues.gateway import (
    Quote,
    VenueError,
    VenueEvent,
    VenueOrder,
    VenueOrderRecord,
)

EventSink = Callable[[VenueEvent], None]
ConnectionSink = Callable[[str, bool], None]
"""``(venue, connected)``: the adapter of ``venue`` lost or regained its connection."""


class VenueRejected(VenueError):
    """The venue refused the request: a definite answer (``code`` is the venue's error
    code, when it gave one). The order's ``rejected`` event has been emitted."""

    def __init__(self, message: str, *, code: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code


def _ignore_event(event: VenueEvent) -> None:
    return None


def _ignore_connection(venue: str, connected: bool) -> None:
    return None


class ExternalVenueAdapter(ABC):
    """One external venue (module docstring). ``venue`` is the venue's name in canonical
    instrument ids (``DERIBIT``); ``instrument_keys`` the concrete keys it trades."""

    venue: str
    instrument_keys: list[str]

    def __init__(self) -> None:
        self._on_event: EventSink = _ignore_event
        self._on_connection: ConnectionSink = _ignore_connection

    def bind(self, on_event: EventSink, on_connection: ConnectionSink) -> None:
        """Where the adapter tells its events and connection changes (the gateway)."""
        self._on_event, self._on_connection = on_event, on_connection

    def emit(self, event: VenueEvent) -> None:
        self._on_event(event)

    def tell_connection(self, connected: bool) -> None:
        self._on_connection(self.venue, connected)

    # -- lifecycle ---------------------------------------------------------------------------

    @abstractmethod
    async def connect(self) -> None:
        """Connect, authenticate and subscribe; return once the venue can take orders.
        Raises :class:`VenueError` saying what it waited for when it gives up (after the
        adapter's start timeout, a setting), but keeps reconnecting in the background
        until :meth:`disconnect`: a venue down at startup comes in when it is back."""

    @abstractmethod
    async def disconnect(self) -> None:
        """Close the connection and stop reconnecting (idempotent)."""

    @abstractmethod
    def is_connected(self) -> bool:
        """Connected, authenticated and able to take orders now."""

    @abstractmethod
    def capabilities(self) -> VenueCapabilities:
        """What the venue takes (operations, times in force)."""

    def health(self) -> dict[str, Any]:
        return {"connected": self.is_connected(), "venue": self.venue}

    # -- trading -----------------------------------------------------------------------------

    @abstractmethod
    async def submit_order(self, order: VenueOrder) -> None:
        """Send the order once; return when the venue acknowledged it (``accepted`` was
        emitted). :class:`VenueRejected` if the venue refused it; :class:`VenueUnavailable`
        if the outcome is unknown (look it up with :meth:`get_order_state`)."""

    @abstractmethod
    async def cancel_order(self, order_id: str) -> None:
        """Ask the venue to cancel our order ``order_id`` (its ``canceled`` event follows).
        An order the venue no longer has open is not an error."""

    # -- the venue's record ------------------------------------------------------------------

    @abstractmethod
    async def get_order_state(self, order_id: str) -> VenueOrderRecord | None:
        """Our order ``order_id`` as the venue has it, with its fills; ``None`` only when
        the venue has no order by that id."""

    @abstractmethod
    async def get_open_orders(self) -> list[VenueOrderRecord]:
        """Our orders open at the venue (without their fills)."""

    @abstractmethod
    async def get_fills(self, since: dt.datetime | None = None) -> list[tuple[str, Fill]]:
        """``(venue_key, fill)`` of our fills at or after ``since`` (all when ``None``),
        oldest first."""

    @abstractmethod
    async def get_positions(self) -> dict[str, Decimal]:
        """Signed position per venue_key, in the venue's units, as the venue reports it."""

    # -- market data -------------------------------------------------------------------------

    @abstractmethod
    async def subscribe_market_data(self, venue_keys: Iterable[str]) -> None:
        """Subscribe to the top of book of ``venue_keys`` (kept across reconnects)."""

    @abstractmethod
    def last_quote(self, venue_key: str) -> Quote | None:
        """The latest top of book of ``venue_key`` (venue units), ``None`` before one."""
