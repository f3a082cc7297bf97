"""The paper venue: a NautilusTrader ``TradingNode`` of sandbox venues fed by replayed ticks.

:class:`PaperVenueGateway` owns one ``TradingNode`` (trader ``PAPER-001``) with

- one sandbox execution client per NautilusTrader venue of its instruments (``BINANCE``,
  ``BYBIT``, ``OKX``: a margin account of 1,000,000 USDT each), whose books follow the
  replayed quotes (:mod:`~live_daemon.venues.nautilus.config`: the node's config;
  :mod:`~live_daemon.venues.nautilus.execution`: how it matches);
- the replay data client (:mod:`~live_daemon.venues.nautilus.data`) publishing the
  instruments and the day's ticks in real time (× ``speed``);
- our execution algorithms (``all_exec_algorithms()``: TWAP, VWAP, ICEBERG);
- :class:`~live_daemon.venues.nautilus.execution.GatewayStrategy`, the bridge: orders are
  built with its order factory and submitted through it, and it hands every order event
  back.

The gateway is this module's lifecycle and the daemon's API, composed of parts that each
hold their own state: :class:`~live_daemon.venues.nautilus.orders.TrackedOrders` (our
orders, as long as the gateway lives), an
:class:`~live_daemon.venues.nautilus.submission.OrderSubmitter` (orders checked and
submitted, cancels; as long as the gateway lives, open while the node runs) and an
:class:`~live_daemon.venues.nautilus.tracking.OrderTracker` per node (families of Nautilus
orders, their events turned into the :class:`VenueEvent` objects the daemon receives: see
that module for the events, and :mod:`~live_daemon.venues.nautilus.orders` for identifiers
and units).

Event loop: the node runs **in the caller's loop** (the venue host process's, see
:mod:`live_daemon.venues.host`; it ran in the daemon's uvicorn loop before), started by
``await start()`` with ``node.run_async()`` as a task. Sharing the loop works in 1.221 once
what a ``TradingNode`` does to the loop it is given is undone (``node_in_loop``, see
:mod:`live_daemon.venues.nautilus.factories`). ``node.dispose()`` is not used: it cancels
every task of the loop and stops (or closes) the loop it runs in. A dedicated thread would
have needed the same signal workaround plus thread hops on every call and event, for
nothing: the node's work per tick is small and never blocks. One cost: while clients
connect or disconnect, the kernel polls with ``asyncio.sleep(0)`` (a busy loop of a few
milliseconds here, but it starves worker threads of the GIL: reading the ticks in a thread
then took seconds, or never ended before the connection timeout), which is why the ticks
are read, in a thread, before the node is built.

Threads: ``submit``/``cancel`` may be called from any thread (they hop onto the loop with
``call_soon_threadsafe``). ``on_event`` is always called on the loop, never from inside
``submit``/``cancel`` nor from inside Nautilus: events are queued with
``call_soon_threadsafe`` (NautilusTrader runs time alerts, hence the TWAP slices, on a Rust
timer thread).

Nautilus logs (Rust, to stdout) are configured by the first node of the process
(``log_level``); later nodes keep that setting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.live.node import TradingNode

from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference, InstrumentSpec
from execution_core.nautilus.exec_algorithms import all_exec_algorithms
from execution_core.stores.base import ObjectStore
from execution_core.ticks.schema import TickKind
from live_daemon.domain import Fill
from live_daemon.operations import NAUTILUS_CAPABILITIES, VenueCapabilities
from live_daemon.venues.gateway import VenueError, VenueEvent, VenueOrder
from live_daemon.venues.nautilus.config import (
    REPLAY_CLIENT_NAME,
    SANDBOX_FACTORY_NAME,
    paper_node_config,
    replay_client_config,
)
from live_daemon.venues.nautilus.execution import GatewayStrategy
from live_daemon.venues.nautilus.factories import (
    ReplayDataClientFactory,
    SandboxLiveExecClientFactory,
    new_node,
)
from live_daemon.venues.nautilus.orders import TrackedOrders, venue_units
from live_daemon.venues.nautilus.replay_streams import load_streams
from live_daemon.venues.nautilus.submission import OrderSubmitter
from live_daemon.venues.nautilus.tracking import OrderTracker

log = logging.getLogger(__name__)


class PaperVenueGateway:
    """Paper trading on BINANCE/BYBIT/OKX sandboxes over replayed ticks (module docstring).

    ``instruments`` are the canonical keys traded (and replayed); ``day`` the tick-store day
    replayed from ``start_offset_secs`` (time of day) at ``speed``. ``loop``, if given, must
    be the loop ``start()`` runs in (default: that loop)."""

    def __init__(
        self,
        reference: InstrumentReference,
        ticks_store: ObjectStore,
        instruments: list[str],
        day: dt.date,
        on_event: Callable[[VenueEvent], None],
        speed: float = 1.0,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        start_offset_secs: float = 0.0,
        log_level: str = "WARNING",
        start_timeout_secs: float = 30.0,
    ) -> None:
        if not instruments:
            raise VenueError("paper venue: no instruments given")
        self.reference = reference
        self.ticks_store = ticks_store
        self.instrument_keys = list(dict.fromkeys(instruments))
        self.day = day
        self.speed = speed
        self.start_offset_secs = start_offset_secs
        self.log_level = log_level
        self.start_timeout_secs = start_timeout_secs
        self._on_event = on_event
        self._loop = loop
        self._thread_id: int | None = None
        self._specs: dict[str, InstrumentSpec] = {k: reference.get(k) for k in self.instrument_keys}
        self._instrument_ids = {k: CanonicalId.parse(k).to_nautilus() for k in self.instrument_keys}
        self._node: TradingNode | None = None
        self._run_task: asyncio.Task | None = None
        self._running = False
        self._orders = TrackedOrders()
        self._submitter = OrderSubmitter(
            self._orders, self._emit, self._specs, self._instrument_ids
        )
        self._tracker: OrderTracker | None = None  # the running node's

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def node(self) -> TradingNode | None:
        return self._node

    async def start(self) -> None:
        """Build and start the node in the running loop; return once every instrument has
        a quote. Raises :class:`VenueError` (the node did not come up) or ``DataError``
        (a tick file is missing or corrupt)."""
        if self._node is not None:
            raise VenueError("paper venue: already started")
        loop = asyncio.get_running_loop()
        if self._loop is not None and self._loop is not loop:
            raise VenueError("paper venue: start() must run in the loop given to the gateway")
        self._loop = loop
        self._thread_id = threading.get_ident()
        self._orders.clear()  # a new node knows nothing of a previous one's orders

        config, venues = await self._node_config(loop)
        node = new_node(config, loop)
        self._node = node
        try:
            self._add_factories(node)
            node.build()
            strategy = self._strategy()
            node.trader.add_strategy(strategy)
            algorithms: dict[str, ExecAlgorithm] = {}
            for algorithm in all_exec_algorithms():
                node.trader.add_exec_algorithm(algorithm)
                algorithms[algorithm.id.value] = algorithm
            tracker = OrderTracker(
                node.cache,
                strategy,
                algorithms,
                self._orders,
                emit=self._emit,
                in_loop=self._in_loop,
            )
            self._tracker = tracker
            self._run_task = loop.create_task(node.run_async(), name="paper-venue-node")
            await self._wait_ready(node, strategy)
        except BaseException:
            await self.stop()
            raise
        if self._node is node:  # not stopped meanwhile: orders go to it from now on
            self._submitter.open(node.cache, strategy, tracker)
        self._running = True
        log.info(
            "paper_venue_started venues=%s instruments=%d day=%s speed=%g",
            ",".join(venues),
            len(self.instrument_keys),
            self.day,
            self.speed,
        )

    # -- what makes it the paper venue (LiveVenueGateway overrides these) -----------------

    async def _node_config(
        self, loop: asyncio.AbstractEventLoop
    ) -> tuple[TradingNodeConfig, list[str]]:
        """The node's config and its Nautilus venues: sandboxes fed by the replay."""
        # Read the ticks before the node starts: while its clients connect, the kernel
        # polls with asyncio.sleep(0) and starves worker threads of the GIL.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="paper-load") as pool:
            streams = await loop.run_in_executor(
                pool, load_streams, self.ticks_store, self.reference, self.instrument_keys, self.day
            )
        no_quotes = [s.key for s in streams if s.kind is TickKind.QUOTES and not len(s.offsets)]
        if no_quotes:
            raise VenueError(
                f"paper venue: no quotes on {self.day} for {', '.join(no_quotes)} in "
                f"{self.ticks_store.describe('')}: there would be no book to trade against"
            )
        venues = sorted({i.venue.value for i in self._instrument_ids.values()})
        config = paper_node_config(
            replay_client_config(
                self.instrument_keys,
                self.day,
                store=self.ticks_store,
                reference=self.reference,
                streams=streams,
                speed=self.speed,
                start_offset_secs=self.start_offset_secs,
            ),
            venues,
            log_level=self.log_level,
            timeout_connection=self.start_timeout_secs,
        )
        return config, venues

    def _add_factories(self, node: TradingNode) -> None:
        node.add_data_client_factory(REPLAY_CLIENT_NAME, ReplayDataClientFactory)
        node.add_exec_client_factory(SANDBOX_FACTORY_NAME, SandboxLiveExecClientFactory)

    def _strategy(self) -> GatewayStrategy:
        return GatewayStrategy()  # the replay publishes every quote: nothing to subscribe

    async def _wait_ready(self, node: TradingNode, strategy: GatewayStrategy) -> None:
        cache = node.cache
        ids = list(self._instrument_ids.values())
        deadline = time.monotonic() + self.start_timeout_secs
        while True:
            if strategy.is_running and all(cache.quote_tick(i) is not None for i in ids):
                return
            if self._run_task is not None and self._run_task.done():
                raise VenueError("paper venue: the trading node stopped while starting")
            if time.monotonic() > deadline:
                missing = [str(i) for i in ids if cache.quote_tick(i) is None]
                raise VenueError(
                    f"paper venue: not ready after {self.start_timeout_secs:g}s "
                    f"(strategy running: {strategy.is_running}; no quote yet for "
                    f"{', '.join(missing) or 'none'})"
                )
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop the node and dispose of it. Idempotent; open orders are left as they are."""
        node, self._node = self._node, None
        self._running = False
        self._submitter.close()
        tracker, self._tracker = self._tracker, None
        if tracker is not None:
            tracker.close()
        if node is None:
            return
        try:
            if node.kernel.is_running():
                await node.stop_async()
        finally:
            task, self._run_task = self._run_task, None
            if task is not None and not task.done():
                try:
                    await asyncio.wait_for(task, timeout=5.0)
                except (TimeoutError, asyncio.CancelledError):
                    task.cancel()
            node.kernel.dispose()  # not node.dispose(): that stops the loop it runs in
        log.info("paper_venue_stopped")

    # -- the daemon's API ------------------------------------------------------------------

    def capabilities(self, venue_key: str) -> VenueCapabilities:
        """A NautilusTrader paper venue takes GTC trades only."""
        return NAUTILUS_CAPABILITIES

    def submit(self, order: VenueOrder) -> None:
        """Send an order (non-blocking, any thread); its events come through ``on_event``.

        A request the venue cannot take gives a ``rejected`` event, never an exception. An
        order_id already submitted is ignored (use ``order_state`` when recovering)."""
        self._in_loop(self._submitter.submit, order)

    def cancel(self, order_id: str) -> None:
        """Cancel an order (non-blocking, any thread): a ``canceled`` event follows unless it
        is filled first. For an algorithm order: no more slices, open children canceled."""
        self._in_loop(self._submitter.cancel, order_id)

    def last_quote(self, venue_key: str) -> tuple[Decimal, Decimal, Decimal, Decimal, int] | None:
        """``(bid, bid size, ask, ask size, ts_ns)`` of the latest replayed quote, sizes in
        venue units; ``None`` before the first quote or for an instrument not traded here."""
        spec = self._specs.get(venue_key)
        if self._node is None or spec is None:
            return None
        quote = self._node.cache.quote_tick(self._instrument_ids[venue_key])
        if quote is None:
            return None
        return (
            quote.bid_price.as_decimal(),
            venue_units(quote.bid_size.as_decimal(), spec),
            quote.ask_price.as_decimal(),
            venue_units(quote.ask_size.as_decimal(), spec),
            int(quote.ts_event),
        )

    def order_state(self, order_id: str) -> str | None:
        """What the venue knows of an order, in the daemon's vocabulary: ``SUBMITTED``,
        ``ACCEPTED``, ``PARTIALLY_FILLED``, ``FILLED``, ``CANCELED`` or ``REJECTED``;
        ``None`` if it never saw it. The node keeps no state across restarts."""
        tracker = self._tracker
        if self._node is None or tracker is None:
            return None
        return tracker.order_state(order_id)

    def health(self) -> dict[str, Any]:
        """For ``/api/health``: running, and the age of each instrument's last quote."""
        now = time.time_ns()
        quotes = {}
        for key in self.instrument_keys:
            quote = self.last_quote(key)
            quotes[key] = None if quote is None else round((now - quote[4]) / 1e6, 1)
        return {
            "paper": True,
            "running": self._running,
            "day": self.day.isoformat(),
            "speed": self.speed,
            "last_quote_age_ms": quotes,
            "open_orders": self._orders.open_count(),
        }

    def fills(self, order_id: str) -> list[Fill]:
        """The fills this gateway reported for ``order_id`` since it started."""
        return self._orders.fills(order_id)

    # -- the loop --------------------------------------------------------------------------

    def _in_loop(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop: at once on its thread, else queued onto it."""
        if self._loop is None:
            raise VenueError("paper venue: not started")
        if threading.get_ident() == self._thread_id:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _emit(self, event: VenueEvent) -> None:
        """Queue ``event`` for ``on_event`` on the loop (never called from inside Nautilus,
        nor from inside ``submit``/``cancel``)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: VenueEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception(
                "paper_venue_on_event_failed kind=%s order_id=%s", event.kind, event.order_id
            )
