"""Market orders smaller than the quoted size at the touch fill at the touch (issue 11, 3).

Real data: Binance spot BTCUSDT of 2021-01-08 (``../shared/data/real``, NautilusTrader's
test fixtures), converted and fed the project's way (``engine_ticks`` + ``build_engine``).
A market BUY of 0.262 BTC reaches the simulated venue at an instant where a trade prints.
Before the fix NautilusTrader's L1 book took the trade's size as the size at the touch
and filled the rest one tick through (e.g. 0.059308 at 39490.02, 0.202692 at 39490.03),
a price that did not trade; see ``pipelines/backtest/fill_model.py``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.enums import AggressorSide, OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

from execution_core.instruments.reference import InstrumentReference, InstrumentSpec
from execution_core.ticks.converters.binance import read_quotes_fixture, read_trades_fixture
from execution_core.ticks.schema import TickKind
from execution_core.ticks.window_loader import TickWindows
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import build_engine
from pipelines.backtest.tick_feed import engine_ticks

BINANCE_SPOT = "BINANCE-SPOT:SPOT_PAIR:BTC-USDT"


def at(ms: int) -> dt.datetime:
    """2021-01-08 00:00:00 UTC + ``ms`` milliseconds (the fixture's timestamps are in ms)."""
    return dt.datetime(2021, 1, 8, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)


def ns(t: dt.datetime) -> int:
    """``t`` in integer nanoseconds since the epoch (no float rounding)."""
    return (t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1_000


# The case in the real data: at 00:00:17.521 the best ask is 39490.02 for
# 1.729838 BTC and a buyer-aggressor trade of 0.059308 BTC prints at 39490.02 in the same
# millisecond (the fixture has no 0.068 trade next to a 5.524 quote; this is the closest).
SAME_INSTANT = at(17_521)
ASK = Decimal("39490.02")
TICK = Decimal("0.01")


@pytest.fixture(scope="module")
def spot_2021(reference: InstrumentReference) -> InstrumentSpec:
    """BINANCE-SPOT BTC-USDT as listed in January 2021 (sizes with 6 decimals)."""
    step = Decimal("0.000001")
    return reference.get(BINANCE_SPOT).model_copy(
        update={"size_precision": 6, "size_increment": step, "lot_size": step, "min_quantity": step}
    )


@pytest.fixture(scope="module")
def tape(real_data_dir: Path) -> list[TickWindows]:
    """The day's ticks in the window loader's order (trades, then quotes)."""
    return [
        TickWindows(
            BINANCE_SPOT,
            TickKind.TRADES,
            read_trades_fixture(real_data_dir / "binance_btcusdt_trades_20210108.parquet"),
        ),
        TickWindows(
            BINANCE_SPOT,
            TickKind.QUOTES,
            read_quotes_fixture(real_data_dir / "binance_btcusdt_quotes_20210108.parquet"),
        ),
    ]


class MarketAt(Strategy):
    """Submits one market order timed to reach the venue at ``arrival``."""

    def __init__(
        self, instrument_id: InstrumentId, side: OrderSide, quantity: str, submit_at: dt.datetime
    ) -> None:
        super().__init__()
        self._instrument_id = instrument_id
        self._side = side
        self._quantity = Quantity.from_str(quantity)
        self._submit_at = submit_at

    def on_start(self) -> None:
        self.clock.set_time_alert("submit", self._submit_at, self._submit)

    def _submit(self, event: TimeEvent) -> None:
        self.submit_order(
            self.order_factory.market(self._instrument_id, self._side, self._quantity)
        )


def market_fills(
    spec: InstrumentSpec,
    tape: list[TickWindows],
    arrival: dt.datetime,
    quantity: str,
    side: OrderSide = OrderSide.BUY,
) -> list[tuple[Decimal, Decimal]]:
    """(price, size) of each fill of a market order reaching the venue at ``arrival``."""
    engine, instruments = build_engine([spec], BacktestConfig())
    try:
        instrument = instruments[spec.key]
        engine.add_data(engine_ticks(tape, instruments, []), sort=True)
        one_way = dt.timedelta(milliseconds=spec.latency_ms / 2)  # build_engine's latency
        engine.add_strategy(MarketAt(instrument.id, side, quantity, arrival - one_way))
        engine.run()
        fills = [
            event
            for order in engine.cache.orders()
            for event in order.events
            if isinstance(event, OrderFilled)
        ]
        assert fills and all(f.ts_event == ns(arrival) for f in fills)
        return [(f.last_px.as_decimal(), f.last_qty.as_decimal()) for f in fills]
    finally:
        engine.dispose()


def test_the_data_point_and_the_feeding_order(
    spot_2021: InstrumentSpec, tape: list[TickWindows], reference: InstrumentReference
) -> None:
    engine, instruments = build_engine([spot_2021], BacktestConfig())
    try:
        data = engine_ticks(tape, instruments, [])
    finally:
        engine.dispose()
    ts = ns(SAME_INSTANT)
    instant = [tick for tick in sorted(data, key=lambda d: d.ts_init) if tick.ts_init == ts]
    # A quote before a trade of the same instant, though the loader gives trades first.
    assert [type(tick) for tick in instant] == [QuoteTick, TradeTick]
    quote, trade = instant
    assert isinstance(quote, QuoteTick) and isinstance(trade, TradeTick)
    assert (quote.ask_price.as_decimal(), quote.ask_size.as_decimal()) == (
        ASK,
        Decimal("1.729838"),
    )
    assert (trade.price.as_decimal(), trade.size.as_decimal()) == (ASK, Decimal("0.059308"))
    assert trade.aggressor_side == AggressorSide.BUYER


def test_market_buy_with_a_trade_at_the_same_instant_fills_at_the_touch(
    spot_2021: InstrumentSpec, tape: list[TickWindows]
) -> None:
    """The issue's case: 0.262 BTC against 1.729838 quoted at 39490.02, a 0.059308 trade
    at 39490.02 in the same millisecond. Before the fix: 0.059308 at 39490.02 and
    0.202692 at 39490.03."""
    assert market_fills(spot_2021, tape, SAME_INSTANT, "0.262000") == [(ASK, Decimal("0.262"))]


@pytest.mark.parametrize(
    ("arrival", "trades"),
    [
        # ask 39490.02 × 1.67053 quoted at 17.562; a buyer trade of 0.003267 at the ask
        (at(17_577), "buyer 0.003267 @ 39490.02"),
        # ask 39490.02 × 1.67053 quoted at 17.541; seller trades of 0.020259 and 0.129136
        # at the bid 39490.01 (the L1 book took 0.020259 @ 39490.01 for both sides)
        (at(17_547), "seller 0.020259 + 0.129136 @ 39490.01"),
    ],
)
def test_market_buy_arriving_with_a_trade_fills_at_the_quoted_touch(
    spot_2021: InstrumentSpec, tape: list[TickWindows], arrival: dt.datetime, trades: str
) -> None:
    """No quote at that instant, only trades: the last quote's size at the touch counts."""
    assert market_fills(spot_2021, tape, arrival, "0.262000") == [(ASK, Decimal("0.262"))]


def test_market_buy_larger_than_the_touch_still_fills_the_rest_one_tick_through(
    spot_2021: InstrumentSpec, tape: list[TickWindows]
) -> None:
    """README, Known limits: L1 books, the rest of an order larger than the quoted size
    fills one tick through the touch (here 1.67053 quoted at 39490.02)."""
    assert market_fills(spot_2021, tape, at(17_577), "2.000000") == [
        (ASK, Decimal("1.67053")),
        (ASK + TICK, Decimal("0.32947")),
    ]
