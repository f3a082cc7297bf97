"""Build a NautilusTrader ``BacktestEngine``: one simulated venue per real venue, with
fees, fills and latency from the instrument reference."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.backtest.models import LatencyModel, MakerTakerFeeModel
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import AccountType, BookType, OmsType
from nautilus_trader.model.identifiers import TraderId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Currency, Money

from execution_core.instruments.reference import InstrumentSpec
from execution_core.nautilus.instruments import to_nautilus_instrument
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.fill_model import QuotedTouchFillModel

NS_PER_MS = 1_000_000


def _balances(
    specs: list[InstrumentSpec], cash: float, coin_prices: Mapping[str, float]
) -> tuple[Currency | None, list[Money]]:
    """The venue account's base currency and balances: USDT, plus for inverse contracts
    (settled in their coin, as NautilusTrader needs) the same cash in each coin at its
    first price (a multi-currency account). NautilusTrader's account only checks margins;
    the accounting is the ledger's."""
    coins = sorted({s.settlement for s in specs if s.is_inverse})
    if not coins:
        return USDT, [Money(cash, USDT)]
    balances = [Money(cash, USDT)]
    for coin in coins:
        balances.append(Money(cash / coin_prices[coin], Currency.from_str(coin)))
    return None, balances


def build_engine(
    specs: list[InstrumentSpec],
    config: BacktestConfig,
    coin_prices: Mapping[str, float] | None = None,
) -> tuple[BacktestEngine, dict[str, Instrument]]:
    """An engine with every venue and instrument of ``specs`` added (keyed by canonical key).
    ``coin_prices`` (coin → USD) funds the coin balance of venues with inverse contracts."""
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("BACKTESTER-001"),
            logging=LoggingConfig(
                log_level=config.log_level, bypass_logging=config.log_level == "OFF"
            ),
        )
    )
    instruments = {spec.key: to_nautilus_instrument(spec) for spec in specs}
    by_venue: dict[Venue, list[InstrumentSpec]] = {}
    for spec in specs:
        by_venue.setdefault(instruments[spec.key].id.venue, []).append(spec)
    for venue, venue_specs in sorted(by_venue.items(), key=lambda item: item[0].value):
        latency_ms = max(s.latency_ms for s in venue_specs)
        base_currency, balances = _balances(venue_specs, config.starting_cash, coin_prices or {})
        engine.add_venue(
            venue=venue,
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=base_currency,
            starting_balances=balances,
            default_leverage=Decimal(str(config.leverage)),
            fill_model=QuotedTouchFillModel(
                engine.cache,
                prob_fill_on_limit=config.prob_fill_on_limit,
                prob_slippage=config.prob_slippage,
                random_seed=config.random_seed,
            ),
            fee_model=MakerTakerFeeModel(),
            latency_model=LatencyModel(base_latency_nanos=int(latency_ms * NS_PER_MS / 2)),
            book_type=BookType.L1_MBP,
            trade_execution=True,
        )
    for instrument in instruments.values():
        engine.add_instrument(instrument)
    return engine, instruments
