"""The venue contract the orchestrator works against, free of NautilusTrader imports (the
daemon process never loads NautilusTrader in paper mode: the node lives in the venue
process).

- :class:`VenueGateway`: what the orchestrator calls. ``submit`` and ``cancel`` return at
  once and the venue answers with events; ``last_quote`` is the latest top of book in the
  venue's units; ``order_state`` says what the venue knows of an order (a coroutine when
  the venue is across a connection);
- :class:`VenueEvent`: what comes back, per order (the kinds are described in
  :mod:`live_daemon.venues.paper_events`);
- :class:`VenueError`: a venue that could not start, or was used before it started.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from execution_core.errors import ExecutionServicesError
from live_daemon.domain import Fill

Quote = tuple[Decimal, Decimal, Decimal, Decimal, int]
"""``(bid, bid size, ask, ask size, ts_ns)``, sizes in the venue's units."""

EVENT_KINDS = ("accepted", "filled", "canceled", "rejected")


class VenueError(ExecutionServicesError):
    """The paper venue could not start (or was used before it started)."""


@dataclass(frozen=True)
class VenueEvent:
    """An order event for the daemon."""

    kind: str  # accepted | filled | canceled | rejected
    order_id: str
    venue_key: str
    detail: dict[str, Any] = field(default_factory=dict)
    fill: Fill | None = None


class VenueGateway(Protocol):
    def submit(
        self,
        order_id: str,
        venue_key: str,
        side: str,
        quantity: Decimal,
        order_type: str,
        price: Decimal | None,
        exec_algorithm: str,
        exec_algorithm_params: dict[str, Any],
    ) -> None: ...

    def cancel(self, order_id: str) -> None: ...

    def last_quote(self, venue_key: str) -> Quote | None: ...

    def order_state(self, order_id: str) -> str | Awaitable[str | None] | None: ...

    def health(self) -> dict[str, Any]: ...
