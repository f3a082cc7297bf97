"""A backtest day on Deribit's inverse BTC-PERPETUAL (USD contracts, PnL and fees in BTC),
every number by hand.

Signals are in BTC (base units); the strategy converts them to USD at the touch:

- 10:00, ask 50,000: buy 0.02 BTC = 1,000 USD (fee 0.0005 × 1,000 / 50,000 = 0.00001 BTC);
- 10:10, bid 62,500: sell 0.016 BTC = 1,000 USD (fee 0.000008 BTC): flat, realized
  1,000 × (1/50,000 − 1/62,500) = 0.004 BTC.

The Deribit account (1,000,000, kept at its value) closes with 0.004 − 0.000018 BTC of
trading cash, worth that × the last mid 62,500.25 in the reporting currency.
"""

from __future__ import annotations

import datetime as dt

import pytest

from execution_core.instruments.reference import InstrumentReference
from execution_core.results import rules
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.runner import run_backtest
from tests.pipelines.backtest.conftest import T0, Signal, events_frame, quote_frame, quotes

DERIBIT = "DERIBIT:PERPETUAL:BTC-USD@INV"
LATER = T0 + dt.timedelta(minutes=10)
REALIZED_BTC = 1000 * (1 / 50_000 - 1 / 62_500)
FEES_BTC = 0.0005 * 1000 / 50_000 + 0.0005 * 1000 / 62_500
LAST_MID = 62_500.25


def test_a_deribit_round_trip_is_accounted_in_btc(reference: InstrumentReference) -> None:
    usd = 100_000.0  # sizes at the touch, in USD
    result = run_backtest(
        "inverse",
        events_frame(
            [
                Signal(T0, 0.02, key=DERIBIT),
                Signal(LATER, 0.004, previous=0.02, key=DERIBIT, row=1),
            ]
        ),
        [
            quotes(
                DERIBIT,
                quote_frame(T0, bid=49_999.5, ask=50_000.0, bid_size=usd, ask_size=usd),
                quote_frame(LATER, bid=62_500.0, ask=62_500.5, bid_size=usd, ask_size=usd),
            )
        ],
        reference,
        BacktestConfig(),
    )
    fills = result.fills.rows(named=True)
    assert [(f["side"], f["quantity"], f["price"]) for f in fills] == [
        ("BUY", 1000.0, 50_000.0),
        ("SELL", 1000.0, 62_500.0),
    ]
    assert {f["fee_currency"] for f in fills} == {"BTC"}
    assert sum(f["fee"] for f in fills) == pytest.approx(FEES_BTC, rel=1e-9)
    assert result.summary["closing_positions"] == {}
    last = result.positions.rows(named=True)[-1]
    assert last["quantity"] == 0.0
    assert last["realized_pnl"] == pytest.approx(REALIZED_BTC, rel=1e-12)  # BTC
    account = result.summary["accounts"]["DERIBIT"]
    assert account["coins"]["BTC"]["cash"] == pytest.approx(REALIZED_BTC - FEES_BTC, rel=1e-9)
    pnl = (REALIZED_BTC - FEES_BTC) * LAST_MID
    assert account["equity"] == pytest.approx(1_000_000 + pnl, abs=1e-6)
    assert result.summary["pnl"] == pytest.approx(pnl, abs=1e-6)
    assert result.summary["realized_pnl"] == pytest.approx(REALIZED_BTC * LAST_MID, abs=1e-6)
    fees_usd = 0.0005 * 1000 * 2  # each BTC fee at its fill's price: 0.5 USD
    assert result.summary["total_fees"] == pytest.approx(fees_usd, abs=1e-8)
    assert rules.equity_adds_up(result.equity_curve) == []
    assert rules.fills_match_positions(result.fills, result.positions) == []
    assert result.equity_curve["equity"][-1] == pytest.approx(
        result.summary["starting_cash"] + pnl, abs=1e-6
    )
