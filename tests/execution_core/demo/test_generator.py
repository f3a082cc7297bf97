"""The demo data generator: determinism, contracts and microstructure realism."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from execution_core.demo import (
    DemoConfig,
    DemoDay,
    generate_demo_day,
    iter_demo_instruments,
    simulate_asset_day,
    simulate_instrument_day,
)
from execution_core.demo.market import derive_seed
from execution_core.signals.schema import SIGNAL_COLUMNS, SIGNALS_SCHEMA, ExecAlgorithm
from execution_core.ticks.schema import QUOTE_COLUMNS, QUOTES_SCHEMA, TRADE_COLUMNS, TRADES_SCHEMA

DATE = dt.date(2024, 1, 15)
SCALE = 0.02
BTC_KEYS = [
    "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
    "BYBIT:PERPETUAL:BTC-USDT@LIN",
    "OKX:PERPETUAL:BTC-USDT@LIN",
]


@pytest.fixture(scope="module")
def config() -> DemoConfig:
    return DemoConfig(date=DATE, ticks_scale=SCALE)


@pytest.fixture(scope="module")
def day(config: DemoConfig) -> DemoDay:
    return generate_demo_day(config)


def _all_frames(day: DemoDay) -> dict[str, pl.DataFrame]:
    frames = {f"trades/{k}": f for k, f in day.trades.items()}
    frames |= {f"quotes/{k}": f for k, f in day.quotes.items()}
    frames |= {f"signals/{k}": f for k, f in day.signals.items()}
    return frames


def _changes(signals: pl.DataFrame) -> pl.DataFrame:
    """Rows that change the target of their (strategy, instrument key)."""
    previous = pl.col("target_quantity").shift(1).over("strategy_id", "instrument_key")
    return signals.filter(previous.is_null() | (pl.col("target_quantity") != previous))


# --- defaults and determinism ---------------------------------------------------------------


def test_default_config_describes_seven_instruments_and_4_to_5_million_ticks() -> None:
    config = DemoConfig(date=DATE)
    keys = [inst.key for inst in config.instruments]
    assert len(keys) == 7
    for venue in ("BINANCE-FUTURES", "BYBIT", "OKX"):
        for asset in ("BTC", "ETH"):
            assert f"{venue}:PERPETUAL:{asset}-USDT@LIN" in keys
    assert "DERIBIT:PERPETUAL:BTC-USD@INV" in keys
    total = sum(sum(config.scaled_counts(inst)) for inst in config.instruments)
    assert 4_000_000 <= total <= 5_000_000
    busiest = max(config.instruments, key=lambda inst: inst.trades_per_day)
    assert busiest.key == "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
    assert {s.strategy_id for s in config.strategies} == {"momentum-btc-v1", "meanrev-eth-v2"}


def test_scaled_day_has_the_configured_counts(config: DemoConfig, day: DemoDay) -> None:
    expected = 0
    for inst in config.instruments:
        n_trades, n_quotes = config.scaled_counts(inst)
        assert day.trades[inst.key].height == n_trades
        assert day.quotes[inst.key].height == n_quotes
        expected += n_trades + n_quotes
    assert day.total_ticks == expected


def test_seed_derivation_is_stable_across_processes() -> None:
    # blake2b, not hash(): the value must never change between runs or Python versions.
    assert derive_seed(7, "2024-01-15", "asset", "BTC") == 8112906734516419022


def test_same_config_gives_identical_frames(config: DemoConfig, day: DemoDay) -> None:
    again = generate_demo_day(config)
    first, second = _all_frames(day), _all_frames(again)
    assert first.keys() == second.keys()
    for name, frame in first.items():
        assert frame.equals(second[name]), name


def test_different_seed_gives_different_frames(config: DemoConfig, day: DemoDay) -> None:
    other = generate_demo_day(config.model_copy(update={"seed": config.seed + 1}))
    for key, frame in day.trades.items():
        assert not frame.equals(other.trades[key]), key
    for key, frame in day.quotes.items():
        assert not frame.equals(other.quotes[key]), key
    for strategy_id, frame in day.signals.items():
        assert not frame.equals(other.signals[strategy_id]), strategy_id


def test_iterating_one_instrument_at_a_time_matches_the_whole_day(
    config: DemoConfig, day: DemoDay
) -> None:
    # Any subset, in any order, gives the same frames: seeds derive from the key.
    key = "OKX:PERPETUAL:ETH-USDT@LIN"
    (only,) = list(iter_demo_instruments(config, keys=[key]))
    assert only.trades.equals(day.trades[key])
    assert only.quotes.equals(day.quotes[key])
    assert [item.key for item in iter_demo_instruments(config)] == list(day.trades)
    with pytest.raises(KeyError):
        list(iter_demo_instruments(config, keys=["DERIBIT:PERPETUAL:ETH-USD@INV"]))


# --- contracts ------------------------------------------------------------------------------


def test_frames_satisfy_the_tick_and_signal_contracts(day: DemoDay) -> None:
    for frame in day.trades.values():
        assert frame.schema == pl.Schema(TRADE_COLUMNS)
        TRADES_SCHEMA.validate(frame)
    for frame in day.quotes.values():
        assert frame.schema == pl.Schema(QUOTE_COLUMNS)
        QUOTES_SCHEMA.validate(frame)
    for frame in day.signals.values():
        assert frame.schema == pl.Schema(SIGNAL_COLUMNS)
        SIGNALS_SCHEMA.validate(frame)


def test_timestamps_are_sorted_and_within_the_day(day: DemoDay) -> None:
    start = dt.datetime(2024, 1, 15, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=1)
    for name, frame in _all_frames(day).items():
        ts = frame["ts_event"]
        assert ts.is_sorted(), name
        assert ts.min() >= start and ts.max() < end, name  # type: ignore[operator]
    for frame in day.quotes.values():
        assert frame["ts_event"].min() == start  # the book is known from midnight


def test_books_are_not_crossed_and_values_positive(day: DemoDay) -> None:
    for key, quotes in day.quotes.items():
        assert (quotes["bid_price"] < quotes["ask_price"]).all(), key
        assert (quotes["bid_price"] > 0).all() and (quotes["bid_size"] > 0).all(), key
        assert (quotes["ask_size"] > 0).all(), key
        trades = day.trades[key]
        assert (trades["price"] > 0).all() and (trades["size"] > 0).all(), key


def _on_grid(values: pl.Series, increment: float) -> bool:
    units = values.to_numpy() / increment
    return bool(np.all(np.abs(units - np.rint(units)) < 1e-6))


def test_prices_on_the_tick_grid_and_sizes_on_the_lot_grid(
    config: DemoConfig, day: DemoDay
) -> None:
    for inst in config.instruments:
        trades, quotes = day.trades[inst.key], day.quotes[inst.key]
        for column in ("bid_price", "ask_price"):
            assert _on_grid(quotes[column], inst.price_increment), (inst.key, column)
        assert _on_grid(trades["price"], inst.price_increment), inst.key
        for column in ("bid_size", "ask_size"):
            assert _on_grid(quotes[column], inst.size_increment), (inst.key, column)
        assert _on_grid(trades["size"], inst.size_increment), inst.key
        # Rounded to the increment's decimals: no 0.30000000000000004 in the files.
        assert (trades["price"].round(inst.price_decimals) == trades["price"]).all()
        assert (trades["size"].round(inst.size_decimals) == trades["size"]).all()


def test_trade_ids_are_increasing_integers_per_venue(day: DemoDay) -> None:
    for key, trades in day.trades.items():
        ids = trades["trade_id"].cast(pl.Int64)
        assert (ids.diff().drop_nulls() == 1).all(), key


def test_asset_prices_sit_at_the_demo_levels() -> None:
    for asset, low, high in (("BTC", 35_000, 52_000), ("ETH", 1_850, 2_800)):
        config = DemoConfig(date=DATE)
        fair = simulate_asset_day(config.assets[asset], DATE, config.seed).fair_price_per_second
        assert low < fair.min() and fair.max() < high, asset


# --- microstructure -------------------------------------------------------------------------


def test_trades_print_at_the_prevailing_bid_or_ask(day: DemoDay) -> None:
    for key, trades in day.trades.items():
        joined = trades.join_asof(day.quotes[key], on="ts_event", strategy="backward")
        at_touch = (
            (pl.col("aggressor_side") == "BUY") & (pl.col("price") == pl.col("ask_price"))
        ) | ((pl.col("aggressor_side") == "SELL") & (pl.col("price") == pl.col("bid_price")))
        share = joined.select(at_touch.mean()).item()
        assert share >= 0.95, (key, share)
        buys = (trades["aggressor_side"] == "BUY").mean()
        assert 0.4 < buys < 0.6, key  # type: ignore[operator]


def test_trade_sizes_are_heavy_tailed(day: DemoDay) -> None:
    sizes = day.trades["BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"]["size"]
    assert sizes.mean() > 1.5 * sizes.median()  # type: ignore[operator]
    assert sizes.max() > 50 * sizes.median()  # type: ignore[operator]


def test_spreads_are_one_tick_mostly_and_wider_sometimes(config: DemoConfig, day: DemoDay) -> None:
    for inst in config.instruments:
        quotes = day.quotes[inst.key]
        spread = (quotes["ask_price"] - quotes["bid_price"]).to_numpy() / inst.price_increment
        ticks = np.rint(spread)
        assert ticks.min() == 1, inst.key
        assert ticks.max() <= inst.max_spread_ticks, inst.key
        assert 0.4 < (ticks == 1).mean() < 0.98, inst.key


def test_activity_is_bursty(day: DemoDay) -> None:
    for key in ("BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN", "BINANCE-FUTURES:PERPETUAL:ETH-USDT@LIN"):
        for frame in (day.trades[key], day.quotes[key]):
            per_minute = (
                frame.group_by_dynamic("ts_event", every="1m").agg(pl.len())["len"].to_numpy()
            )
            assert per_minute.max() >= 5 * np.median(per_minute), key


@pytest.fixture(scope="module")
def btc_minute_mids(config: DemoConfig) -> pl.DataFrame:
    """Last mid of each minute on the three BTC venues (enough quotes for minute bars)."""
    asset_day = simulate_asset_day(config.assets["BTC"], DATE, config.seed)
    by_key = {inst.key: inst for inst in config.instruments}
    mids: pl.DataFrame | None = None
    for key in BTC_KEYS:
        _, quotes = simulate_instrument_day(
            by_key[key], DATE, config.seed, n_trades=0, n_quotes=150_000, asset_day=asset_day
        )
        minute = quotes.group_by_dynamic("ts_event", every="1m").agg(
            ((pl.col("bid_price") + pl.col("ask_price")) / 2).last().alias(key)
        )
        mids = (
            minute if mids is None else mids.join(minute, on="ts_event", how="full", coalesce=True)
        )
    assert mids is not None
    return mids.sort("ts_event").fill_null(strategy="forward").drop_nulls()


def test_venue_mids_differ_by_a_few_bps(btc_minute_mids: pl.DataFrame) -> None:
    for i, a in enumerate(BTC_KEYS):
        for b in BTC_KEYS[i + 1 :]:
            diff_bps = (btc_minute_mids[b] / btc_minute_mids[a] - 1.0) * 1e4
            median = abs(float(diff_bps.median()))  # type: ignore[arg-type]
            assert 0.1 <= median <= 20, (a, b, median)
            assert diff_bps.std() > 0.3, (a, b)  # type: ignore[operator]  # offsets wander


def test_venue_mids_track_each_other(btc_minute_mids: pl.DataFrame) -> None:
    returns = btc_minute_mids.select(pl.col(BTC_KEYS).log().diff()).drop_nulls().to_numpy()
    correlation = np.corrcoef(returns, rowvar=False)
    assert correlation.min() > 0.9, correlation


def test_simulate_instrument_day_gives_the_exact_trade_count(config: DemoConfig) -> None:
    inst = config.instruments[0]
    trades, quotes = simulate_instrument_day(inst, DATE, 11, n_trades=200_000, n_quotes=0)
    assert trades.height == 200_000
    assert quotes.height == 0 and quotes.schema == pl.Schema(QUOTE_COLUMNS)
    TRADES_SCHEMA.validate(trades)
    assert trades["ts_event"].is_sorted()
    assert trades["trade_id"].n_unique() == 200_000
    assert _on_grid(trades["price"], inst.price_increment)
    # Ties (several makers filled by one taker at the same millisecond) occur.
    assert trades["ts_event"].n_unique() < trades.height
    with_quotes, quotes = simulate_instrument_day(inst, DATE, 11, n_trades=1_000, n_quotes=500)
    assert with_quotes.height == 1_000 and quotes.height == 500


# --- signals --------------------------------------------------------------------------------


def test_signals_change_10_to_30_times_per_strategy_and_instrument(day: DemoDay) -> None:
    assert set(day.signals) == {"momentum-btc-v1", "meanrev-eth-v2"}
    for strategy_id, signals in day.signals.items():
        assert (signals["strategy_id"] == strategy_id).all()
        assert signals["ts_event"].is_sorted()
        changes = _changes(signals).group_by("instrument_key").len()
        assert changes.height >= 1
        for key, count in changes.iter_rows():
            assert 10 <= count <= 30, (strategy_id, key, count)
        # Some rows repeat the previous target: not execution events.
        assert signals.height > _changes(signals).height, strategy_id


def test_signals_mix_venue_open_and_concrete_keys(day: DemoDay) -> None:
    keys = pl.concat(day.signals.values())["instrument_key"].unique().to_list()
    assert any(key.startswith("ANY:") for key in keys)
    assert any(not key.startswith("ANY:") for key in keys)


def test_signal_targets_on_the_lot_grid_and_bounded(config: DemoConfig, day: DemoDay) -> None:
    for strategy in config.strategies:
        signals = day.signals[strategy.strategy_id]
        for key in strategy.instrument_keys:
            inst = config.listing(key)[0]
            targets = signals.filter(pl.col("instrument_key") == key)["target_quantity"]
            assert _on_grid(targets, inst.size_increment)
            assert targets.abs().max() <= strategy.max_abs_target[inst.asset]  # type: ignore[operator]
            assert (targets > 0).any() and (targets < 0).any()


def test_signal_algorithms_and_params_are_valid(day: DemoDay) -> None:
    every = pl.concat(day.signals.values())
    algorithms = set(every["exec_algorithm"].drop_nulls().to_list())
    assert algorithms == {a.value for a in ExecAlgorithm}
    assert every["exec_algorithm"].null_count() > 0  # null = the default NORMAL
    for signals in day.signals.values():
        changes = _changes(signals).with_columns(
            (
                pl.col("target_quantity")
                - pl.col("target_quantity").shift(1).over("instrument_key").fill_null(0.0)
            )
            .abs()
            .alias("order_size")
        )
        for algorithm, raw, order_size in changes.select(
            "exec_algorithm", "exec_algorithm_params", "order_size"
        ).iter_rows():
            if raw is None:
                assert algorithm in (None, "NORMAL")
                continue
            params = json.loads(raw)
            assert isinstance(params, dict)
            if algorithm in ("TWAP", "VWAP"):
                assert 0 < params["duration_sec"] <= 300
                assert params["max_slices"] >= 1
            elif algorithm == "ICEBERG":
                assert 0 < params["display_quantity"] < order_size
            else:
                pytest.fail(f"params {raw} for {algorithm}")
