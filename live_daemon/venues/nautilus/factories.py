"""Making our NautilusTrader nodes and their clients: the client factories a node is given,
and building a ``TradingNode`` in a loop the caller owns.

Client factories (registered with ``node.add_data_client_factory`` /
``node.add_exec_client_factory`` under the names the configs of
:mod:`live_daemon.venues.nautilus.config` use):

- :class:`ReplayDataClientFactory` (``REPLAY_CLIENT_NAME``): the replay data client
  (:mod:`live_daemon.venues.nautilus.data`);
- :class:`SandboxLiveExecClientFactory` (``SANDBOX_FACTORY_NAME``): the paper node's sandbox
  execution clients (:class:`~live_daemon.venues.nautilus.execution.QuoteDrivenSandboxClient`);
- :func:`add_live_factories`: the real venues' adapter factories (:data:`LIVE_FACTORIES`)
  that ``build_live_node_config`` needs.

Event loop: :func:`new_node` builds the node on the caller's loop, inside
:func:`node_in_loop`, which undoes what a ``TradingNode`` (NautilusTrader 1.221) does to the
loop it is given: it installs SIGINT/SIGTERM/SIGABRT handlers (they would replace uvicorn's,
so that Ctrl-C stopped the node and not the server; outside the main thread
``signal.signal`` even raises), sets the loop's debug flag and makes a new thread pool the
loop's default executor; and each actor's ``ActorExecutor`` would leave a worker task
pending after stop (executors are not registered: no actor here runs work in one).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Iterable, Iterator

from nautilus_trader.adapters.binance.factories import (
    BinanceLiveDataClientFactory,
    BinanceLiveExecClientFactory,
)
from nautilus_trader.adapters.bybit.factories import (
    BybitLiveDataClientFactory,
    BybitLiveExecClientFactory,
)
from nautilus_trader.adapters.okx.factories import (
    OKXLiveDataClientFactory,
    OKXLiveExecClientFactory,
)
from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.factories import LiveDataClientFactory, LiveExecClientFactory
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.portfolio import PortfolioFacade
from nautilus_trader.system.kernel import NautilusKernel

from live_daemon.venues.nautilus.config import ReplayDataClientConfig, live_venue
from live_daemon.venues.nautilus.data import ReplayDataClient
from live_daemon.venues.nautilus.execution import QuoteDrivenSandboxClient

# -- client factories ----------------------------------------------------------------------


class ReplayDataClientFactory(LiveDataClientFactory):
    """Registered with ``node.add_data_client_factory(REPLAY_CLIENT_NAME, ...)``."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: ReplayDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> ReplayDataClient:
        return ReplayDataClient(
            loop=loop,
            client_id=ClientId(name),
            config=config,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
        )


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


LIVE_FACTORIES: dict[str, tuple[type[LiveDataClientFactory], type[LiveExecClientFactory]]] = {
    "BINANCE-SPOT": (BinanceLiveDataClientFactory, BinanceLiveExecClientFactory),
    "BINANCE-FUTURES": (BinanceLiveDataClientFactory, BinanceLiveExecClientFactory),
    "BYBIT": (BybitLiveDataClientFactory, BybitLiveExecClientFactory),
    "OKX": (OKXLiveDataClientFactory, OKXLiveExecClientFactory),
}
"""The data and execution client factories of each of our real venues (``LIVE_VENUES``)."""


def add_live_factories(node: TradingNode, venues: Iterable[str]) -> None:
    """Register the client factories ``build_live_node_config(venues)`` needs."""
    for venue in dict.fromkeys(venues):
        live = live_venue(venue)
        data_factory, exec_factory = LIVE_FACTORIES[live.venue]
        node.add_data_client_factory(live.client_name, data_factory)
        node.add_exec_client_factory(live.client_name, exec_factory)


# -- nodes ---------------------------------------------------------------------------------

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
