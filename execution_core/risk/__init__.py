"""Pre-trade risk shared by backtest and live: limits, rules, engine and risk book.

Plain deterministic Python (no NautilusTrader, no I/O, no clock: time is passed in as UTC
nanoseconds); quantities and money are ``Decimal``. See :mod:`execution_core.risk.rules`
for what each rule measures, :mod:`execution_core.risk.engine` for the engine and the
in-memory :class:`RiskBook`, :mod:`execution_core.risk.config` for the limits.
"""

from __future__ import annotations

from execution_core.risk.config import RiskLimits
from execution_core.risk.engine import RULE_ORDER, PreTradeRiskEngine, RiskBook, RiskDecision
from execution_core.risk.rules import (
    Exposure,
    OpenQuantity,
    RiskOrder,
    RiskRejection,
    RiskState,
    check_balance,
    check_gross_position,
    check_instrument_position,
    check_limit_price,
    check_notional_exposure,
    check_order_size,
    check_strategy_position,
    check_velocity,
)

__all__ = [
    "RULE_ORDER",
    "Exposure",
    "OpenQuantity",
    "PreTradeRiskEngine",
    "RiskBook",
    "RiskDecision",
    "RiskLimits",
    "RiskOrder",
    "RiskRejection",
    "RiskState",
    "check_balance",
    "check_gross_position",
    "check_instrument_position",
    "check_limit_price",
    "check_notional_exposure",
    "check_order_size",
    "check_strategy_position",
    "check_velocity",
]
