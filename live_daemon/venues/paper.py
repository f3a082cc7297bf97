"""The paper venue: a NautilusTrader ``TradingNode`` of sandbox venues fed by replayed ticks.

:class:`PaperVenueGateway` owns one ``TradingNode`` (trader ``PAPER-001``) with

- one sandbox execution client per NautilusTrader venue of its instruments: ``BINANCE``
  (BINANCE-SPOT *and* BINANCE-FUTURES: both map to the Nautilus venue ``BINANCE``, and a
  sandbox client's ``ClientId``, account and data subscription all derive from its venue,
  so two sandbox clients for one venue cannot coexist), ``BYBIT``, ``OKX``: a margin
  account of 1,000,000 USDT each (netting, leverage 10, L1 book, random UUID trade IDs so
  that fill IDs stay unique across daemon restarts);
- the replay data client (:mod:`live_daemon.venues.replay`) publishing the instruments and
  the day's ticks in real time (× ``speed``);
- our execution algorithms (``all_exec_algorithms()``: TWAP, VWAP, ICEBERG);
- :class:`GatewayStrategy`, the bridge: the gateway builds orders with its order factory
  and submits them through it, and it hands every order event back.

Event loop: the node runs **in the caller's loop** (the venue host process's, see
:mod:`live_daemon.venues.host`; it ran in the daemon's uvicorn loop before), started by
``await start()`` with ``node.run_async()`` as a task. Sharing the loop works in 1.221 once
what a ``TradingNode`` does to the loop it is given is undone (:func:`node_in_loop`): it
installs SIGINT/SIGTERM/SIGABRT handlers (they would replace uvicorn's, so that Ctrl-C
stopped the node and not the server; outside the main thread ``signal.signal`` even
raises), sets the loop's debug flag and makes a new thread pool the loop's default
executor; and each actor's ``ActorExecutor`` would leave a worker task pending after stop
(executors are not registered: no actor here runs work in one). ``node.dispose()`` is not
used: it cancels every task of the loop and stops (or closes) the loop it runs in. A
dedicated thread would have needed the same signal workaround plus thread hops on every
call and event, for nothing: the node's work per tick is small and never blocks. One cost:
while clients connect or disconnect, the kernel polls with ``asyncio.sleep(0)`` (a busy
loop of a few milliseconds here, but it starves worker threads of the GIL: reading the ticks
in a thread then took seconds, or never ended before the connection timeout), which is
why the ticks are read, in a thread, before the node is built.

Threads: ``submit``/``cancel`` may be called from any thread (they hop onto the loop with
``call_soon_threadsafe``). ``on_event`` is always called on the loop, never from inside
``submit``/``cancel`` nor from inside Nautilus: events are queued with
``call_soon_threadsafe`` (NautilusTrader runs time alerts, hence the TWAP slices, on a Rust
timer thread).

Identifiers: an order's ``ClientOrderId`` is our ``order_id`` (a hash-derived id when the
order_id is not a valid Nautilus identifier), and its tags carry ``order_id=...``. Children
spawned by an algorithm (``{primary}-E{n}``) map back through their ``exec_spawn_id``.

Units: quantities and book sizes at this API are in the venue's own unit (the instrument
reference's: contracts on OKX swaps), as elsewhere in the daemon; inside the node they are
base units (``to_nautilus_instrument``), converted with ``quantity_scale(spec)``.

Matching (NautilusTrader 1.221 quirks and what is done about them):

- The sandbox books follow the **quotes only**: with an L1 book the matching engine replaces
  the top of book with every trade tick (both sides at the trade price with the trade's
  size, whatever ``trade_execution`` says), so trades are not passed to the sandboxes
  (:class:`QuoteDrivenSandboxClient`); the node still publishes them.
- A MARKET order larger than the size at the touch fills that size, and its rest would
  stay open for good: the backtest engine slips the rest by one tick at once, but in the
  sandbox the order's state lags its events (they go through the live engine's queues),
  so that branch is skipped, and market orders are never matched again later. The sandbox
  clients here give such an order another go at each new quote of its instrument (the
  book refilled): it takes the touch and the rest slips one tick, as in the backtest. This
  applies to TWAP/VWAP children too.
- Margin is not enforced by the sandbox for these orders (a 500 BTC buy on a 1M USDT
  account fills): the daemon's pre-trade risk checks are the limit. The risk engine of the
  node does check instrument limits (max quantity), which come back as ``rejected``.

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

Nautilus logs (Rust, to stdout) are configured by the first node of the process
(``log_level``); later nodes keep that setting.

``Fill.ts`` is the wall clock when the gateway received the fill: the sandbox's own event
times come from a test clock that only advances with the data (the last tick's time,
``detail["ts_venue_ns"]``), so they can precede the submission.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import (
    LiveExecEngineConfig,
    LoggingConfig,
    StrategyConfig,
    TradingNodeConfig,
)
from nautilus_trader.core.data import Data
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.live.config import LiveRiskEngineConfig
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    liquidity_side_to_str,
    order_status_to_str,
)
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
from nautilus_trader.model.identifiers import ClientOrderId, ExecAlgorithmId, InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import Order
from nautilus_trader.portfolio import PortfolioFacade
from nautilus_trader.system.kernel import NautilusKernel
from nautilus_trader.trading.strategy import Strategy

from execution_core.algorithms.params import (
    parse_algorithm,
    parse_algorithm_name,
    validate_for_order,
)
from execution_core.errors import ExecutionServicesError
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference, InstrumentSpec
from execution_core.nautilus.exec_algorithms import all_exec_algorithms
from execution_core.nautilus.instruments import quantity_scale
from execution_core.signals.schema import ExecAlgorithm as AlgorithmName
from execution_core.stores.base import ObjectStore
from execution_core.ticks.schema import TickKind
from live_daemon.domain import Fill
from live_daemon.venues.replay import (
    REPLAY_CLIENT_NAME,
    ReplayDataClientFactory,
    load_streams,
    replay_client_config,
)

log = logging.getLogger(__name__)

TRADER_ID = "PAPER-001"
NODE_MAX_ORDER_RATE = "100000/00:00:01"
STRATEGY_ID = "PAPER-GATEWAY"
SANDBOX_FACTORY_NAME = "SANDBOX"  # the node builder keys factories by the name before "-"
STARTING_BALANCE = "1000000 USDT"
DEFAULT_LEVERAGE = Decimal(10)
ORDER_ID_TAG = "order_id="
EVENT_KINDS = ("accepted", "filled", "canceled", "rejected")


class VenueError(ExecutionServicesError):
    """The paper venue could not start (or was used before it started)."""


@dataclass(frozen=True)
class VenueEvent:
    """An order event for the daemon (see the module docstring)."""

    kind: str  # accepted | filled | canceled | rejected
    order_id: str
    venue_key: str
    detail: dict[str, Any] = field(default_factory=dict)
    fill: Fill | None = None


class QuoteDrivenSandboxClient(SandboxExecutionClient):
    """A sandbox execution client whose L1 book follows the quotes only, and whose MARKET
    orders keep filling as the book refills (module docstring, "Matching")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._market_orders: dict[InstrumentId, set[ClientOrderId]] = {}

    def submit_order(self, command: Any) -> Any:
        order = command.order
        if order.order_type == OrderType.MARKET:
            self._market_orders.setdefault(order.instrument_id, set()).add(order.client_order_id)
        return super().submit_order(command)

    def on_data(self, data: Data) -> None:
        if isinstance(data, TradeTick):
            return  # it would replace the L1 book with the trade's price and size
        super().on_data(data)
        if isinstance(data, QuoteTick):
            self._refill(data.instrument_id)

    def _refill(self, instrument_id: InstrumentId) -> None:
        """Give market orders left partly filled another go at the new quote. Once the
        order's fill events have been applied (status PARTIALLY_FILLED) the matching
        engine's ``fill_market_order`` takes the touch and slips the rest by one tick, as
        the backtest engine does at submission."""
        waiting = self._market_orders.get(instrument_id)
        if not waiting:
            return
        engine = self.exchange.get_matching_engine(instrument_id)
        for client_order_id in list(waiting):
            order = self.exchange.cache.order(client_order_id)
            if order is None or order.is_closed:
                waiting.discard(client_order_id)
            elif order.status == OrderStatus.PARTIALLY_FILLED and engine is not None:
                engine.fill_market_order(order)


class SandboxLiveExecClientFactory(LiveExecClientFactory):
    """Creates :class:`QuoteDrivenSandboxClient`s. The class has the name of Nautilus's own
    sandbox factory on purpose: the node builder passes the ``portfolio`` a sandbox client
    needs only to a factory whose ``__name__`` is ``SandboxLiveExecClientFactory``."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: SandboxExecutionClientConfig,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> QuoteDrivenSandboxClient:
        return QuoteDrivenSandboxClient(
            loop=loop,
            portfolio=portfolio,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )


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


_NODE_BUILD_LOCK = threading.Lock()


@contextlib.contextmanager
def node_in_loop(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Build a ``TradingNode`` on ``loop`` (a loop the daemon owns) and undo what its kernel
    does to the loop: ``NautilusKernel._setup_loop`` would install SIGINT/SIGTERM/SIGABRT
    handlers replacing the server's (and raises outside the main thread); the kernel also
    sets the loop's debug flag and makes a new thread pool the loop's default executor.
    Use it around ``TradingNode(config, loop=loop)`` only (it patches the kernel class
    while it is open, under a lock)."""
    with _NODE_BUILD_LOCK:
        original = NautilusKernel._setup_loop
        was_debug = loop.get_debug()
        previous_executor = getattr(loop, "_default_executor", None)  # not readable on uvloop
        NautilusKernel._setup_loop = lambda self: None  # type: ignore[method-assign]
        try:
            yield
        finally:
            NautilusKernel._setup_loop = original  # type: ignore[method-assign]
            loop.set_debug(was_debug)
            loop.set_default_executor(
                previous_executor
                if isinstance(previous_executor, concurrent.futures.ThreadPoolExecutor)
                else concurrent.futures.ThreadPoolExecutor()
            )


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
        self._strategy: GatewayStrategy | None = None
        self._algorithms: dict[str, ExecAlgorithm] = {}
        self._run_task: asyncio.Task | None = None
        self._orders: dict[str, _Tracked] = {}
        self._by_client_id: dict[str, str] = {}  # ClientOrderId value -> our order_id
        self._running = False

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
        self._by_client_id.clear()

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
        config = TradingNodeConfig(
            trader_id=TRADER_ID,
            logging=LoggingConfig(log_level=self.log_level),
            exec_engine=LiveExecEngineConfig(reconciliation=False),  # sandbox: nothing to load
            # The daemon's PreTradeRiskEngine owns order-rate limits (per strategy, with a
            # recorded reason); NautilusTrader's default 100 orders/s would deny silently.
            risk_engine=LiveRiskEngineConfig(
                max_order_submit_rate=NODE_MAX_ORDER_RATE, max_order_modify_rate=NODE_MAX_ORDER_RATE
            ),
            data_clients={
                REPLAY_CLIENT_NAME: replay_client_config(
                    self.instrument_keys,
                    self.day,
                    store=self.ticks_store,
                    reference=self.reference,
                    streams=streams,
                    speed=self.speed,
                    start_offset_secs=self.start_offset_secs,
                )
            },
            exec_clients={
                f"{SANDBOX_FACTORY_NAME}-{venue}": SandboxExecutionClientConfig(
                    venue=venue,
                    starting_balances=[STARTING_BALANCE],
                    base_currency="USDT",
                    oms_type="NETTING",
                    account_type="MARGIN",
                    default_leverage=DEFAULT_LEVERAGE,
                    book_type="L1_MBP",
                    # Trade and venue order IDs must stay unique across restarts of the
                    # daemon (the OMS keys fills by fill_id): UUID4s, not BINANCE-1-001.
                    use_random_ids=True,
                )
                for venue in venues
            },
            timeout_connection=self.start_timeout_secs,
            timeout_portfolio=5.0,
            timeout_disconnection=5.0,
            timeout_post_stop=0.05,  # the kernel sleeps this long on every stop
        )
        with node_in_loop(loop):
            node = TradingNode(config=config, loop=loop)
        # The kernel's pool is no longer the loop's default (above) and no actor of ours
        # runs work in an executor; registering it would give every actor an ActorExecutor
        # whose worker task only node.dispose() (which stops the loop) ever cancels.
        if node.kernel.executor is not None:
            node.kernel.executor.shutdown(wait=False)
        node.kernel._register_executor = lambda: None  # type: ignore[method-assign]
        self._node = node
        try:
            node.add_data_client_factory(REPLAY_CLIENT_NAME, ReplayDataClientFactory)
            node.add_exec_client_factory(SANDBOX_FACTORY_NAME, SandboxLiveExecClientFactory)
            node.build()
            self._strategy = GatewayStrategy(self._on_nautilus_event)
            node.trader.add_strategy(self._strategy)
            self._algorithms = {}
            for algorithm in all_exec_algorithms():
                node.trader.add_exec_algorithm(algorithm)
                self._algorithms[algorithm.id.value] = algorithm
            self._run_task = loop.create_task(node.run_async(), name="paper-venue-node")
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise
        self._running = True
        log.info(
            "paper_venue_started venues=%s instruments=%d day=%s speed=%g",
            ",".join(venues),
            len(self.instrument_keys),
            self.day,
            self.speed,
        )

    async def _wait_ready(self) -> None:
        assert self._node is not None and self._strategy is not None
        cache = self._node.cache
        ids = list(self._instrument_ids.values())
        deadline = time.monotonic() + self.start_timeout_secs
        while True:
            if self._strategy.is_running and all(cache.quote_tick(i) is not None for i in ids):
                return
            if self._run_task is not None and self._run_task.done():
                raise VenueError("paper venue: the trading node stopped while starting")
            if time.monotonic() > deadline:
                missing = [str(i) for i in ids if cache.quote_tick(i) is None]
                raise VenueError(
                    f"paper venue: not ready after {self.start_timeout_secs:g}s "
                    f"(strategy running: {self._strategy.is_running}; no quote yet for "
                    f"{', '.join(missing) or 'none'})"
                )
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop the node and dispose of it. Idempotent; open orders are left as they are."""
        node, self._node = self._node, None
        self._running = False
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
    ) -> None:
        """Send an order (non-blocking, any thread); its events come through ``on_event``.

        A request the venue cannot take gives a ``rejected`` event, never an exception. An
        order_id already submitted is ignored (use ``order_state`` when recovering)."""
        self._in_loop(
            self._submit,
            order_id,
            venue_key,
            side,
            quantity,
            order_type,
            price,
            exec_algorithm,
            dict(exec_algorithm_params or {}),
        )

    def cancel(self, order_id: str) -> None:
        """Cancel an order (non-blocking, any thread): a ``canceled`` event follows unless it
        is filled first. For an algorithm order: no more slices, open children canceled."""
        self._in_loop(self._cancel, order_id)

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
            _venue_units(quote.bid_size.as_decimal(), spec),
            quote.ask_price.as_decimal(),
            _venue_units(quote.ask_size.as_decimal(), spec),
            int(quote.ts_event),
        )

    def order_state(self, order_id: str) -> str | None:
        """What the venue knows of an order, in the daemon's vocabulary: ``SUBMITTED``,
        ``ACCEPTED``, ``PARTIALLY_FILLED``, ``FILLED``, ``CANCELED`` or ``REJECTED``;
        ``None`` if it never saw it. The node keeps no state across restarts."""
        if self._node is None:
            return None
        cache = self._node.cache
        cid = client_order_id_for(order_id)
        primary = cache.order(cid)
        tracked = self._orders.get(order_id)
        if primary is None:  # refused before reaching Nautilus, or never seen
            return "REJECTED" if tracked is not None and tracked.final else None
        if primary.exec_algorithm_id is None:
            return _daemon_status(primary)
        children = [o for o in cache.orders_for_exec_spawn(cid) if o.client_order_id != cid]
        filled = sum((o.filled_qty.as_decimal() for o in children), Decimal(0))
        if filled >= primary.quantity.as_decimal():
            return "FILLED"
        if not primary.is_closed or any(not o.is_closed for o in children):
            return "PARTIALLY_FILLED" if filled > 0 else "ACCEPTED"
        refused = tracked is not None and tracked.stop_reason is not None
        return "REJECTED" if refused and filled == 0 else "CANCELED"

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
            "open_orders": sum(1 for t in self._orders.values() if not t.final),
        }

    def fills(self, order_id: str) -> list[Fill]:
        """The fills this gateway reported for ``order_id`` since it started."""
        tracked = self._orders.get(order_id)
        return list(tracked.fills) if tracked is not None else []

    # -- internals: requests ---------------------------------------------------------------

    def _in_loop(self, fn: Callable[..., None], *args: Any) -> None:
        if self._loop is None:
            raise VenueError("paper venue: not started")
        if threading.get_ident() == self._thread_id:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

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

    def _submit(
        self,
        order_id: str,
        venue_key: str,
        side: str,
        quantity: Decimal,
        order_type: str,
        price: Decimal | None,
        exec_algorithm: str,
        params: dict[str, Any],
    ) -> None:
        if order_id in self._orders:
            log.warning("paper_venue_duplicate_submit order_id=%s ignored", order_id)
            return
        try:
            order, tracked = self._build_order(
                order_id, venue_key, side, quantity, order_type, price, exec_algorithm, params
            )
        except Exception as exc:  # _Rejected, or anything unforeseen: never raise
            if not isinstance(exc, _Rejected):
                log.exception("paper_venue_invalid_order order_id=%s", order_id)
            self._orders[order_id] = _Tracked(
                order_id, venue_key, client_order_id_for(order_id), None, Decimal(0), None,
                time.time_ns(), final=True,
            )  # fmt: skip
            reason = str(exc) if isinstance(exc, _Rejected) else f"invalid order: {exc}"
            log.info("paper_venue_rejected order_id=%s reason=%s", order_id, reason)
            self._emit(VenueEvent("rejected", order_id, venue_key, {"reason": reason}))
            return
        assert self._strategy is not None
        self._orders[order_id] = tracked
        self._by_client_id[tracked.client_order_id.value] = order_id
        try:
            self._strategy.submit_order(order)
        except Exception as exc:  # e.g. an algorithm failing on its primary
            log.exception("paper_venue_submit_failed order_id=%s", order_id)
            tracked.final = True
            self._emit(VenueEvent("rejected", order_id, venue_key, {"reason": f"venue: {exc}"}))
            return
        if tracked.algorithm is not None and not tracked.final:
            tracked.accepted = True
            detail = {
                "client_order_id": tracked.client_order_id.value,
                "exec_algorithm": tracked.algorithm,
            }
            self._emit(VenueEvent("accepted", order_id, venue_key, detail))

    def _build_order(
        self,
        order_id: str,
        venue_key: str,
        side: str,
        quantity: Decimal,
        order_type: str,
        price: Decimal | None,
        exec_algorithm: str,
        params: dict[str, Any],
    ) -> tuple[Order, _Tracked]:
        """The Nautilus order for a request; raises :class:`_Rejected` with the reason."""
        if not self._running or self._strategy is None or self._node is None:
            raise _Rejected("paper venue is not running")
        spec = self._specs.get(venue_key)
        instrument: Instrument | None = None
        if spec is not None:
            instrument = self._node.cache.instrument(self._instrument_ids[venue_key])
        if spec is None or instrument is None:
            raise _Rejected(
                f"instrument {venue_key} is not traded on this paper venue "
                f"(instruments: {', '.join(self.instrument_keys)})"
            )
        side_text = str(side).upper()
        if side_text not in ("BUY", "SELL"):
            raise _Rejected(f"side must be BUY or SELL, got {side!r}")
        kind = str(order_type).upper()
        if kind not in ("MARKET", "LIMIT"):
            raise _Rejected(f"order_type must be MARKET or LIMIT, got {order_type!r}")
        scale = quantity_scale(spec)
        try:
            venue_qty = Decimal(quantity)
        except (InvalidOperation, TypeError, ValueError):
            raise _Rejected(f"quantity {quantity!r} is not a decimal number") from None
        base_qty = venue_qty * scale
        if not base_qty > 0:
            raise _Rejected(f"quantity must be > 0, got {quantity}")
        try:
            qty = instrument.make_qty(base_qty)
        except ValueError:  # rounds to zero
            qty = None
        if qty is None or qty.as_decimal() != base_qty:
            raise _Rejected(
                f"quantity {quantity} is not a multiple of the size increment "
                f"{spec.size_increment} of {venue_key}"
            )
        limit_price = None
        if kind == "LIMIT":
            if price is None:
                raise _Rejected("a LIMIT order needs a price")
            try:
                wanted = Decimal(price)
                limit_price = instrument.make_price(wanted)
            except (InvalidOperation, TypeError, ValueError) as exc:
                raise _Rejected(f"price {price!r} is invalid: {exc}") from None
            if not wanted > 0 or limit_price.as_decimal() != wanted:
                raise _Rejected(
                    f"price {price} is not a positive multiple of the tick size "
                    f"{spec.price_increment} of {venue_key}"
                )
        algorithm_id, algorithm_params = self._algorithm(
            exec_algorithm, params, scale, base_qty, instrument
        )
        cid = client_order_id_for(order_id)
        if self._node.cache.order(cid) is not None:
            raise _Rejected(f"client order id {cid} is already used on this venue")
        factory = self._strategy.order_factory
        common: dict[str, Any] = dict(
            instrument_id=instrument.id,
            order_side=OrderSide.BUY if side_text == "BUY" else OrderSide.SELL,
            quantity=qty,
            time_in_force=TimeInForce.GTC,
            exec_algorithm_id=algorithm_id,
            exec_algorithm_params=algorithm_params,
            tags=[f"{ORDER_ID_TAG}{order_id}"],
            client_order_id=cid,
        )
        order: Order = (
            factory.market(**common)
            if kind == "MARKET"
            else factory.limit(price=limit_price, **common)
        )
        tracked = _Tracked(
            order_id=order_id,
            venue_key=venue_key,
            client_order_id=cid,
            algorithm=None if algorithm_id is None else algorithm_id.value,
            quantity=venue_qty,
            spec=spec,
            submitted_ns=time.time_ns(),
        )
        return order, tracked

    @staticmethod
    def _algorithm(
        name: str,
        params: dict[str, Any],
        scale: Decimal,
        base_qty: Decimal,
        instrument: Instrument,
    ) -> tuple[ExecAlgorithmId | None, dict[str, Any] | None]:
        """The exec algorithm id and its Nautilus params (``{"params": json}``), checked
        with our own parser so that a bad request is rejected here and not inside the
        algorithm. ``display_quantity`` is converted from venue to node units."""
        try:
            algorithm = parse_algorithm_name(name)
            if algorithm is AlgorithmName.NORMAL:
                if params:
                    raise _Rejected(f"NORMAL takes no exec_algorithm_params, got {sorted(params)}")
                return None, None
            node_params = dict(params)
            if "display_quantity" in node_params:
                with contextlib.suppress(InvalidOperation, TypeError, ValueError):
                    display = Decimal(str(node_params["display_quantity"])) * scale
                    node_params["display_quantity"] = float(display)
            _, parsed = parse_algorithm(algorithm.value, node_params)
            validate_for_order(algorithm, parsed, float(base_qty), float(instrument.size_increment))
        except ExecutionServicesError as exc:
            raise _Rejected(str(exc)) from None
        return ExecAlgorithmId(algorithm.value), {"params": json.dumps(node_params)}

    def _cancel(self, order_id: str) -> None:
        tracked = self._orders.get(order_id)
        if tracked is None:
            log.warning("paper_venue_cancel_unknown order_id=%s", order_id)
            return
        if tracked.final or self._node is None:
            return
        tracked.cancel_requested = True
        self._stop_family(tracked)
        self._maybe_finish(tracked)

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

    # -- internals: Nautilus events --------------------------------------------------------

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


class _Rejected(Exception):
    pass


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
