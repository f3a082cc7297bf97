"""Build a NautilusTrader ``BacktestEngine``: one simulated venue per real venue, with
fees, fills and latency from the instrument reference."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.backtest.models import LatencyModel, MakerTakerFeeModel
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import AccountType, BookType, OmsType
from nautilus_trader.model.identifiers import TraderId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money

from execution_core.instruments.reference import InstrumentSpec
from execution_core.nautilus.instruments import to_nautilus_instrument
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.fill_model import QuotedTouchFillModel

NS_PER_MS = 1_000_000


def build_engine(
    specs: list[InstrumentSpec], config: BacktestConfig
) -> tuple[BacktestEngine, dict[str, Instrument]]:
    """An engine with every venue and instrument of ``specs`` added (keyed by canonical key)."""
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
        engine.add_venue(
            venue=venue,
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=USDT,
            starting_balances=[Money(config.starting_cash, USDT)],
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
