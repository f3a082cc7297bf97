"""Execution inside the paper node: the sandbox execution client our venues match with, and
the strategy our orders go through.

:class:`QuoteDrivenSandboxClient` is the sandbox execution client of each Nautilus venue of
the paper node (configured by
:func:`~live_daemon.venues.nautilus.config.paper_node_config`, created by
:class:`~live_daemon.venues.nautilus.factories.SandboxLiveExecClientFactory`).
:class:`GatewayStrategy` is the in-node bridge of the paper gateway: orders built with its
order factory are submitted (and canceled) through it
(:mod:`~live_daemon.venues.nautilus.submission`), and it hands every order event to the
order tracker (:mod:`~live_daemon.venues.nautilus.tracking`).

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

from collections.abc import Callable
from typing import Any

from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.config import StrategyConfig
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.enums import OrderStatus, OrderType
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId
from nautilus_trader.trading.strategy import Strategy

STRATEGY_ID = "PAPER-GATEWAY"


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


class GatewayStrategy(Strategy):
    """The in-node bridge: orders go out through it, their events come back to the handler
    given to :meth:`forward_order_events` (the order tracker, which registers itself when
    it is made, before the node runs: until then there are no order events)."""

    def __init__(self, quotes: tuple[InstrumentId, ...] = ()) -> None:
        super().__init__(
            StrategyConfig(strategy_id=STRATEGY_ID, log_events=False, log_commands=False)
        )
        self._forward_event: Callable[[OrderEvent], None] | None = None
        self._quote_ids = quotes  # live data clients send only what is subscribed

    def forward_order_events(self, handler: Callable[[OrderEvent], None]) -> None:
        """Hand every order event to ``handler`` from now on (on whatever thread
        NautilusTrader publishes it from)."""
        self._forward_event = handler

    def on_start(self) -> None:
        # The gateway reads quotes from the cache; the replay client publishes every quote,
        # a real venue's data client only those subscribed to.
        for instrument_id in self._quote_ids:
            self.subscribe_quote_ticks(instrument_id)

    def on_stop(self) -> None:
        pass

    def on_order_event(self, event: OrderEvent) -> None:
        if self._forward_event is not None:
            self._forward_event(event)
