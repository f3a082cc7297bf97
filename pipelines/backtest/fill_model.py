"""The backtest's fill model: market orders take the *quoted* size at the touch.

Why (NautilusTrader 1.221, ``backtest/engine.pyx``, ``OrderMatchingEngine``): with
``BookType.L1_MBP`` every ``TradeTick`` goes through ``process_trade_tick``, which calls
``self._book.update_trade_tick(tick)`` whether or not ``trade_execution`` is on; that
replaces *both* sides of the one-level book with the trade's price and size. With
``trade_execution=True`` it then moves ``_core.ask`` (buyer aggressor) or ``_core.bid``
(seller aggressor) to the trade price, so resting limit orders can fill from trades. The
backtest loop runs ``exchange.process(ts)`` (in-flight orders due by ``ts``) after *every*
tick, so a market order arriving with a trade is matched against that trade's book:
``determine_market_price_and_volume`` fills the trade's size at ``_core.ask`` and
``apply_fills`` fills the rest one tick through. On Binance BTCUSDT of 2021-01-08 a market
buy of 0.262 BTC arriving at 00:00:17.577 (ask 39490.02 quoted for 1.67053 BTC, a buyer
trade of 0.003267 at 39490.02) filled 0.258733 at 39490.03, outside the real prices.

The fix uses the hook 1.221 offers for this, ``FillModel.get_orderbook_for_fill_simulation``
(called by ``determine_market_fills_with_simulation`` with ``_core.bid`` / ``_core.ask``):
for a market-type order, when the matching engine's touch is the last quote's touch
(the quote the data engine put in the cache), the order fills against a one-level book of
the quoted price and size. What the quote does not cover still fills one tick through
(``apply_fills`` on an L1 venue), and ``prob_slippage`` still applies. Otherwise (no
quote yet, an empty side, or a trade that printed through the quote so the touch moved)
it returns ``None`` and NautilusTrader's own logic fills as before. Limit orders are not
touched: they keep filling from trades and quotes as the matching engine decides.
"""

from __future__ import annotations

from nautilus_trader.backtest.models import FillModel
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.enums import BookType, OrderSide, OrderType
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price
from nautilus_trader.model.orders import Order

# The order types NautilusTrader fills aggressively as market orders (``fill_market_order``).
MARKET_ORDER_TYPES = frozenset(
    {
        OrderType.MARKET,
        OrderType.STOP_MARKET,
        OrderType.MARKET_IF_TOUCHED,
        OrderType.TRAILING_STOP_MARKET,
    }
)


class QuotedTouchFillModel(FillModel):
    """A ``FillModel`` whose market orders see the last quote's size at the touch.

    ``cache`` is the engine's cache (``engine.cache``): the data engine adds every quote to
    it before the exchange processes the orders due at that tick.
    """

    def __init__(
        self,
        cache: CacheFacade,
        *,
        prob_fill_on_limit: float,
        prob_slippage: float,
        random_seed: int | None,
    ) -> None:
        super().__init__(
            prob_fill_on_limit=prob_fill_on_limit,
            prob_slippage=prob_slippage,
            random_seed=random_seed,
        )
        self._cache = cache

    def get_orderbook_for_fill_simulation(
        self,
        instrument: Instrument,
        order: Order,
        best_bid: Price,
        best_ask: Price,
    ) -> OrderBook | None:
        if order.order_type not in MARKET_ORDER_TYPES:
            return None
        quote = self._cache.quote_tick(instrument.id)
        if quote is None:
            return None
        if order.side == OrderSide.BUY:
            side, price, size, touch = OrderSide.SELL, quote.ask_price, quote.ask_size, best_ask
        else:
            side, price, size, touch = OrderSide.BUY, quote.bid_price, quote.bid_size, best_bid
        if touch is None or price != touch or size.raw <= 0:
            return None
        book = OrderBook(instrument_id=instrument.id, book_type=BookType.L2_MBP)
        book.add(BookOrder(side=side, price=price, size=size, order_id=1), 0, 0)
        return book
