"""The external venue adapters of a daemon: :class:`AdapterRegistry`.

The registry holds the adapters the configuration names, one per venue, and starts and
stops them with the daemon: :meth:`AdapterRegistry.start` connects them all at once; an
adapter whose venue is down at startup is logged and left reconnecting by itself (the
daemon starts without it, and its orders are rejected ``VENUE_DOWN`` until it is back);
:meth:`AdapterRegistry.stop` disconnects them. :meth:`AdapterRegistry.for_key` finds the
adapter of a concrete instrument key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

from execution_core.instruments.ids import CanonicalId
from live_daemon.venues.external.adapter import ConnectionSink, EventSink, ExternalVenueAdapter
from live_daemon.venues.gateway import VenueError

log = logging.getLogger(__name__)


class AdapterRegistry:
    """The adapters of one daemon, by venue name (module docstring)."""

    def __init__(self, adapters: list[ExternalVenueAdapter] | None = None) -> None:
        self._by_venue: dict[str, ExternalVenueAdapter] = {}
        for adapter in adapters or []:
            self.add(adapter)

    def add(self, adapter: ExternalVenueAdapter) -> None:
        if adapter.venue in self._by_venue:
            raise VenueError(f"two adapters for venue {adapter.venue}")
        self._by_venue[adapter.venue] = adapter

    def __iter__(self) -> Iterator[ExternalVenueAdapter]:
        return iter(self._by_venue.values())

    def __len__(self) -> int:
        return len(self._by_venue)

    @property
    def instrument_keys(self) -> list[str]:
        return [key for adapter in self for key in adapter.instrument_keys]

    def for_venue(self, venue: str) -> ExternalVenueAdapter | None:
        return self._by_venue.get(venue)

    def for_key(self, venue_key: str) -> ExternalVenueAdapter | None:
        """The adapter trading the concrete key ``venue_key``, or ``None``."""
        adapter = self._by_venue.get(CanonicalId.parse(venue_key).venue)
        if adapter is None or venue_key not in adapter.instrument_keys:
            return None
        return adapter

    def bind(self, on_event: EventSink, on_connection: ConnectionSink) -> None:
        for adapter in self:
            adapter.bind(on_event, on_connection)

    async def start(self) -> dict[str, str | None]:
        """Connect every adapter concurrently: per venue, ``None`` if it is up, else why
        not (it keeps reconnecting)."""
        adapters = list(self)
        results = await asyncio.gather(*(a.connect() for a in adapters), return_exceptions=True)
        outcome: dict[str, str | None] = {}
        for adapter, result in zip(adapters, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # cancellation, interrupt: not a venue problem
                outcome[adapter.venue] = str(result)
                log.error(
                    "external_venue_down_at_start venue=%s error=%s: the daemon starts "
                    "without it and the adapter keeps reconnecting",
                    adapter.venue,
                    result,
                )
            else:
                outcome[adapter.venue] = None
                log.info("external_venue_connected venue=%s", adapter.venue)
        return outcome

    async def stop(self) -> None:
        results = await asyncio.gather(*(a.disconnect() for a in self), return_exceptions=True)
        for adapter, result in zip(list(self), results, strict=True):
            if isinstance(result, Exception):
                log.warning("external_venue_stop_failed venue=%s error=%s", adapter.venue, result)
