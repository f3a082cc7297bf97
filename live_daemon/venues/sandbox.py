"""The paper venue's ``TradingNode``: its config, sandbox execution clients, and building it
in a loop the daemon owns.

:func:`paper_node_config` gives the node (trader ``PAPER-001``)

- one sandbox execution client per NautilusTrader venue of its instruments: ``BINANCE``
  (BINANCE-SPOT *and* BINANCE-FUTURES: both map to the Nautilus venue ``BINANCE``, and a
  sandbox client's ``ClientId``, account and data subscription all derive from its venue,
  so two sandbox clients for one venue cannot coexist), ``BYBIT``, ``OKX``: a margin
  account of 1,000,000 USDT each (netting, leverage 10, L1 book, random UUID trade IDs so
  that fill IDs stay unique across daemon restarts);
- the replay data client (:mod:`live_daemon.venues.replay`) whose config the caller passes.

Event loop: :func:`new_node` builds the node on the caller's loop, inside
:func:`node_in_loop`, which undoes what a ``TradingNode`` (NautilusTrader 1.221) does to the
loop it is given: it installs SIGINT/SIGTERM/SIGABRT handlers (they would replace uvicorn's,
so that Ctrl-C stopped the node and not the server; outside the main thread
``signal.signal`` even raises), sets the loop's debug flag and makes a new thread pool the
loop's default executor; and each actor's ``ActorExecutor`` would leave a worker task
pending after stop (executors are not registered: no actor here runs work in one).

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
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import LiveExecEngineConfig, LoggingConfig, TradingNodeConfig
from nautilus_trader.core.data import Data
from nautilus_trader.live.config import LiveRiskEngineConfig
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.enums import OrderStatus, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId
from nautilus_trader.portfolio import PortfolioFacade
from nautilus_trader.system.kernel import NautilusKernel

from live_daemon.venues.replay import REPLAY_CLIENT_NAME, ReplayDataClientConfig

TRADER_ID = "PAPER-001"
NODE_MAX_ORDER_RATE = "100000/00:00:01"
SANDBOX_FACTORY_NAME = "SANDBOX"  # the node builder keys factories by the name before "-"
STARTING_BALANCE = "1000000 USDT"
DEFAULT_LEVERAGE = Decimal(10)


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


def paper_node_config(
    replay: ReplayDataClientConfig,
    venues: list[str],
    *,
    log_level: str,
    timeout_connection: float,
) -> TradingNodeConfig:
    """The paper node's config: the ``replay`` data client and a sandbox execution client
    per Nautilus venue of ``venues`` (module docstring); register
    :class:`SandboxLiveExecClientFactory` as ``SANDBOX_FACTORY_NAME`` on the node."""
    return TradingNodeConfig(
        trader_id=TRADER_ID,
        logging=LoggingConfig(log_level=log_level),
        exec_engine=LiveExecEngineConfig(reconciliation=False),  # sandbox: nothing to load
        # The daemon's PreTradeRiskEngine owns order-rate limits (per strategy, with a
        # recorded reason); NautilusTrader's default 100 orders/s would deny silently.
        risk_engine=LiveRiskEngineConfig(
            max_order_submit_rate=NODE_MAX_ORDER_RATE, max_order_modify_rate=NODE_MAX_ORDER_RATE
        ),
        data_clients={REPLAY_CLIENT_NAME: replay},
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
        timeout_connection=timeout_connection,
        timeout_portfolio=5.0,
        timeout_disconnection=5.0,
        timeout_post_stop=0.05,  # the kernel sleeps this long on every stop
    )


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


def new_node(config: TradingNodeConfig, loop: asyncio.AbstractEventLoop) -> TradingNode:
    """A ``TradingNode`` on ``loop`` (:func:`node_in_loop`), its kernel's executor shut down
    and never registered with the actors (module docstring, "Event loop"); not built yet."""
    with node_in_loop(loop):
        node = TradingNode(config=config, loop=loop)
    # The kernel's pool is no longer the loop's default (above) and no actor of ours
    # runs work in an executor; registering it would give every actor an ActorExecutor
    # whose worker task only node.dispose() (which stops the loop) ever cancels.
    if node.kernel.executor is not None:
        node.kernel.executor.shutdown(wait=False)
    node.kernel._register_executor = lambda: None  # type: ignore[method-assign]
    return node
