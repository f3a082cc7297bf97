"""The backtest's configuration: a plain dataclass, importable without NautilusTrader (the
Dagster definitions use it to derive the run_id before any step runs the engine)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from execution_core.routing.costs import CostModelConfig


@dataclass(frozen=True)
class BacktestConfig:
    """Everything besides the data that decides a backtest's outcome (part of its run_id)."""

    starting_cash: float = 1_000_000.0
    leverage: float = 10.0
    prob_fill_on_limit: float = 1.0  # a touched limit order fills (queue position unknown)
    prob_slippage: float = 0.0  # extra one-tick slippage of market orders (besides the book)
    random_seed: int = 42
    # The router's wait for the candidate venues to quote after a signal, at most (README,
    # "Smart router"): then it decides on those that have, or rejects with none.
    decision_timeout_ms: int = 2_000
    cost_model: CostModelConfig = field(default_factory=CostModelConfig)
    log_level: str = "ERROR"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
