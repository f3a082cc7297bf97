"""Slicing schedules of the time-sliced algorithms (NORMAL, TWAP, VWAP).

A schedule is a list of :class:`Slice`: *when* (nanoseconds after the order's start) and
*how much* (unsigned; the side travels separately). It is a pure function of the order
quantity, the params and the lot size — no clock, no randomness — so the backtest's
NautilusTrader ``ExecAlgorithm`` and the live daemon cut an order into exactly the same
children.

Rules, in integer lots (``total`` = the quantity rounded down onto the lot grid, at least
one lot or :class:`~execution_core.algorithms.params.AlgorithmParamsError`):

- ``n = min(max_slices, total, horizon_ns)`` buckets of equal length over the horizon;
  bucket ``i`` starts at ``round(i * horizon_ns / n)``, so offsets strictly increase and the
  last one starts strictly before the horizon ends.
- TWAP: ``total // n`` lots per slice, the remainder one lot each on the first slices.
- VWAP: the bucket weights of the profile (:func:`profile_weights`) share out the lots by
  the largest-remainder method (exact rational arithmetic; ties go to the earlier bucket),
  so each bucket gets its proportional share rounded up or down, never off by a lot or
  more. A bucket that gets 0 lots has no slice.
- Slice quantities are positive multiples of the lot size and sum exactly (in lots) to
  ``total``.

ICEBERG is not time-sliced: it reacts to fills (see :mod:`.iceberg`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from execution_core.algorithms.params import (
    PARAMS_MODELS,
    AlgorithmParams,
    AlgorithmParamsError,
    IcebergParams,
    NormalParams,
    Profile,
    TwapParams,
    VwapParams,
    lots_to_quantity,
    order_lots,
)
from execution_core.signals.schema import ExecAlgorithm

NS_PER_SEC = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Slice:
    """One child order of a schedule: ``quantity`` sent ``offset_ns`` after the start."""

    offset_ns: int
    quantity: float


def horizon_ns(duration_sec: float) -> int:
    """``duration_sec`` in whole nanoseconds (at least 1), without float noise."""
    if not math.isfinite(duration_sec) or duration_sec <= 0:
        raise AlgorithmParamsError(f"duration_sec: must be a finite number > 0, got {duration_sec}")
    ns = (Decimal(repr(float(duration_sec))) * NS_PER_SEC).to_integral_value(ROUND_HALF_EVEN)
    return max(1, int(ns))


def bucket_offsets(n: int, horizon: int) -> list[int]:
    """Start offsets of ``n`` equal buckets over ``horizon`` ns: ``round(i * horizon / n)``.

    Halves round up. Strictly increasing when ``horizon >= n``.
    """
    if n < 1:
        raise ValueError(f"need at least one bucket, got {n}")
    return [(2 * i * horizon + n) // (2 * n) for i in range(n)]


def normal_schedule(quantity: float) -> list[Slice]:
    """NORMAL: everything at once."""
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int | float)
        or not math.isfinite(quantity)
        or quantity <= 0
    ):
        raise AlgorithmParamsError(
            f"NORMAL: quantity: must be a finite number > 0 (unsigned; the side is separate), "
            f"got {quantity}"
        )
    return [Slice(0, float(quantity))]


def twap_schedule(quantity: float, params: TwapParams, lot_size: float) -> list[Slice]:
    """TWAP: equal lots at even intervals (see the module docstring)."""
    total = order_lots(ExecAlgorithm.TWAP, quantity, lot_size)
    horizon = horizon_ns(params.duration_sec)
    n = min(params.max_slices, total, horizon)
    base, extra = divmod(total, n)
    offsets = bucket_offsets(n, horizon)
    return [
        Slice(offsets[i], lots_to_quantity(base + (1 if i < extra else 0), lot_size))
        for i in range(n)
    ]


def vwap_schedule(quantity: float, params: VwapParams, lot_size: float) -> list[Slice]:
    """VWAP: lots shared out over the buckets by the profile (see the module docstring)."""
    total = order_lots(ExecAlgorithm.VWAP, quantity, lot_size)
    horizon = horizon_ns(params.duration_sec)
    n = min(params.max_slices, total, horizon)
    lots = allocate_lots(total, _weights(params.profile, n))
    offsets = bucket_offsets(n, horizon)
    return [Slice(offsets[i], lots_to_quantity(lots[i], lot_size)) for i in range(n) if lots[i] > 0]


def profile_weights(profile: Profile, n: int) -> list[float]:
    """Normalised weights (summing to 1) of ``n`` equal buckets under ``profile``.

    ``"flat"``: equal. ``"u_shape"``: ``1 + 2 * (2x - 1)^2`` at each bucket's midpoint
    ``x`` in (0, 1) — three times heavier at the edges of the horizon than in its middle.
    A list of ``m`` weights is a step function over ``m`` equal buckets, integrated over
    the ``n`` buckets asked for (the list itself when ``n == m``).
    """
    return [float(w) for w in _weights(profile, n)]


def allocate_lots(total: int, weights: Sequence[Fraction]) -> list[int]:
    """Largest-remainder split of ``total`` lots by ``weights`` (>= 0, sum > 0).

    Each share is its exact quota rounded down or up; ties go to the earlier bucket; a
    zero weight gets nothing.
    """
    weight_sum = sum(weights, Fraction(0))
    if total < 0 or not weights or weight_sum <= 0 or any(w < 0 for w in weights):
        raise ValueError(f"cannot allocate {total} lots by weights {list(weights)}")
    quotas = [total * w / weight_sum for w in weights]
    lots = [math.floor(q) for q in quotas]
    left = total - sum(lots)
    by_remainder = sorted(range(len(quotas)), key=lambda i: (lots[i] - quotas[i], i))
    for i in by_remainder[:left]:
        lots[i] += 1
    return lots


def schedule_for(
    algorithm: ExecAlgorithm | str, params: AlgorithmParams, quantity: float, lot_size: float
) -> list[Slice]:
    """The schedule of a NORMAL, TWAP or VWAP order. ICEBERG raises: it is fill-driven.

    NORMAL's one slice is the quantity rounded down onto the lot grid, like the others.
    """
    algo = ExecAlgorithm(algorithm)
    if not isinstance(params, PARAMS_MODELS[algo]):
        raise AlgorithmParamsError(
            f"{algo.value}: params must be {PARAMS_MODELS[algo].__name__}, "
            f"got {type(params).__name__}"
        )
    if isinstance(params, NormalParams):
        return normal_schedule(lots_to_quantity(order_lots(algo, quantity, lot_size), lot_size))
    if isinstance(params, TwapParams):
        return twap_schedule(quantity, params, lot_size)
    if isinstance(params, VwapParams):
        return vwap_schedule(quantity, params, lot_size)
    assert isinstance(params, IcebergParams)
    raise AlgorithmParamsError(
        "ICEBERG is not time-sliced: drive it by fills with "
        "execution_core.algorithms.iceberg.IcebergState"
    )


def _weights(profile: Profile, n: int) -> list[Fraction]:
    """Exact normalised bucket weights (see :func:`profile_weights`)."""
    if n < 1:
        raise ValueError(f"need at least one bucket, got {n}")
    if profile == "flat":
        raw = [Fraction(1)] * n
    elif profile == "u_shape":
        # x = (2i + 1) / 2n  ->  2x - 1 = (2i + 1 - n) / n
        raw = [1 + 2 * Fraction(2 * i + 1 - n, n) ** 2 for i in range(n)]
    elif isinstance(profile, list | tuple) and profile:
        raw = _rebucket([Fraction(w) for w in profile], n)
    else:
        raise ValueError(f"unknown profile {profile!r}")
    weight_sum = sum(raw, Fraction(0))
    if any(w < 0 for w in raw) or weight_sum <= 0:
        raise ValueError(f"profile weights must be >= 0 with a positive sum, got {profile!r}")
    return [w / weight_sum for w in raw]


def _rebucket(weights: list[Fraction], n: int) -> list[Fraction]:
    """Masses of ``n`` equal buckets under the step function of ``m`` equal steps."""
    m = len(weights)
    if m == n:
        return weights
    # in units of 1/(m*n): target bucket j = [j*m, (j+1)*m), source step i = [i*n, (i+1)*n)
    out = [Fraction(0)] * n
    for i, w in enumerate(weights):
        lo, hi = i * n, (i + 1) * n
        for j in range(lo // m, min(n, (hi - 1) // m + 1)):
            overlap = min(hi, (j + 1) * m) - max(lo, j * m)
            if overlap > 0:
                out[j] += w * Fraction(overlap, n)
    return out
