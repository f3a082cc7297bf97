"""Three backtest days, each opening with the previous day's closing portfolio: every
number computed by hand.

One BTC perpetual on BINANCE-FUTURES (taker fee 5 bp), constant quotes in each day's
window, NORMAL market orders:

- day 1: buy 1.0 at the ask 100,000.1 (fee 50.00005); the close marks it at the mid
  100,000.05 (−0.05).
- day 2: the price moved overnight (bid 101,000.0 / ask 101,000.1). The carried 1.0 is
  re-marked at the day's first quote (+1,000), then buy 0.5 at 101,000.1 (fee 25.250025,
  −0.025 at the mid).
- day 3: sell the 1.5 at the bid 99,000.0 (fee 74.25): realized 1.0 × (99,000 −
  100,000.1) + 0.5 × (99,000 − 101,000.1) = −2,000.15.

Five venues in the reference have a backtest market: five accounts of 1,000,000 each (IB,
live-only, gets none).
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from execution_core.accounting.portfolio import Portfolio
from execution_core.instruments.reference import InstrumentReference
from execution_core.results import rules
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.runner import BacktestResult, run_backtest
from tests.pipelines.backtest.conftest import (
    BINANCE_BTC,
    T0,
    Signal,
    events_frame,
    quote_frame,
    quotes,
)

ACCOUNT_CASH = 1_000_000.0
N_ACCOUNTS = 5
START = ACCOUNT_CASH * N_ACCOUNTS
DAY_PNL = {
    1: -50.00005 - 0.05,
    2: 1_000.0 - 0.025 - 25.250025,
    3: 1.5 * (99_000.0 - 101_000.05) - 74.25,
}
CLOSE_EQUITY = {
    1: START - 50.00005 - 0.05,
    2: START - 75.250075 + 1.0 * (101_000.05 - 100_000.1) + 0.5 * (101_000.05 - 101_000.1),
    3: START - 2_000.15 - 149.500075,
}


def run_day(
    n: int,
    target: float,
    previous: float,
    bid: float,
    ask: float,
    reference: InstrumentReference,
    opening: Portfolio | None,
) -> BacktestResult:
    t = T0 + dt.timedelta(days=n - 1)
    return run_backtest(
        f"day-{n}",
        events_frame([Signal(t, target, previous=previous)]),
        [quotes(BINANCE_BTC, quote_frame(t, bid=bid, ask=ask))],
        reference,
        BacktestConfig(),
        opening=opening,
        opened_at=dt.datetime.combine(t.date(), dt.time(), tzinfo=dt.UTC),
    )


@pytest.fixture(scope="module")
def three_days(reference: InstrumentReference) -> list[BacktestResult]:
    day1 = run_day(1, 1.0, 0.0, 100_000.0, 100_000.1, reference, None)
    # the closing portfolio goes through its file, as between two Dagster runs
    day2 = run_day(
        2, 1.5, 1.0, 101_000.0, 101_000.1, reference, Portfolio.from_json(day1.closing.to_json())
    )
    day3 = run_day(
        3, 0.0, 1.5, 99_000.0, 99_000.1, reference, Portfolio.from_json(day2.closing.to_json())
    )
    return [day1, day2, day3]


def test_each_day_closes_at_the_equity_computed_by_hand(three_days: list[BacktestResult]) -> None:
    for n, result in enumerate(three_days, start=1):
        summary = result.summary
        assert summary["final_equity"] == pytest.approx(CLOSE_EQUITY[n], abs=1e-6), n
        assert summary["pnl"] == pytest.approx(DAY_PNL[n], abs=1e-6), n
        assert result.equity_curve["equity"][-1] == pytest.approx(CLOSE_EQUITY[n], abs=1e-6)


def test_the_curve_is_continuous_and_ends_at_start_plus_the_daily_pnls(
    three_days: list[BacktestResult],
) -> None:
    for previous, today in itertools.pairwise(three_days):
        first = today.equity_curve.row(0, named=True)
        assert first["ts_event"].time() == dt.time(0, 0)  # the day's opening row
        assert first["equity"] == previous.equity_curve["equity"][-1]  # exactly
        assert today.summary["opening_equity"] == previous.summary["final_equity"]
    last = three_days[-1].summary["final_equity"]
    assert last - START - sum(d.summary["pnl"] for d in three_days) == pytest.approx(0, abs=1e-6)


def test_a_carried_position_is_held_and_remarked_at_the_first_price_of_the_day(
    three_days: list[BacktestResult],
) -> None:
    day2 = three_days[1]
    assert day2.summary["opening_positions"] == {BINANCE_BTC: 1.0}
    opening_row, *rest = day2.positions.rows(named=True)
    assert (opening_row["quantity"], opening_row["avg_entry_price"]) == (1.0, 100_000.1)
    assert opening_row["unrealized_pnl"] == pytest.approx(-0.05, abs=1e-9)  # day 1's close
    first_marked = next(r for r in rest if r["quantity"] == 1.0)
    assert first_marked["unrealized_pnl"] == pytest.approx(999.95, abs=1e-6)  # 101,000.05
    assert day2.summary["closing_positions"] == {BINANCE_BTC: 1.5}
    assert three_days[2].summary["closing_positions"] == {}


def test_nothing_is_charged_twice(three_days: list[BacktestResult]) -> None:
    fees = [d.summary["total_fees"] for d in three_days]
    assert fees == pytest.approx([50.00005, 25.250025, 74.25], abs=1e-9)
    realized = [d.summary["realized_pnl"] for d in three_days]
    assert realized == pytest.approx([0.0, 0.0, -2_000.15], abs=1e-6)
    # the fills of each day add up to its change of position, not to the whole position
    for day in three_days:
        opening = day.summary["opening_positions"]
        assert rules.fills_match_positions(day.fills, day.positions, opening) == []
        assert rules.equity_adds_up(day.equity_curve) == []
    day3 = three_days[2]
    assert rules.fills_match_positions(day3.fills, day3.positions) != []  # opening ignored


def test_one_account_per_venue_with_the_configured_cash(
    three_days: list[BacktestResult],
) -> None:
    accounts = three_days[-1].summary["accounts"]
    assert len(accounts) == N_ACCOUNTS
    assert {a["starting_cash"] for a in accounts.values()} == {ACCOUNT_CASH}
    binance = accounts["BINANCE-FUTURES"]
    assert binance["cash"] == pytest.approx(ACCOUNT_CASH - 2_000.15 - 149.500075, abs=1e-6)
    others = [a for venue, a in accounts.items() if venue != "BINANCE-FUTURES"]
    assert all(a["equity"] == ACCOUNT_CASH for a in others)
    assert three_days[-1].summary["starting_cash"] == START


def test_the_drawdown_counts_from_the_peak_of_the_earlier_days(
    three_days: list[BacktestResult],
) -> None:
    day3 = three_days[2]
    # the high-water mark is day 2's first price: the carried 1.0 re-marked at 101,000.05,
    # before day 2's buy paid its fee. The drawdown counts from there, not from day 3's
    # opening equity.
    peak = START - 50.00005 + 1.0 * (101_000.05 - 100_000.1)
    assert peak > CLOSE_EQUITY[2]
    assert day3.summary["max_drawdown"] == pytest.approx(CLOSE_EQUITY[3] - peak, abs=1e-6)
