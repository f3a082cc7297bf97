"""Inverse contracts (Deribit BTC-PERPETUAL: USD contracts, PnL and fees in BTC): the rule
by hand, its properties, and the portfolio and ledger that use it."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from execution_core.accounting.portfolio import Portfolio
from execution_core.accounting.positions import (
    Position,
    apply_fill,
    apply_inverse_fill,
    inverse_unrealized_pnl,
)
from execution_core.accounting.settlement import apply_fill_for, is_inverse, settlement_currency
from execution_core.results import rules
from execution_core.results.ledger import EMPTY_MARKS, build_ledger
from execution_core.results.schemas import FILL_COLUMNS

DERIBIT = "DERIBIT:PERPETUAL:BTC-USD@INV"
BINANCE = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
FEE_RATE = 0.0005  # Deribit's taker fee: rate × USD / price, in BTC
T0 = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)

prices = st.floats(min_value=1_000.0, max_value=200_000.0)
contracts = st.integers(min_value=1, max_value=10_000).map(lambda lots: lots * 10.0)
signed = st.tuples(contracts, st.booleans()).map(lambda c: c[0] if c[1] else -c[0])


def test_a_round_trip_by_hand() -> None:
    buy_fee, sell_fee = FEE_RATE * 1000 / 50_000, FEE_RATE * 1000 / 55_000
    held = apply_inverse_fill(Position(), 1000.0, 50_000.0, buy_fee)
    assert (held.quantity, held.avg_entry_price) == (1000.0, 50_000.0)
    assert inverse_unrealized_pnl(held, 55_000.0) == pytest.approx(1000 * (1 / 50_000 - 1 / 55_000))
    flat = apply_inverse_fill(held, -1000.0, 55_000.0, sell_fee)
    assert flat.quantity == 0.0
    assert flat.realized_pnl == pytest.approx(1000 * (1 / 50_000 - 1 / 55_000), rel=1e-12)
    assert flat.fees == pytest.approx(0.01 / 1000 + 0.0005 / 55, rel=1e-12)  # BTC


def test_the_average_entry_is_the_harmonic_mean_and_a_short_gains_when_the_price_falls() -> None:
    p = apply_inverse_fill(Position(), -1000.0, 40_000.0)
    p = apply_inverse_fill(p, -3000.0, 60_000.0)
    assert p.avg_entry_price == pytest.approx(4000 / (1000 / 40_000 + 3000 / 60_000))
    assert inverse_unrealized_pnl(p, 45_000.0) > 0
    closed = apply_inverse_fill(p, 4000.0, 45_000.0)
    assert closed.realized_pnl == pytest.approx(-4000 * (1 / p.avg_entry_price - 1 / 45_000))


def test_a_flip_closes_at_the_average_and_reopens_at_the_fill_price() -> None:
    p = apply_inverse_fill(apply_inverse_fill(Position(), 500.0, 50_000.0), -800.0, 40_000.0)
    assert (p.quantity, p.avg_entry_price) == (-300.0, 40_000.0)
    assert p.realized_pnl == pytest.approx(500 * (1 / 50_000 - 1 / 40_000))


@given(st.lists(st.tuples(signed, prices, st.floats(0.0, 1e-3)), min_size=1, max_size=12), prices)
def test_equivalent_to_a_linear_position_in_usd_priced_in_btc(
    fills: list[tuple[float, float, float]], mark: float
) -> None:
    """Long q USD at p ≡ short q units of "USD" priced 1/p BTC, under the linear rule."""
    inverse, linear = Position(), Position()
    for qty, price, fee in fills:
        inverse = apply_inverse_fill(inverse, qty, price, fee)
        linear = apply_fill(linear, -qty, 1.0 / price, fee)
    assert inverse.quantity == -linear.quantity
    assert inverse.realized_pnl == pytest.approx(linear.realized_pnl, rel=1e-9, abs=1e-12)
    assert inverse.fees == pytest.approx(linear.fees, rel=1e-12, abs=1e-15)
    assert inverse_unrealized_pnl(inverse, mark) == pytest.approx(
        linear.unrealized_pnl(1.0 / mark), rel=1e-9, abs=1e-12
    )
    if inverse.quantity:
        assert 1.0 / inverse.avg_entry_price == pytest.approx(linear.avg_entry_price, rel=1e-12)


@given(contracts, prices, prices, st.floats(0.0, 1e-3))
def test_a_round_trip_realizes_the_coin_difference_and_keeps_the_fees_apart(
    qty: float, entry: float, exit_: float, fee: float
) -> None:
    p = apply_inverse_fill(apply_inverse_fill(Position(), qty, entry, fee), -qty, exit_, fee)
    assert p.quantity == 0.0 and p.avg_entry_price == 0.0
    assert p.realized_pnl == pytest.approx(qty / entry - qty / exit_, rel=1e-9, abs=1e-12)
    assert p.fees == pytest.approx(2 * fee)


@given(contracts, prices, prices)
def test_unrealized_at_the_mark_is_what_closing_there_would_realize(
    qty: float, entry: float, mark: float
) -> None:
    held = apply_inverse_fill(Position(), qty, entry)
    closed = apply_inverse_fill(held, -qty, mark)
    assert inverse_unrealized_pnl(held, mark) == pytest.approx(closed.realized_pnl, rel=1e-12)


def test_the_rule_is_read_from_the_key() -> None:
    assert is_inverse(DERIBIT) and not is_inverse(BINANCE)
    assert (settlement_currency(DERIBIT), settlement_currency(BINANCE)) == ("BTC", "USDT")
    linear = apply_fill_for(BINANCE, Position(), 1.0, 50_000.0, 0.0)
    assert linear == apply_fill(Position(), 1.0, 50_000.0, 0.0)
    with pytest.raises(ValueError, match="invalid fill"):
        apply_inverse_fill(Position(), 10.0, 0.0)


def _fills(*rows: tuple[float, str, float, float, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (f"f{i}", f"o{i}", DERIBIT, "DERIBIT", side, qty, price, fee, "BTC", "TAKER",
             T0 + dt.timedelta(seconds=sec))
            for i, (sec, side, qty, price, fee) in enumerate(rows)
        ],
        schema=FILL_COLUMNS,
        orient="row",
    )  # fmt: skip


def test_the_ledger_values_btc_pnl_at_the_mark_in_the_reporting_currency() -> None:
    """Buy 1000 USD at 50,000, mark 52,000, sell at 55,000; the Deribit account's
    collateral (1,000,000) stays at its value, its BTC cash is the trade's."""
    buy_fee, sell_fee = FEE_RATE * 1000 / 50_000, FEE_RATE * 1000 / 55_000
    fills = _fills((0, "BUY", 1000.0, 50_000.0, buy_fee), (20, "SELL", 1000.0, 55_000.0, sell_fee))
    marks = pl.DataFrame(
        [(T0 + dt.timedelta(seconds=10), DERIBIT, 52_000.0)],
        schema=EMPTY_MARKS.schema,
        orient="row",
    )
    opening = Portfolio(accounts={"BINANCE-FUTURES": 1e6, "DERIBIT": 1e6})
    ledger = build_ledger(fills, marks, opening)
    realized_btc = 1000 * (1 / 50_000 - 1 / 55_000)
    curve = ledger.equity_curve.rows(named=True)
    assert curve[0]["equity"] == pytest.approx(2e6 - buy_fee * 50_000)
    assert curve[1]["unrealized_pnl"] == pytest.approx(1000 * (1 / 50_000 - 1 / 52_000) * 52_000)
    assert curve[1]["cash"] == pytest.approx(2e6 - buy_fee * 52_000)  # the BTC fee at the mark
    final = (realized_btc - buy_fee - sell_fee) * 55_000
    assert curve[-1]["equity"] == pytest.approx(2e6 + final)
    assert ledger.closing.equity == curve[-1]["equity"]
    assert rules.equity_adds_up(ledger.equity_curve) == []
    assert rules.fills_match_positions(fills, ledger.positions) == []
    row = ledger.positions.rows(named=True)[-1]
    assert (row["quantity"], row["realized_pnl"]) == (0.0, pytest.approx(realized_btc))
    account = ledger.closing.account_report()["DERIBIT"]
    assert account["equity"] == pytest.approx(1e6 + final)
    btc = account["coins"]["BTC"]
    assert btc["cash"] == pytest.approx(realized_btc - buy_fee - sell_fee)
    assert btc["prices"] == {DERIBIT: 55_000.0}
    assert "coins" not in ledger.closing.account_report()["BINANCE-FUTURES"]
    # carried through its file, the closing portfolio values the same
    again = Portfolio.from_json(ledger.closing.to_json())
    assert again.equity == ledger.closing.equity
