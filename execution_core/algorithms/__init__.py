"""Execution algorithms (NORMAL, TWAP, VWAP, ICEBERG) as plain, deterministic Python.

Written once and shared by the backtest (a NautilusTrader ``ExecAlgorithm`` wrapper) and
the live daemon, so both cut an order the same way. Nothing here imports NautilusTrader,
reads a clock or draws a random number.

- :mod:`.params` — parse and validate ``exec_algorithm`` / ``exec_algorithm_params``
  (:func:`parse_algorithm`, :func:`validate_for_order`), lot arithmetic.
- :mod:`.schedules` — the time-sliced schedules of NORMAL, TWAP and VWAP.
- :mod:`.iceberg` — ICEBERG as a state machine driven by fills.

Horizons and the execution window. A signal change opens a 5-minute execution window
(:data:`MAX_HORIZON_SEC` = 300 s), and an algorithm's horizon must fit in it:

- a ``duration_sec`` above 300 s is rejected at validation with an
  :class:`AlgorithmParamsError` naming the algorithm and the field (the caller names the
  signal row or live operation); nothing is silently shortened;
- TWAP/VWAP slices all start strictly before ``duration_sec`` ends, so within the window;
- an ICEBERG still working at its ``duration_sec`` (<= the window end) has its working
  child and remainder cancelled; the remainder is reported as unfilled.
"""

from execution_core.algorithms.iceberg import IcebergState, IcebergStateError, child_limit_price
from execution_core.algorithms.params import (
    MAX_HORIZON_SEC,
    AlgorithmParams,
    AlgorithmParamsError,
    IcebergParams,
    NormalParams,
    TwapParams,
    VwapParams,
    lots_to_quantity,
    parse_algorithm,
    quantity_to_lots,
    validate_for_order,
)
from execution_core.algorithms.schedules import (
    Slice,
    horizon_ns,
    normal_schedule,
    profile_weights,
    schedule_for,
    twap_schedule,
    vwap_schedule,
)

__all__ = [
    "MAX_HORIZON_SEC",
    "AlgorithmParams",
    "AlgorithmParamsError",
    "IcebergParams",
    "IcebergState",
    "IcebergStateError",
    "NormalParams",
    "Slice",
    "TwapParams",
    "VwapParams",
    "child_limit_price",
    "horizon_ns",
    "lots_to_quantity",
    "normal_schedule",
    "parse_algorithm",
    "profile_weights",
    "quantity_to_lots",
    "schedule_for",
    "twap_schedule",
    "validate_for_order",
    "vwap_schedule",
]
