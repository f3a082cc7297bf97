"""One gateway over every venue the daemon trades on: :class:`CompositeGateway`.

The orchestrator and the reconciler speak to one :class:`~live_daemon.venues.gateway.VenueGateway`.
Behind it are the NautilusTrader venue process (paper, or the real Binance/Bybit/OKX clients
in live mode; optional) and the external adapters of an
:class:`~live_daemon.venues.external.registry.AdapterRegistry` (Deribit, Interactive
Brokers). The composite dispatches by the concrete instrument key, merges the venues'
records for reconciliation, and keeps the fault rules for external venues in one place:

- **a submit is sent once.** When its outcome is unknown (the connection dropped, no
  answer in time) the order is *looked up by our id* (which travels to the venue), with
  retries and exponential backoff (tenacity: a read is idempotent), never sent again.
  Found: its state and fills become events. Not at the venue: ``rejected``, saying so.
  The venue cannot be asked: the order stays in flight, and the reconciliation run on the
  venue's reconnection settles it from the venue's record;
- **a circuit breaker per venue** (:mod:`live_daemon.venues.breaker`) counts failed calls;
  while it is open the venue counts as not connected, with the reason
  (:meth:`CompositeGateway.unavailable_reason`) recorded in the routing decision, so an
  ``ANY:`` order goes to the next-best venue; after a cool-down one order probes it;
- **an algorithm order (TWAP, VWAP, ICEBERG) for an external venue is run by the daemon**
  (:class:`~live_daemon.venues.external.algorithms.AlgorithmRunner`: children sent as
  plain orders, ``{parent}.{n}``); the children's events go to their runner, which tells
  the parent's, and the venue's records show parents only: the OMS and the reconciliation
  never see a child.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from execution_core.instruments.reference import InstrumentReference, load_reference
from live_daemon.operations import VenueCapabilities
from live_daemon.venues.breaker import CircuitBreaker
from live_daemon.venues.external.adapter import ExternalVenueAdapter, VenueRejected
from live_daemon.venues.external.algorithms import (
    AlgorithmRunner,
    find_children,
    orphan_child_event,
    parent_order_id,
    parent_record,
    parent_view,
    runs_in_daemon,
)
from live_daemon.venues.external.registry import AdapterRegistry
from live_daemon.venues.gateway import (
    Quote,
    VenueError,
    VenueEvent,
    VenueEventKind,
    VenueGateway,
    VenueNotSent,
    VenueOrder,
    VenueOrderRecord,
    VenueState,
    VenueUnavailable,
    unbound_event_sink,
)

log = logging.getLogger(__name__)


ConnectionCallback = Callable[[bool, str], None]
"""``(connected, venue)``: a venue's connection was lost or is back."""


class CompositeGateway:
    """Every venue behind one gateway (module docstring)."""

    def __init__(
        self,
        nautilus: VenueGateway | None,
        adapters: AdapterRegistry,
        on_event: Callable[[VenueEvent], None] | None = None,
        *,
        on_connection: ConnectionCallback | None = None,
        breaker_failures: int = 5,
        breaker_cooldown_secs: float = 30.0,
        lookup_secs: float = 30.0,
        reference: InstrumentReference | None = None,
    ) -> None:
        self.nautilus, self.adapters = nautilus, adapters
        self._reference = reference  # the venues' size and price grids (packaged if None)
        self.lookup_secs = lookup_secs
        self._on_event = on_event or unbound_event_sink
        self._on_connection = on_connection
        self.breakers = {
            adapter.venue: CircuitBreaker(adapter.venue, breaker_failures, breaker_cooldown_secs)
            for adapter in adapters
        }
        self.instrument_keys = list(
            dict.fromkeys(
                [*(nautilus.instrument_keys if nautilus else []), *adapters.instrument_keys]
            )
        )
        self._venue_of_order: dict[str, ExternalVenueAdapter] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.runners: dict[str, AlgorithmRunner] = {}  # by parent order id
        adapters.bind(self._adapter_event, self._adapter_connection)

    # -- lifecycle ---------------------------------------------------------------------------

    def bind(
        self,
        on_event: Callable[[VenueEvent], None],
        on_connection: ConnectionCallback | None = None,
    ) -> None:
        """Where the adapters' events and connection changes go, when the consumer is
        built after the gateway (the daemon's orchestrator needs the gateway first).
        Before :meth:`start`; the NautilusTrader gateway is bound on its own."""
        self._on_event, self._on_connection = on_event, on_connection

    async def start(self) -> None:
        await self.adapters.start()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.adapters.stop()

    def _adapter_connection(self, venue: str, connected: bool) -> None:
        if self._on_connection is not None:
            self._on_connection(connected, venue)

    def _adapter_event(self, event: VenueEvent) -> None:
        """An adapter's event: a child's goes to its runner (or, a fill of a child of a
        previous daemon, to the parent), anything else on to the daemon."""
        parent = parent_order_id(event.order_id)
        if parent is None:
            self._on_event(event)
            return
        runner = self.runners.get(parent)
        if runner is not None and runner.owns(event.order_id):
            runner.on_child_event(event)
            return
        orphan = orphan_child_event(event)
        if orphan is not None:
            self._on_event(orphan)
        else:
            log.info("algorithm_child_event_without_runner order_id=%s kind=%s",
                     event.order_id, event.kind)  # fmt: skip

    # -- state -------------------------------------------------------------------------------

    def _external(self, venue_key: str) -> ExternalVenueAdapter | None:
        return self.adapters.for_key(venue_key)

    def capabilities(self, venue_key: str) -> VenueCapabilities:
        adapter = self._external(venue_key)
        if adapter is not None:
            return adapter.capabilities()
        if self.nautilus is None:
            raise VenueError(f"no venue trades {venue_key}")
        return self.nautilus.capabilities(venue_key)

    def unavailable_reason(self, venue_key: str) -> str | None:
        """Why no order may go to ``venue_key`` now (not connected, circuit open), or
        ``None``."""
        adapter = self._external(venue_key)
        if adapter is None:
            if self.nautilus is not None and self.nautilus.is_connected(venue_key):
                return None
            return f"not connected to the venue of {venue_key}"
        if not adapter.is_connected():
            return f"{adapter.venue} adapter not connected"
        return self.breakers[adapter.venue].unavailable_reason()

    def is_connected(self, venue_key: str | None = None) -> bool:
        if venue_key is None:
            nautilus_up = self.nautilus is None or self.nautilus.is_connected()
            return nautilus_up and all(a.is_connected() for a in self.adapters)
        return self.unavailable_reason(venue_key) is None

    def last_quote(self, venue_key: str) -> Quote | None:
        adapter = self._external(venue_key)
        if adapter is not None:
            return adapter.last_quote(venue_key)
        return self.nautilus.last_quote(venue_key) if self.nautilus else None

    def health(self) -> dict[str, Any]:
        """The NautilusTrader venue process's health (the heartbeat's ``paper`` entry)."""
        return self.nautilus.health() if self.nautilus is not None else {}

    def venues_health(self) -> dict[str, dict[str, Any]]:
        venues = self.nautilus.venues_health() if self.nautilus is not None else {}
        for adapter in self.adapters:
            venues[adapter.venue] = {
                **adapter.health(),
                "connected": adapter.is_connected(),
                "venue_keys": list(adapter.instrument_keys),
                "breaker": self.breakers[adapter.venue].as_dict(),
            }
        return venues

    # -- trading -----------------------------------------------------------------------------

    def submit(self, order: VenueOrder) -> None:
        adapter = self._external(order.venue_key)
        if adapter is None:
            if self.nautilus is None:
                self._reject(order.order_id, order.venue_key, f"no venue trades {order.venue_key}")
                return
            self.nautilus.submit(order)
            return
        if runs_in_daemon(order):  # no external venue runs our algorithms itself
            self._run_algorithm(adapter, order)
            return
        self._venue_of_order[order.order_id] = adapter
        self.breakers[adapter.venue].on_send()
        self._spawn(self._submit_external(adapter, order))

    def _run_algorithm(self, adapter: ExternalVenueAdapter, order: VenueOrder) -> None:
        if order.order_id in self.runners:
            log.warning("algorithm_already_running order_id=%s: not run twice", order.order_id)
            return
        if self._reference is None:
            self._reference = load_reference()
        try:
            spec = self._reference.get(order.venue_key)
        except Exception as exc:
            self._reject(order.order_id, order.venue_key, f"{order.exec_algorithm}: {exc}")
            return
        runner = AlgorithmRunner(
            adapter,
            order,
            lot_size=spec.size_increment,
            tick_size=spec.price_increment,
            emit=self._on_event,
            lookup=partial(self._lookup, adapter),
            breaker=self.breakers[adapter.venue],
        )
        self.runners[order.order_id] = runner
        self._venue_of_order[order.order_id] = adapter
        self._spawn(runner.run())

    def cancel(self, order_id: str, venue_key: str | None = None) -> None:
        runner = self.runners.get(order_id)
        if runner is not None:
            runner.cancel()
            return
        adapter = self._venue_of_order.get(order_id)
        if adapter is None and venue_key is not None:
            adapter = self._external(venue_key)
        if adapter is None:
            if self.nautilus is not None:
                self.nautilus.cancel(order_id)
            return
        self._spawn(self._cancel_external(adapter, order_id))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _reject(self, order_id: str, venue_key: str, reason: str) -> None:
        self._on_event(VenueEvent(VenueEventKind.REJECTED, order_id, venue_key, {"reason": reason}))

    async def _submit_external(self, adapter: ExternalVenueAdapter, order: VenueOrder) -> None:
        breaker = self.breakers[adapter.venue]
        try:
            await adapter.submit_order(order)
        except VenueRejected:
            breaker.record_success()  # a definite answer: the venue is there
        except VenueNotSent as exc:  # it never left: nothing to look up, no venue failure
            breaker.release_probe()
            self._reject(order.order_id, order.venue_key, f"not sent to {adapter.venue}: {exc}")
        except VenueUnavailable as exc:
            breaker.record_failure(str(exc))
            log.warning(
                "external_submit_outcome_unknown venue=%s order_id=%s error=%s: looking the "
                "order up by its id, not sending it again",
                adapter.venue, order.order_id, exc,
            )  # fmt: skip
            await self._settle_unknown(adapter, order, str(exc))
        except Exception as exc:  # an adapter bug must still end in a definite state
            log.exception(
                "external_submit_failed venue=%s order_id=%s", adapter.venue, order.order_id
            )
            breaker.record_failure(repr(exc))
            await self._settle_unknown(adapter, order, repr(exc))
        else:
            breaker.record_success()

    async def _settle_unknown(
        self, adapter: ExternalVenueAdapter, order: VenueOrder, why: str
    ) -> None:
        """An order whose submit had no answer: what the venue's record says of it."""
        try:
            record = await self._lookup(adapter, order.order_id)
        except (RetryError, VenueUnavailable):
            log.error(
                "external_order_in_flight venue=%s order_id=%s: the venue cannot be asked; "
                "the reconciliation on its reconnection settles the order",
                adapter.venue, order.order_id,
            )  # fmt: skip
            return
        if record is None:
            self._reject(
                order.order_id,
                order.venue_key,
                f"{adapter.venue} has no order {order.order_id} after the submit failed "
                f"({why}); it was not sent again",
            )
            return
        for event in record_events(record):
            self._on_event(event)

    async def _lookup(
        self, adapter: ExternalVenueAdapter, order_id: str
    ) -> VenueOrderRecord | None:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(VenueUnavailable),
            wait=wait_exponential(multiplier=0.05, max=2.0),
            stop=stop_after_delay(self.lookup_secs),
            reraise=True,
        ):
            with attempt:
                return await adapter.get_order_state(order_id)
        return None  # pragma: no cover - tenacity either returns or raises

    async def _cancel_external(self, adapter: ExternalVenueAdapter, order_id: str) -> None:
        try:
            await adapter.cancel_order(order_id)
            if order_id not in self._venue_of_order:  # a previous daemon's: an algorithm's?
                await self._cancel_orphan_children(adapter, order_id)
        except VenueError as exc:
            log.warning(
                "external_cancel_failed venue=%s order_id=%s error=%s: the venue's record "
                "settles the order", adapter.venue, order_id, exc,
            )  # fmt: skip

    async def _cancel_orphan_children(self, adapter: ExternalVenueAdapter, parent: str) -> None:
        """Cancel the open children of an algorithm a previous daemon ran, then tell the
        parent's state from their records once none is open."""
        children = await find_children(adapter.get_order_state, parent)
        if not children:
            return
        for child in children:
            if child.is_open:
                await adapter.cancel_order(child.order_id)
        children = await find_children(adapter.get_order_state, parent)
        record = parent_record(parent, children[0].venue_key, children[0].side, children)
        if not record.is_open:
            for event in record_events(record):
                self._on_event(event)

    # -- the venues' records -----------------------------------------------------------------

    async def order_record(self, order_id: str) -> VenueOrderRecord | None:
        """The order as its venue has it. An order this daemon did not send (a previous
        one did) is asked of every venue; :class:`VenueUnavailable` if it was found at
        none and some venue could not be asked. An algorithm's parent is its children's
        records as one (found by probing when a previous daemon ran it)."""
        runner = self.runners.get(order_id)
        if runner is not None:
            return await runner.venue_record()
        adapter = self._venue_of_order.get(order_id)
        if adapter is not None:
            return await adapter.get_order_state(order_id)
        askers: list[Any] = [partial(self._external_record, a) for a in self.adapters]
        if self.nautilus is not None:
            askers.insert(0, self.nautilus.order_record)
        unreachable: list[str] = []
        for ask in askers:
            try:
                record = await ask(order_id)
            except VenueUnavailable as exc:
                unreachable.append(str(exc))
                continue
            if record is not None:
                return record
        if unreachable:
            raise VenueUnavailable("; ".join(unreachable))
        return None

    async def _external_record(
        self, adapter: ExternalVenueAdapter, order_id: str
    ) -> VenueOrderRecord | None:
        record = await adapter.get_order_state(order_id)
        if record is not None or parent_order_id(order_id) is not None:
            return record
        children = await find_children(adapter.get_order_state, order_id)
        if not children:
            return None
        return parent_record(order_id, children[0].venue_key, children[0].side, children)

    async def order_state(self, order_id: str) -> str | None:
        record = await self.order_record(order_id)
        return None if record is None else record.status

    async def venue_state(self) -> VenueState:
        """Every venue's record merged (raises if one cannot be read: an unreachable venue
        is never read as an empty one). An external venue lists its open orders; the
        reconciler asks for the others by id."""
        read_at = dt.datetime.now(dt.UTC)
        parts: list[VenueState] = []
        if self.nautilus is not None:
            parts.append(await self.nautilus.venue_state())
        for adapter in self.adapters:
            orders, fills, held = await asyncio.gather(
                adapter.get_open_orders(), adapter.get_fills(), adapter.get_positions()
            )
            orders, fills = parent_view(orders, fills, self.runners, adapter)
            parts.append(VenueState(read_at, orders, fills, held))
        positions: dict[str, Decimal] = {}
        for part in parts:
            positions.update(part.positions)
        return VenueState(
            read_at=read_at,
            orders=[o for part in parts for o in part.orders],
            fills=[f for part in parts for f in part.fills],
            positions=positions,
            last_fill_seq=parts[0].last_fill_seq if parts and self.nautilus else 0,
        )


def record_events(record: VenueOrderRecord) -> list[VenueEvent]:
    """The events that bring the OMS to what the venue's record says of an order: accepted,
    each fill, and the closing state (``completed`` for a venue order filled in full)."""
    key = record.venue_key
    events = [VenueEvent(VenueEventKind.ACCEPTED, record.order_id, key, {"from_record": True})]
    events += [
        VenueEvent(VenueEventKind.FILLED, record.order_id, key, {"trade_id": f.fill_id}, f)
        for f in record.fills
    ]
    if record.status == "FILLED":
        events.append(VenueEvent(VenueEventKind.COMPLETED, record.order_id, key, {}))
    elif record.status in ("CANCELED", "REJECTED"):
        kind = VenueEventKind(record.status.lower())
        events.append(
            VenueEvent(
                kind, record.order_id, key, {"reason": record.reason or f"{kind} at the venue"}
            )
        )
    return events
