"""Signals → execution events: only target changes, per (strategy, instrument), in time order."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from execution_core.signals.events import EVENT_COLUMNS, execution_events, last_targets
from execution_core.signals.schema import SIGNAL_COLUMNS

T0 = dt.datetime(2025, 1, 15, 10, tzinfo=dt.UTC)
BTC = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
ETH = "BINANCE-FUTURES:PERPETUAL:ETH-USDT@LIN"


def signals(
    rows: list[tuple[int, str, str, float]] | list[tuple[int, str, str, float, str | None]],
    params: list[str | None] | None = None,
) -> pl.DataFrame:
    """A validated-shape signal frame from (minute, strategy, instrument, target[, algo])."""
    return pl.DataFrame(
        {
            "ts_event": [T0 + dt.timedelta(minutes=r[0]) for r in rows],
            "strategy_id": [r[1] for r in rows],
            "instrument_key": [r[2] for r in rows],
            "target_quantity": [float(r[3]) for r in rows],
            "exec_algorithm": [r[4] if len(r) > 4 else None for r in rows],  # type: ignore[misc]
            "exec_algorithm_params": params or [None] * len(rows),
        },
        schema=SIGNAL_COLUMNS,
    )


def test_unchanged_targets_are_skipped_and_delta_is_target_minus_previous() -> None:
    """Repeated targets are not events; delta = target - previous target."""
    frame = signals(
        [
            (0, "s1", BTC, 1),
            (1, "s1", BTC, 1),
            (2, "s1", BTC, 2.5),
            (3, "s1", BTC, 2.5),
            (4, "s1", BTC, 2.5),
            (5, "s1", BTC, -1),
        ]
    )
    events = execution_events(frame)
    assert events["signal_row"].to_list() == [0, 2, 5]
    assert events["target_quantity"].to_list() == [1.0, 2.5, -1.0]
    assert events["previous_target"].to_list() == [0.0, 1.0, 2.5]
    assert events["delta_quantity"].to_list() == [1.0, 1.5, -3.5]


def test_target_changes_within_tolerance_are_not_events() -> None:
    """Float noise below TARGET_TOLERANCE does not make an event."""
    frame = signals([(0, "s1", BTC, 0.3), (1, "s1", BTC, 0.1 + 0.2)])  # 0.30000000000000004
    assert execution_events(frame)["signal_row"].to_list() == [0]


def test_first_row_compares_with_zero_when_there_is_no_prior() -> None:
    """Without a prior target a flat first row is no event; a non-zero one is."""
    assert execution_events(signals([(0, "s1", BTC, 0.0)])).is_empty()
    events = execution_events(signals([(0, "s1", BTC, -1.5)]))
    assert events["previous_target"].to_list() == [0.0]
    assert events["delta_quantity"].to_list() == [-1.5]


def test_first_row_compares_with_prior_target() -> None:
    """The first row of a pair compares with ``prior_targets``; other pairs are unaffected."""
    frame = signals([(0, "s1", BTC, 1.0), (1, "s1", BTC, 3.0), (2, "s1", ETH, 1.0)])
    events = execution_events(frame, {("s1", BTC): 1.0, ("s2", BTC): 7.0})
    assert events["signal_row"].to_list() == [1, 2]
    assert events["previous_target"].to_list() == [1.0, 0.0]
    assert events["delta_quantity"].to_list() == [2.0, 1.0]
    # a prior that differs makes the first row an event going back toward it
    flat = execution_events(signals([(0, "s1", BTC, 0.0)]), {("s1", BTC): 2.0})
    assert flat["previous_target"].to_list() == [2.0]
    assert flat["delta_quantity"].to_list() == [-2.0]


def test_each_strategy_instrument_pair_is_independent() -> None:
    """Interleaved pairs each compare only with their own previous target."""
    frame = signals(
        [
            (0, "s1", BTC, 1.0),
            (1, "s2", BTC, 1.0),
            (2, "s1", ETH, 1.0),
            (3, "s1", BTC, 1.0),  # same as s1/BTC's previous: skipped
            (4, "s2", BTC, 2.0),
            (5, "s1", ETH, 1.0),  # skipped
        ]
    )
    events = execution_events(frame)
    assert events["signal_row"].to_list() == [0, 1, 2, 4]
    assert events["previous_target"].to_list() == [0.0, 0.0, 0.0, 1.0]
    assert events.select("strategy_id", "instrument_key").rows() == [
        ("s1", BTC),
        ("s2", BTC),
        ("s1", ETH),
        ("s2", BTC),
    ]


def test_same_timestamp_rows_keep_input_order() -> None:
    """Rows sharing a timestamp are applied in input order, within and across pairs."""
    forward = execution_events(signals([(0, "s1", BTC, 1.0), (0, "s1", BTC, 2.0)]))
    assert forward["target_quantity"].to_list() == [1.0, 2.0]
    assert forward["previous_target"].to_list() == [0.0, 1.0]
    backward = execution_events(signals([(0, "s1", BTC, 2.0), (0, "s1", BTC, 1.0)]))
    assert backward["target_quantity"].to_list() == [2.0, 1.0]
    assert backward["previous_target"].to_list() == [0.0, 2.0]
    across = execution_events(
        signals([(0, "s2", ETH, 1.0), (0, "s1", BTC, 1.0), (0, "s1", ETH, 1.0)])
    )
    assert across["signal_row"].to_list() == [0, 1, 2]


def test_events_come_out_in_time_order_for_unsorted_input() -> None:
    """Input out of time order is applied (and returned) in time order."""
    frame = signals([(5, "s1", BTC, 2.0), (1, "s1", BTC, 1.0), (3, "s1", BTC, 1.0)])
    events = execution_events(frame)
    assert events["signal_row"].to_list() == [1, 0]
    assert events["previous_target"].to_list() == [0.0, 1.0]


def test_exec_algorithm_null_becomes_normal_and_params_are_carried() -> None:
    """A null exec_algorithm means NORMAL; explicit algorithms and params pass through."""
    frame = signals(
        [(0, "s1", BTC, 1.0, None), (1, "s1", BTC, 2.0, "TWAP"), (2, "s1", BTC, 3.0, "ICEBERG")],
        params=[None, '{"duration_s": 120}', '{"visible": 0.1}'],
    )
    events = execution_events(frame)
    assert events["exec_algorithm"].to_list() == ["NORMAL", "TWAP", "ICEBERG"]
    assert events["exec_algorithm_params"].to_list() == [
        None,
        '{"duration_s": 120}',
        '{"visible": 0.1}',
    ]


def test_signal_row_and_file_are_derived_when_absent() -> None:
    """Without provenance columns, signal_row is the input position and signal_file null."""
    frame = signals([(2, "s1", BTC, 1.0), (0, "s1", ETH, 1.0), (1, "s1", BTC, 1.0)])
    events = execution_events(frame)
    assert events["signal_row"].to_list() == [1, 2]
    assert events["signal_file"].to_list() == [None, None]


def test_signal_row_and_file_are_carried_through_when_present() -> None:
    """Provenance columns from the loader survive unchanged."""
    frame = signals([(0, "s1", BTC, 1.0), (1, "s2", BTC, 1.0), (2, "s1", BTC, 4.0)])
    frame = frame.with_columns(
        pl.Series("signal_file", ["s1/d.parquet", "s2/d.parquet", "s1/d.parquet"]),
        pl.Series("signal_row", [10, 20, 11], dtype=pl.Int64),
    )
    events = execution_events(frame)
    assert events.select("signal_file", "signal_row").rows() == [
        ("s1/d.parquet", 10),
        ("s2/d.parquet", 20),
        ("s1/d.parquet", 11),
    ]


def test_output_schema_is_event_columns() -> None:
    """Non-empty and empty results have exactly EVENT_COLUMNS."""
    assert execution_events(signals([(0, "s1", BTC, 1.0)])).schema == pl.Schema(EVENT_COLUMNS)
    empty = execution_events(pl.DataFrame(schema=SIGNAL_COLUMNS), {("s1", BTC): 1.0})
    assert empty.is_empty()
    assert empty.schema == pl.Schema(EVENT_COLUMNS)


def test_random_signals_chain_targets_per_pair_in_time_order() -> None:
    """On random input: output is time-sorted, each event's previous target is the pair's
    previous event target (or its prior), and delta = target - previous."""
    rng = np.random.default_rng(7)
    n = 5_000
    frame = pl.DataFrame(
        {
            "ts_event": (
                pl.Series(np.sort(rng.integers(0, 86_400_000_000_000, n)))
                + int(T0.replace(hour=0).timestamp()) * 1_000_000_000
            ).cast(pl.Datetime("ns", "UTC")),
            "strategy_id": rng.choice(["a", "b", "c"], n),
            "instrument_key": rng.choice([BTC, ETH], n),
            "target_quantity": rng.integers(-2, 3, n).astype(float),
            "exec_algorithm": pl.Series([None] * n, dtype=pl.String),
            "exec_algorithm_params": pl.Series([None] * n, dtype=pl.String),
        }
    )
    prior = {("a", BTC): 1.0, ("c", ETH): -2.0}
    events = execution_events(frame, prior)
    assert events["ts_event"].is_sorted()
    assert (events["delta_quantity"] == events["target_quantity"] - events["previous_target"]).all()
    assert (events["delta_quantity"] != 0).all()
    held: dict[tuple[str, str], float] = dict(prior)
    for row in events.iter_rows(named=True):
        pair = (row["strategy_id"], row["instrument_key"])
        assert row["previous_target"] == held.get(pair, 0.0)
        held[pair] = row["target_quantity"]
    # replaying the events from the priors ends at last_targets for every pair
    expected = {**prior, **last_targets(frame)}
    for pair in held.keys() | expected.keys():
        assert held.get(pair, 0.0) == expected.get(pair, 0.0), pair


def test_last_targets_takes_latest_row_with_input_order_on_ties() -> None:
    """The last target per pair by time; equal timestamps resolve by input order."""
    frame = signals(
        [
            (5, "s1", BTC, 3.0),
            (1, "s1", BTC, 9.0),
            (2, "s2", BTC, 1.0),
            (2, "s2", BTC, 4.0),
            (0, "s1", ETH, -1.0),
        ]
    )
    assert last_targets(frame) == {("s1", BTC): 3.0, ("s2", BTC): 4.0, ("s1", ETH): -1.0}
    assert last_targets(pl.DataFrame(schema=SIGNAL_COLUMNS)) == {}
