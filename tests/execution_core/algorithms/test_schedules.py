"""Slicing schedules: NORMAL, TWAP and VWAP."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution_core.algorithms import (
    AlgorithmParamsError,
    IcebergParams,
    NormalParams,
    Slice,
    TwapParams,
    VwapParams,
    normal_schedule,
    parse_algorithm,
    profile_weights,
    quantity_to_lots,
    schedule_for,
    twap_schedule,
    vwap_schedule,
)
from execution_core.algorithms.schedules import allocate_lots, bucket_offsets, horizon_ns

S = 1_000_000_000


def lots_of(schedule: list[Slice], lot: float) -> list[int]:
    lots = [round(s.quantity / lot) for s in schedule]
    for s, n in zip(schedule, lots, strict=True):
        assert abs(s.quantity - n * lot) <= 1e-9 * max(1.0, s.quantity)  # on the lot grid
    return lots


# --- NORMAL -----------------------------------------------------------------------------


def test_normal() -> None:
    assert normal_schedule(1.5) == [Slice(0, 1.5)]
    assert schedule_for("NORMAL", NormalParams(), 1.0, 0.001) == [Slice(0, 1.0)]
    # rounded down onto the lot grid like the others
    assert schedule_for("NORMAL", NormalParams(), 0.12345, 0.001) == [Slice(0, 0.123)]


@pytest.mark.parametrize("quantity", [0.0, -1.0, float("nan"), float("inf")])
def test_normal_rejects(quantity: float) -> None:
    with pytest.raises(AlgorithmParamsError, match="NORMAL: quantity"):
        normal_schedule(quantity)


# --- TWAP -------------------------------------------------------------------------------


def test_twap_btc_example() -> None:
    _, params = parse_algorithm("TWAP", '{"duration_sec": 120, "max_slices": 6}')
    assert isinstance(params, TwapParams)
    schedule = twap_schedule(1.0, params, 0.001)
    assert [s.offset_ns for s in schedule] == [0, 20 * S, 40 * S, 60 * S, 80 * S, 100 * S]
    assert [s.quantity for s in schedule] == [0.167, 0.167, 0.167, 0.167, 0.166, 0.166]
    assert sum(lots_of(schedule, 0.001)) == 1000
    assert schedule == schedule_for("TWAP", params, 1.0, 0.001)


def test_twap_even_split() -> None:
    schedule = twap_schedule(0.6, TwapParams(duration_sec=60, max_slices=3), 0.1)
    assert schedule == [Slice(0, 0.2), Slice(20 * S, 0.2), Slice(40 * S, 0.2)]


def test_twap_fewer_lots_than_slices() -> None:
    schedule = twap_schedule(0.003, TwapParams(duration_sec=120, max_slices=10), 0.001)
    assert schedule == [Slice(0, 0.001), Slice(40 * S, 0.001), Slice(80 * S, 0.001)]


def test_twap_one_slice() -> None:
    assert twap_schedule(2.0, TwapParams(max_slices=1), 0.01) == [Slice(0, 2.0)]


def test_twap_rounds_quantity_down_to_lots() -> None:
    schedule = twap_schedule(1.0009, TwapParams(max_slices=4), 0.001)
    assert sum(lots_of(schedule, 0.001)) == 1000


def test_twap_offsets_round_to_nanoseconds() -> None:
    schedule = twap_schedule(3.0, TwapParams(duration_sec=1, max_slices=3), 1.0)
    assert [s.offset_ns for s in schedule] == [0, 333_333_333, 666_666_667]


@pytest.mark.parametrize("quantity", [0.0005, 0.0, -1.0])
def test_twap_needs_a_lot(quantity: float) -> None:
    with pytest.raises(AlgorithmParamsError, match="TWAP: quantity"):
        twap_schedule(quantity, TwapParams(), 0.001)


def test_deterministic() -> None:
    params = VwapParams(duration_sec=300, max_slices=37)
    assert vwap_schedule(12.345, params, 0.001) == vwap_schedule(12.345, params, 0.001)


# --- profiles ---------------------------------------------------------------------------


def test_flat_profile() -> None:
    assert profile_weights("flat", 4) == [0.25] * 4


def test_u_shape_heavier_at_the_ends() -> None:
    for n in (3, 5, 10, 11, 60):
        w = profile_weights("u_shape", n)
        assert sum(w) == pytest.approx(1.0)
        assert w == pytest.approx(w[::-1])  # symmetric
        middle = w[n // 2]
        assert w[0] > middle and w[-1] > middle
        half = w[: (n + 1) // 2]
        assert all(a > b for a, b in itertools.pairwise(half))  # falls to the middle
    w = profile_weights("u_shape", 5)  # 1 + 2(2x - 1)^2 at x = 0.1, 0.3, 0.5, ...
    raw = [2.28, 1.32, 1.0, 1.32, 2.28]
    assert w == pytest.approx([r / sum(raw) for r in raw])


def test_u_shape_degenerate() -> None:
    assert profile_weights("u_shape", 1) == [1.0]
    assert profile_weights("u_shape", 2) == [0.5, 0.5]


def test_list_profile_weights() -> None:
    assert profile_weights([1, 1, 2], 3) == pytest.approx([0.25, 0.25, 0.5])
    # fewer buckets than weights: the step function integrated over each bucket
    assert profile_weights([1.0, 0.0, 3.0], 2) == pytest.approx([0.25, 0.75])
    assert profile_weights([1, 2, 3, 4], 2) == pytest.approx([0.3, 0.7])
    assert profile_weights([1, 2, 3, 4], 1) == [1.0]


def test_profile_weights_rejects() -> None:
    with pytest.raises(ValueError):
        profile_weights("flat", 0)
    with pytest.raises(ValueError):
        profile_weights("spiky", 3)  # type: ignore[arg-type]


def test_allocate_lots_largest_remainder() -> None:
    f = Fraction
    assert allocate_lots(10, [f(1, 3)] * 3) == [4, 3, 3]  # tie: earlier bucket first
    assert allocate_lots(7, [f(1), f(0), f(1)]) == [4, 0, 3]
    assert allocate_lots(5, [f(1, 10), f(2, 10), f(7, 10)]) == [1, 1, 3]  # 0.5, 1, 3.5: tie
    assert allocate_lots(10, [f(12), f(33), f(55)]) == [1, 3, 6]  # 1.2, 3.3, 5.5
    with pytest.raises(ValueError):
        allocate_lots(3, [f(0), f(0)])


# --- VWAP -------------------------------------------------------------------------------


def test_vwap_follows_u_shape() -> None:
    params = VwapParams(duration_sec=120, max_slices=10)
    schedule = vwap_schedule(1.0, params, 0.001)
    lots = lots_of(schedule, 0.001)
    assert sum(lots) == 1000
    assert [s.offset_ns for s in schedule] == [i * 12 * S for i in range(10)]
    for n, w in zip(lots, profile_weights("u_shape", 10), strict=True):
        assert abs(n - 1000 * w) < 1
    assert lots[0] > lots[4] and lots[-1] > lots[5]


def test_flat_vwap_equals_twap() -> None:
    for quantity, lot, slices in [
        (1.0, 0.001, 6),
        (0.013, 0.001, 5),
        (0.003, 0.001, 10),
        (7, 1, 7),
    ]:
        vwap = vwap_schedule(quantity, VwapParams(profile="flat", max_slices=slices), lot)
        twap = twap_schedule(quantity, TwapParams(max_slices=slices), lot)
        assert vwap == twap


def test_vwap_explicit_profile() -> None:
    _, params = parse_algorithm("VWAP", '{"duration_sec": 60, "profile": [1, 0, 3]}')
    assert isinstance(params, VwapParams)
    schedule = vwap_schedule(0.8, params, 0.1)
    # the empty middle bucket gets no slice
    assert schedule == [Slice(0, 0.2), Slice(40 * S, 0.6)]


def test_vwap_fewer_lots_than_buckets() -> None:
    params = VwapParams(duration_sec=100, max_slices=4, profile=[1, 1, 1, 5])
    schedule = vwap_schedule(2, params, 1)  # 2 buckets of 50 s: weights 2/8 and 6/8
    assert schedule == [Slice(0, 1.0), Slice(50 * S, 1.0)]  # 0.5 -> 1 (tie: earlier), 1.5 -> 1


def test_schedule_for_iceberg_raises() -> None:
    with pytest.raises(AlgorithmParamsError, match="ICEBERG is not time-sliced"):
        schedule_for("ICEBERG", IcebergParams(display_quantity=0.1), 1.0, 0.001)


def test_schedule_for_wrong_params() -> None:
    with pytest.raises(AlgorithmParamsError, match="VWAP: params must be VwapParams"):
        schedule_for("VWAP", TwapParams(), 1.0, 0.001)


def test_horizon_and_offsets() -> None:
    assert horizon_ns(120) == 120 * S
    assert horizon_ns(0.1) == 100_000_000
    assert horizon_ns(1e-12) == 1
    assert bucket_offsets(4, 10) == [0, 3, 5, 8]  # 2.5 and 7.5 round up


def test_tiny_horizon_keeps_offsets_increasing() -> None:
    schedule = twap_schedule(100, TwapParams(duration_sec=5e-9, max_slices=10), 1)
    assert [s.offset_ns for s in schedule] == [0, 1, 2, 3, 4]
    assert sum(lots_of(schedule, 1)) == 100


# --- properties -------------------------------------------------------------------------

LOTS = st.sampled_from([0.00001, 0.0001, 0.001, 0.01, 0.1, 1.0, 10.0, 0.5, 0.025])
PROFILES = st.one_of(
    st.sampled_from(["u_shape", "flat"]),
    st.lists(
        st.one_of(st.just(0.0), st.floats(0, 100, allow_nan=False, allow_infinity=False)),
        min_size=1,
        max_size=50,
    ).filter(lambda w: sum(w) > 0),
)


def _check(schedule: list[Slice], quantity: float, lot: float, duration: float) -> None:
    lots = lots_of(schedule, lot)
    assert all(n > 0 for n in lots)
    assert all(s.quantity > 0 for s in schedule)
    assert sum(lots) == quantity_to_lots(quantity, lot)
    offsets = [s.offset_ns for s in schedule]
    assert offsets[0] >= 0
    assert all(a < b for a, b in itertools.pairwise(offsets))
    assert offsets[-1] < horizon_ns(duration)


@settings(max_examples=300, deadline=None)
@given(
    lots=st.integers(1, 200_000),
    extra=st.floats(0, 0.999),
    lot=LOTS,
    slices=st.integers(1, 1000),
    duration=st.floats(0.001, 300),
)
def test_twap_properties(lots: int, extra: float, lot: float, slices: int, duration: float) -> None:
    quantity = (lots + extra) * lot
    schedule = twap_schedule(quantity, TwapParams(duration_sec=duration, max_slices=slices), lot)
    _check(schedule, quantity, lot, duration)
    assert len(schedule) == min(slices, quantity_to_lots(quantity, lot))
    assert schedule[0].offset_ns == 0
    sizes = lots_of(schedule, lot)
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)


@settings(max_examples=300, deadline=None)
@given(
    lots=st.integers(1, 200_000),
    extra=st.floats(0, 0.999),
    lot=LOTS,
    slices=st.integers(1, 1000),
    duration=st.floats(0.001, 300),
    profile=PROFILES,
)
def test_vwap_properties(
    lots: int,
    extra: float,
    lot: float,
    slices: int,
    duration: float,
    profile: str | list[float],
) -> None:
    if isinstance(profile, list):
        slices = len(profile)
    params = VwapParams(duration_sec=duration, max_slices=slices, profile=profile)  # type: ignore[arg-type]
    quantity = (lots + extra) * lot
    schedule = vwap_schedule(quantity, params, lot)
    _check(schedule, quantity, lot, duration)
    total = quantity_to_lots(quantity, lot)
    n = min(slices, total)
    weights = profile_weights(params.profile, n)
    offsets = bucket_offsets(n, horizon_ns(duration))
    allocated = dict(zip([s.offset_ns for s in schedule], lots_of(schedule, lot), strict=True))
    for offset, w in zip(offsets, weights, strict=True):
        assert abs(allocated.get(offset, 0) - total * w) < 1 + 1e-9
