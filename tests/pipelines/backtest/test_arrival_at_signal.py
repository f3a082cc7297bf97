"""Slippage is measured against the arrival price at the signal, not at the routing decision.

For an ``ANY:`` signal the router waits (up to ``decision_timeout_ms``) for every venue to
quote. Here BINANCE-FUTURES quotes sparsely: its first quote comes 1.5 s after the signal,
so the decision happens then. Meanwhile OKX, the venue chosen, moved its mid up 5 bps (at
+1 s). The arrival price is OKX's mid at the signal (its quote at the signal's instant), so
the order's slippage includes the 5 bps move; the decision-time mid stays in the decision's
record (``decision_price``) next to its delay.
"""

from __future__ import annotations

import datetime as dt

import pytest

from execution_core.instruments.reference import InstrumentReference
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.results import decision_record
from pipelines.backtest.runner import run_backtest
from tests.pipelines.backtest.conftest import (
    ANY_BTC,
    BINANCE_BTC,
    OKX_BTC,
    T0,
    WINDOW,
    Signal,
    events_frame,
    quote_frame,
    quotes,
)

SECOND = dt.timedelta(seconds=1)
OKX_BID, OKX_ASK = 100_000.0, 100_000.1  # at the signal
MOVED_BID, MOVED_ASK = 100_050.0, 100_050.1  # from T0 + 1 s: the mid 5 bps higher
ARRIVAL_MID = (OKX_BID + OKX_ASK) / 2
DECISION_MID = (MOVED_BID + MOVED_ASK) / 2


def sparse_binance_ticks(binance_first_quote: dt.timedelta) -> list:
    return [
        # wide spread (1 bps half-spread), so OKX is cheaper once both have quoted
        quotes(
            BINANCE_BTC,
            quote_frame(
                T0 + binance_first_quote,
                duration=WINDOW - binance_first_quote,
                bid=99_990.0,
                ask=100_010.0,
            ),
        ),
        quotes(
            OKX_BTC,
            quote_frame(T0, duration=SECOND, bid=OKX_BID, ask=OKX_ASK),
            quote_frame(T0 + SECOND, duration=WINDOW - SECOND, bid=MOVED_BID, ask=MOVED_ASK),
        ),
    ]


def test_slippage_is_against_the_chosen_venue_mid_at_the_signal(
    reference: InstrumentReference,
) -> None:
    signals = [Signal(T0, 0.5, key=ANY_BTC)]
    result = run_backtest(
        "test-run",
        events_frame(signals),
        sparse_binance_ticks(dt.timedelta(milliseconds=1_500)),
        reference,
        BacktestConfig(),
    )

    (decision,) = result.decisions
    assert decision.venue_key == OKX_BTC
    delay = decision.ts_decision - int(T0.timestamp() * 1e9)
    assert 1_500_000_000 <= delay <= 1_550_000_000  # waited for BINANCE's first quote
    assert decision.decision_price == pytest.approx(DECISION_MID, rel=1e-12)
    assert decision.arrival_price == pytest.approx(ARRIVAL_MID, rel=1e-12)
    assert decision.arrival_source == "at_or_before_signal"

    (fill,) = result.fills.to_dicts()
    assert fill["price"] == pytest.approx(MOVED_ASK, rel=1e-12)
    expected = (MOVED_ASK - ARRIVAL_MID) / ARRIVAL_MID * 1e4  # ≈ 5.005 bps, not 0.005
    summary = result.summary
    assert summary["slippage_bps"]["NORMAL"]["slippage_bps"] == pytest.approx(expected, abs=1e-4)
    assert summary["slippage_bps_by_venue"]["OKX"]["slippage_bps"] == pytest.approx(
        expected, abs=1e-4
    )
    assert summary["slippage_bps_by_strategy"]["s1"]["slippage_bps"] == pytest.approx(
        expected, abs=1e-4
    )
    assert summary["decision_delay"] == {
        "n": 1,
        "mean_ms": pytest.approx(delay / 1e6),
        "max_ms": pytest.approx(delay / 1e6),
    }
    record = decision_record(decision)
    assert record["decision_delay_ms"] == pytest.approx(delay / 1e6)
    assert record["decision_price"] == pytest.approx(DECISION_MID, rel=1e-12)
    assert record["arrival_price"] == pytest.approx(ARRIVAL_MID, rel=1e-12)
    assert record["ts_signal"] == int(T0.timestamp() * 1e9)


def test_decision_timeout_bounds_the_wait_for_quotes(reference: InstrumentReference) -> None:
    """BINANCE's first quote comes after the 2 s timeout: the router decides at the timeout
    on the venues that have quoted (OKX)."""
    signals = [Signal(T0, 0.5, key=ANY_BTC)]
    result = run_backtest(
        "test-run",
        events_frame(signals),
        sparse_binance_ticks(dt.timedelta(seconds=3)),
        reference,
        BacktestConfig(decision_timeout_ms=2_000),
    )
    (decision,) = result.decisions
    assert decision.venue_key == OKX_BTC
    assert decision.delay_ns == 2_000_000_000
    assert result.summary["decision_delay"]["max_ms"] == pytest.approx(2_000.0)


def test_no_quote_within_the_timeout_is_a_rejection(reference: InstrumentReference) -> None:
    signals = [Signal(T0, 0.5, key=BINANCE_BTC)]
    late = dt.timedelta(seconds=3)
    ticks = [quotes(BINANCE_BTC, quote_frame(T0 + late, duration=WINDOW - late))]
    result = run_backtest("test-run", events_frame(signals), ticks, reference, BacktestConfig())
    (decision,) = result.decisions
    assert decision.venue_key is None
    assert decision.rejection == (
        "no venue quoted within decision_timeout_ms (2000 ms) of the signal"
    )
    assert decision.delay_ns == 2_000_000_000
    assert result.orders.is_empty()
