"""The backtest pipeline end to end on a demo day that includes Deribit's inverse
BTC-PERPETUAL (an explicit config: the default demo day has no Deribit): the strategy's
``ANY:PERPETUAL:BTC-USD@INV`` signals trade there, in USD contracts, and the day's
accounts, checks and equity add up in BTC and in the reporting currency."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from execution_core.demo.config import DemoConfig, DemoStrategy, default_instruments
from execution_core.demo.publish import publish_demo_day
from execution_core.instruments.reference import load_reference
from execution_core.stores import open_store
from pipelines.defs.committed import committed
from pipelines.runs import materialize_day
from tests.pipelines.conftest import stores_for

DAY = dt.date(2025, 1, 15)  # the test session's first backtest day (tests/conftest.py)
DERIBIT = "DERIBIT:PERPETUAL:BTC-USD@INV"


def test_a_demo_day_with_deribit_trades_it_and_accounts_in_btc(tmp_path: Path) -> None:
    ticks, signals = open_store(str(tmp_path / "ticks")), open_store(str(tmp_path / "signals"))
    config = DemoConfig(
        date=DAY,
        ticks_scale=0.01,
        instruments=default_instruments(deribit=True),
        strategies=[
            DemoStrategy(
                strategy_id="basis-btc",
                instrument_keys=("ANY:PERPETUAL:BTC-USD@INV",),
                changes_per_instrument_day=(4, 6),
            )
        ],
    )
    publish_demo_day(config, ticks, signals, load_reference())
    stores = stores_for(tmp_path / "stores", ticks=tmp_path / "ticks", signals=tmp_path / "signals")
    summary = materialize_day(DAY, stores, dg.DagsterInstance.ephemeral()).summary  # checks pass
    assert summary["instruments"] == [DERIBIT]
    assert summary["n_fills"] > 0
    run = committed(stores, "backtest_run", DAY.isoformat())
    fills = run.frame("fills.parquet")
    assert set(fills["fee_currency"]) == {"BTC"}
    assert ((fills["quantity"] % 10) == 0).all()  # whole 10 USD contracts
    account = summary["accounts"]["DERIBIT"]
    btc = account["coins"]["BTC"]
    price = btc["prices"][DERIBIT]
    assert account["cash"] == pytest.approx(account["starting_cash"] + btc["cash"] * price)
    assert account["unrealized_pnl"] == pytest.approx(btc["unrealized_pnl"] * price)
    assert summary["pnl"] == pytest.approx(account["equity"] - account["starting_cash"], abs=1e-6)
