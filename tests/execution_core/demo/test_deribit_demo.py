"""Deribit's inverse BTC-PERPETUAL in the demo day: Deribit's units (USD sizes in 10 USD
contracts, 0.5 USD ticks), BTC's fair path, determinism, and signals in base units."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest

from execution_core.demo import DemoConfig, DemoStrategy, generate_demo_day, iter_demo_instruments
from execution_core.demo.config import DERIBIT_BTC, default_instruments
from execution_core.demo.signals import INVERSE_SIGNAL_LOT
from execution_core.instruments.reference import load_reference
from execution_core.signals.schema import SIGNALS_SCHEMA

DATE = dt.date(2024, 1, 15)
DERIBIT = "DERIBIT:PERPETUAL:BTC-USD@INV"
BINANCE = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
ANY_INVERSE = "ANY:PERPETUAL:BTC-USD@INV"


def _config() -> DemoConfig:
    return DemoConfig(
        date=DATE,
        ticks_scale=0.02,
        instruments=default_instruments(deribit=True),
        strategies=[DemoStrategy(strategy_id="basis-btc", instrument_keys=(ANY_INVERSE,))],
    )


@pytest.fixture(scope="module")
def deribit_day() -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    return {
        d.key: (d.trades, d.quotes) for d in iter_demo_instruments(_config(), [DERIBIT, BINANCE])
    }


def test_the_demo_instrument_matches_the_reference() -> None:
    spec = load_reference().get(DERIBIT)
    assert spec.is_inverse and DERIBIT_BTC.is_inverse
    assert Decimal(repr(DERIBIT_BTC.price_increment)) == spec.price_increment
    assert Decimal(repr(DERIBIT_BTC.size_increment)) == spec.size_increment
    assert DERIBIT in {i.key for i in DemoConfig(date=DATE).instruments}  # in the default day


def test_sizes_are_usd_in_whole_contracts_and_prices_on_the_tick(
    deribit_day: dict[str, tuple[pl.DataFrame, pl.DataFrame]],
) -> None:
    trades, quotes = deribit_day[DERIBIT]
    assert trades.height > 1000 and quotes.height > 1000
    for sizes in (trades["size"], quotes["bid_size"], quotes["ask_size"]):
        assert (sizes >= 10).all() and ((sizes % 10) == 0).all()
    for prices in (trades["price"], quotes["bid_price"], quotes["ask_price"]):
        assert ((prices * 2) == (prices * 2).round(0)).all()  # multiples of 0.5 USD
    assert sorted(trades["size"].to_list())[trades.height // 2] == pytest.approx(
        400, rel=0.5
    )  # USD, not BTC


def test_deribit_follows_btc_fair_path(
    deribit_day: dict[str, tuple[pl.DataFrame, pl.DataFrame]],
) -> None:
    def minute_mids(quotes: pl.DataFrame) -> pl.DataFrame:
        return quotes.group_by_dynamic("ts_event", every="1m").agg(
            ((pl.col("bid_price") + pl.col("ask_price")) / 2).last().alias("mid")
        )

    joined = minute_mids(deribit_day[DERIBIT][1]).join(
        minute_mids(deribit_day[BINANCE][1]), on="ts_event", suffix="_binance"
    )
    ratio = (joined["mid"] / joined["mid_binance"] - 1).abs() * 1e4
    gap_bps = max(ratio.to_list())
    assert joined.height > 1000 and gap_bps < 25  # venue premia of a few bps, not a path


def test_the_day_with_deribit_is_deterministic_and_leaves_the_other_venues_unchanged() -> None:
    one, two = generate_demo_day(_config()), generate_demo_day(_config())
    for key in one.trades:
        assert one.trades[key].equals(two.trades[key]) and one.quotes[key].equals(two.quotes[key])
    assert one.signals["basis-btc"].equals(two.signals["basis-btc"])
    plain = next(iter_demo_instruments(DemoConfig(date=DATE, ticks_scale=0.02), [BINANCE]))
    assert plain.trades.equals(one.trades[BINANCE]) and plain.quotes.equals(one.quotes[BINANCE])


def test_signals_on_the_inverse_listing_are_base_units_on_their_lot() -> None:
    signals = generate_demo_day(_config()).signals["basis-btc"]
    SIGNALS_SCHEMA.validate(signals)
    assert set(signals["instrument_key"]) == {ANY_INVERSE}
    lots = signals["target_quantity"] / INVERSE_SIGNAL_LOT
    assert max((lots - lots.round(0)).abs().to_list()) < 1e-6
    assert max(signals["target_quantity"].abs().to_list()) <= 2.0  # BTC, as max_abs_target says
