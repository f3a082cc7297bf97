"""Smart order routing shared by backtest and live: cost model and venue choice.

Plain deterministic Python (no NautilusTrader). Quantities and book sizes are in base
units; see :mod:`execution_core.routing.costs` for the cost model and unit conversions.
"""

from __future__ import annotations

from execution_core.routing.costs import (
    DEFAULT_COST_MODEL,
    CostModelConfig,
    IneligibleVenueError,
    TopOfBook,
    VenueCost,
    base_quantity,
    expected_cost_bps,
    venue_quantity,
)
from execution_core.routing.router import NoVenueError, RoutingDecision, SmartRouter

__all__ = [
    "DEFAULT_COST_MODEL",
    "CostModelConfig",
    "IneligibleVenueError",
    "NoVenueError",
    "RoutingDecision",
    "SmartRouter",
    "TopOfBook",
    "VenueCost",
    "base_quantity",
    "expected_cost_bps",
    "venue_quantity",
]
