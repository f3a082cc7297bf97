"""Sparse demo signals: a few target-position changes per strategy, instrument and day.

Per (strategy, instrument key): ``changes_per_instrument_day`` target changes at random
millisecond times over the day, plus some rows that repeat the previous target (a signal
service re-publishing its state; not execution events). Targets are signed, on the lot
grid, at most ``max_abs_target`` in size, and each change moves the target by at least a
tenth of that (so every order is worth slicing). The first target is never zero, since a
position starts flat.

Each change carries an execution algorithm (NORMAL/TWAP/VWAP/ICEBERG, or null = the
default NORMAL) with valid JSON parameters: ``{"duration_sec": 60..300, "max_slices":
2..10}`` for TWAP/VWAP, ``{"display_quantity": q}`` for ICEBERG with ``0 < q < |order|``
on the lot grid. Every algorithm appears at least once per key. A repeated row copies the
algorithm and parameters of the row it repeats.
"""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl

from execution_core.demo.config import DemoConfig, DemoStrategy, decimals_of
from execution_core.demo.market import NS_PER_MS, SECONDS_PER_DAY, day_start_ns, derive_seed
from execution_core.signals.schema import SIGNAL_COLUMNS, SIGNALS_SCHEMA, ExecAlgorithm
from execution_core.ticks.schema import TS_TYPE

_ALGORITHMS: tuple[str | None, ...] = (
    None,
    ExecAlgorithm.NORMAL.value,
    ExecAlgorithm.TWAP.value,
    ExecAlgorithm.VWAP.value,
    ExecAlgorithm.ICEBERG.value,
)
_ALGORITHM_WEIGHTS = (0.15, 0.2, 0.25, 0.2, 0.2)
_DURATIONS_SEC = (60, 120, 180, 240, 300)
_FLAT_PROBABILITY = 0.12
INVERSE_SIGNAL_LOT = 0.001  # base units (0.001 BTC ≈ 43 USD: several 10 USD contracts)


def _params(
    rng: np.random.Generator, algorithm: str | None, delta_lots: int, lot: float
) -> str | None:
    if algorithm in (ExecAlgorithm.TWAP, ExecAlgorithm.VWAP):
        return json.dumps(
            {
                "duration_sec": int(rng.choice(_DURATIONS_SEC)),
                "max_slices": int(rng.integers(2, 11)),
            }
        )
    if algorithm == ExecAlgorithm.ICEBERG:
        display = int(np.clip(round(delta_lots * rng.uniform(0.1, 0.35)), 1, delta_lots - 1))
        return json.dumps({"display_quantity": round(display * lot, decimals_of(lot))})
    return None


def _key_rows(
    config: DemoConfig, strategy: DemoStrategy, key: str
) -> list[tuple[int, str, str, float, str | None, str | None]]:
    listing = config.listing(key)
    asset = listing[0].asset
    # targets are base units: an inverse listing (sized in USD) trades them in its own
    # INVERSE_SIGNAL_LOT steps, converted to USD contracts when an order is sent
    lot = max(INVERSE_SIGNAL_LOT if inst.is_inverse else inst.size_increment for inst in listing)
    lot_dp = decimals_of(lot)
    max_lots = math.floor(strategy.max_abs_target[asset] / lot + 1e-9)
    min_delta = max(2, max_lots // 10)
    if max_lots < min_delta:
        raise ValueError(f"{strategy.strategy_id}/{key}: max_abs_target is below a few lots")

    rng = np.random.default_rng(
        derive_seed(config.seed, config.date.isoformat(), "signals", strategy.strategy_id, key)
    )
    lo, hi = strategy.changes_per_instrument_day
    n_changes = int(rng.integers(lo, hi + 1))
    p = strategy.repeat_probability
    n_repeats = int(rng.binomial(n_changes, p / (1.0 - p))) if p > 0 else 0
    if p > 0:
        n_repeats = max(1, n_repeats)
    n_rows = n_changes + n_repeats
    times_ms = np.sort(rng.choice(SECONDS_PER_DAY * 1000, n_rows, replace=False))
    repeat = np.zeros(n_rows, dtype=bool)
    repeat[rng.choice(np.arange(1, n_rows), n_repeats, replace=False)] = True

    algorithms = list(rng.choice(len(_ALGORITHMS), n_changes, p=_ALGORITHM_WEIGHTS))
    forced = rng.choice(n_changes, min(4, n_changes), replace=False)
    for index, algo in zip(forced.tolist(), range(1, len(_ALGORITHMS)), strict=False):
        algorithms[index] = algo

    day_ns = day_start_ns(config.date)
    rows: list[tuple[int, str, str, float, str | None, str | None]] = []
    position = 0
    change = 0
    algorithm: str | None = None
    params: str | None = None
    for row in range(n_rows):
        if not repeat[row]:
            if position != 0 and rng.random() < _FLAT_PROBABILITY:
                target = 0
            else:
                target = position
                while abs(target - position) < min_delta or target == 0:
                    target = int(rng.integers(-max_lots, max_lots + 1))
            algorithm = _ALGORITHMS[algorithms[change]]
            params = _params(rng, algorithm, abs(target - position), lot)
            position = target
            change += 1
        rows.append(
            (
                int(times_ms[row]) * NS_PER_MS + day_ns,
                strategy.strategy_id,
                key,
                round(position * lot, lot_dp),
                algorithm,
                params,
            )
        )
    return rows


def generate_strategy_signals(config: DemoConfig, strategy: DemoStrategy) -> pl.DataFrame:
    """One strategy's signal frame for ``config.date``, sorted by ``ts_event``, validated."""
    rows = [row for key in strategy.instrument_keys for row in _key_rows(config, strategy, key)]
    frame = (
        pl.DataFrame(
            rows,
            schema={**SIGNAL_COLUMNS, "ts_event": pl.Int64()},
            orient="row",
        )
        .with_columns(pl.col("ts_event").cast(TS_TYPE))
        .sort("ts_event", "instrument_key", maintain_order=True)
    )
    return SIGNALS_SCHEMA.validate(frame)


def generate_signals(config: DemoConfig) -> dict[str, pl.DataFrame]:
    """Signal frames of every configured strategy, keyed by ``strategy_id``."""
    return {s.strategy_id: generate_strategy_signals(config, s) for s in config.strategies}
