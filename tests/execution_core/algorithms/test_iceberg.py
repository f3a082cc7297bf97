"""ICEBERG state machine: shown quantity, replenishment, partial fills, closes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution_core.algorithms import (
    AlgorithmParamsError,
    IcebergParams,
    IcebergState,
    IcebergStateError,
    child_limit_price,
    parse_algorithm,
)


def start(quantity: float = 1.0, display: float = 0.3, lot: float = 0.1) -> IcebergState:
    return IcebergState.start(quantity, IcebergParams(display_quantity=display), lot)


def test_start() -> None:
    _, params = parse_algorithm("ICEBERG", '{"display_quantity": 0.05}')
    assert isinstance(params, IcebergParams)
    state = IcebergState.start(1.0, params, 0.001)
    assert (state.total_lots, state.display_lots, state.filled_lots, state.working_lots) == (
        1000,
        50,
        0,
        0,
    )
    assert (state.remaining, state.shown, state.filled, state.done) == (1.0, 0.0, 0.0, False)


def test_start_rounds_down_to_lots() -> None:
    state = start(quantity=1.05, display=0.25)
    assert (state.total_lots, state.display_lots) == (10, 2)


@pytest.mark.parametrize(
    ("quantity", "display", "fragment"),
    [
        (1.0, 0.05, "display_quantity: must be >= the lot size 0.1"),
        (0.05, 0.3, "ICEBERG: quantity: 0.05 is below one lot"),
        (-1.0, 0.3, "ICEBERG: quantity: must be > 0"),
    ],
)
def test_start_rejects(quantity: float, display: float, fragment: str) -> None:
    with pytest.raises(AlgorithmParamsError, match=fragment):
        start(quantity=quantity, display=display)


def test_full_fills_replenish() -> None:
    state = start()  # 10 lots, 3 shown at a time
    shown = []
    while (qty := state.next_child()) is not None:
        shown.append(qty)
        assert state.next_child() is None  # one child at a time
        state.on_fill(qty)
    assert shown == [0.3, 0.3, 0.3, 0.1]
    assert state.done and state.filled == 1.0 and state.remaining == 0.0
    assert state.children_shown == 4
    assert state.next_child() is None


def test_partial_fills_do_not_replenish() -> None:
    state = start()
    assert state.next_child() == 0.3
    state.on_fill(0.1)
    assert (state.shown, state.filled, state.remaining) == (0.2, 0.1, 0.7)
    assert state.next_child() is None  # still working 0.2
    state.on_fill(0.2)
    assert state.shown == 0.0
    assert state.next_child() == 0.3  # fully filled: replenished


def test_close_returns_unfilled_quantity() -> None:
    state = start()
    assert state.next_child() == 0.3
    state.on_fill(0.1)
    state.on_child_closed()  # e.g. expired with 0.2 unfilled
    assert (state.shown, state.filled, state.remaining) == (0.0, 0.1, 0.9)
    assert state.next_child() == 0.3
    state.on_child_closed()
    state.on_child_closed()  # idempotent
    assert state.remaining == 0.9


def test_display_above_quantity_shows_everything() -> None:
    state = start(quantity=0.5, display=2.0)
    assert state.next_child() == 0.5
    state.on_fill(0.5)
    assert state.done


def test_fill_errors() -> None:
    state = start()
    with pytest.raises(IcebergStateError, match="no child working"):
        state.on_fill(0.1)
    state.next_child()
    with pytest.raises(IcebergStateError, match=r"exceeds the working child's unfilled 0\.3"):
        state.on_fill(0.4)
    with pytest.raises(IcebergStateError, match="not a multiple of the lot size"):
        state.on_fill(0.15)
    with pytest.raises(IcebergStateError, match="must be > 0"):
        state.on_fill(0.0)
    with pytest.raises(IcebergStateError, match="must be >= 0"):
        state.on_fill(-0.1)
    assert (state.shown, state.filled) == (0.3, 0.0)  # errors leave the state unchanged


def test_cancel_at_deadline() -> None:
    params = IcebergParams(display_quantity=0.3, duration_sec=240)
    state = IcebergState.start(1.0, params, 0.1)
    assert IcebergState.deadline_ns(1_000, params) == 1_000 + 240_000_000_000
    state.next_child()
    state.on_fill(0.3)
    state.next_child()
    state.on_fill(0.1)
    state.cancel()
    assert not state.done  # the working child still has to be closed
    state.on_fill(0.1)  # a fill racing the cancel still counts
    assert state.next_child() is None
    state.on_child_closed()
    assert state.done
    assert (state.filled, state.unfilled) == (0.5, 0.5)


def test_inconsistent_state_rejected() -> None:
    with pytest.raises(IcebergStateError):
        IcebergState(total_lots=0, display_lots=1, lot_size=0.1)
    with pytest.raises(IcebergStateError):
        IcebergState(total_lots=5, display_lots=2, lot_size=0.1, working_lots=3)


def test_child_limit_price() -> None:
    assert child_limit_price("BUY", 100.0, 100.5, 0.0) == 100.0
    assert child_limit_price("SELL", 100.0, 100.5, 0.0) == 100.5
    assert child_limit_price("BUY", 100.0, 100.5, 10.0) == pytest.approx(100.1)
    assert child_limit_price("sell", 100.0, 100.5, 10.0) == pytest.approx(100.3995)
    # rounded onto the tick grid away from the other side
    assert child_limit_price("BUY", 100.0, 100.5, 10.0, tick_size=0.25) == 100.0
    assert child_limit_price("SELL", 100.0, 100.5, 10.0, tick_size=0.25) == 100.5
    with pytest.raises(AlgorithmParamsError):
        child_limit_price("HOLD", 100.0, 100.5, 0.0)
    with pytest.raises(AlgorithmParamsError):
        child_limit_price("BUY", 100.0, 100.5, 101.0)


# --- properties -------------------------------------------------------------------------

EVENTS = st.lists(
    st.tuples(st.sampled_from(["next", "fill", "fill_all", "close"]), st.floats(0, 1)),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(
    total=st.integers(1, 500),
    display=st.integers(1, 600),
    lot=st.sampled_from([0.00001, 0.001, 0.01, 0.1, 1.0, 10.0]),
    events=EVENTS,
)
def test_invariants(total: int, display: int, lot: float, events: list[tuple[str, float]]) -> None:
    params = IcebergParams(display_quantity=display * lot)
    state = IcebergState.start(total * lot, params, lot)
    assert (state.total_lots, state.display_lots) == (total, display)
    filled = 0
    for event, fraction in [*events, *[("drain", 1.0)] * (2 * total + 2)]:
        working_before = state.working_lots
        if event in ("next", "drain"):
            qty = state.next_child()
            if working_before:
                assert qty is None  # no replenishment while a child works
            elif qty is not None:
                assert 0 < qty <= params.display_quantity * (1 + 1e-12)
                assert state.working_lots == min(display, total - filled)
        if event in ("fill", "fill_all", "drain") and state.working_lots:
            lots = (
                state.working_lots
                if event != "fill"
                else max(1, int(fraction * state.working_lots))
            )
            state.on_fill(round(lots * lot, 10))
            filled += lots
        if event == "close":
            state.on_child_closed()
            assert state.working_lots == 0
        assert state.shown <= params.display_quantity * (1 + 1e-12)
        assert state.working_lots <= display
        assert state.filled_lots == filled <= total
        assert state.filled_lots + state.working_lots + state.remaining_lots == total
    assert state.done and state.filled_lots == total
    assert state.remaining_lots == 0 and state.working_lots == 0
