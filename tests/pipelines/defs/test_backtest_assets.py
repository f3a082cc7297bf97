"""Every asset of ``pipelines.definitions.defs``, materialized for real on the demo day.

The backtest runs on the windowed ticks of the demo day (1 % of the ticks) and uploads its
result set to ``backtest_results/{run_id}/``; the files are checked against the minimum
columns and summary fields that ARCHITECTURE.md ("Backtest results") fixes, written out
again here rather than imported, so a renamed column fails the test.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from execution_core.errors import DataError
from execution_core.instruments.reference import packaged_reference_text
from execution_core.stores import artifacts
from pipelines.definitions import defs
from pipelines.defs.backtest.assets import BACKTEST_ASSETS
from pipelines.defs.market_data.assets import MARKET_DATA_ASSETS
from pipelines.defs.metadata import artifact_prefix
from pipelines.defs.resources import REFERENCE_KEY, StoresResource
from tests.pipelines.conftest import PARTITION, DemoDay, file_url

ALL_ASSETS = [*MARKET_DATA_ASSETS, *BACKTEST_ASSETS]
ASSET_KEYS = {
    "instruments",
    "signals",
    "execution_windows",
    "tick_windows",
    "backtest_portfolio",
    "backtest_orders",
    "backtest_fills",
    "backtest_positions",
    "backtest_equity_curve",
    "backtest_results",
}
MARKET_DATA_KEYS = ["instruments", "signals", "execution_windows", "tick_windows"]
EXPECTED_CHECKS = {
    "instruments_valid",
    "signals_schema",
    "windows_inside_day",
    "windows_have_signal_change",
    "ticks_schema",
    "ticks_sorted_inside_windows",
    "results_schemas",
    "fills_sum_to_positions",
    "children_within_primaries",
    "fills_inside_windows",
    "fees_non_negative",
    "equity_is_cash_plus_unrealized",
}
# ARCHITECTURE.md, "Backtest results": minimum columns and summary fields
MIN_COLUMNS = {
    "orders.parquet": [
        "order_id",
        "parent_order_id",
        "operation_id",
        "strategy_id",
        "instrument_key",
        "venue",
        "side",
        "order_type",
        "quantity",
        "price",
        "exec_algorithm",
        "status",
        "filled_quantity",
        "avg_fill_price",
        "ts_submitted",
        "ts_last",
    ],
    "fills.parquet": [
        "fill_id",
        "order_id",
        "instrument_key",
        "venue",
        "side",
        "quantity",
        "price",
        "fee",
        "fee_currency",
        "liquidity_side",
        "ts_event",
    ],
    "positions.parquet": [
        "ts_event",
        "instrument_key",
        "venue",
        "quantity",
        "avg_entry_price",
        "realized_pnl",
        "unrealized_pnl",
    ],
    "equity_curve.parquet": [
        "ts_event",
        "equity",
        "cash",
        "realized_pnl",
        "unrealized_pnl",
        "drawdown",
    ],
}
SUMMARY_FIELDS = [
    "run_id",
    "strategy_ids",
    "start",
    "end",
    "instruments",
    "venues",
    "n_orders",
    "n_fills",
    "total_fees",
    "realized_pnl",
    "final_equity",
    "max_drawdown",
    "slippage_bps",
    "io",
]
IO_FIELDS = ["bytes_read", "bytes_full_days", "reduction"]
RESULT_FILES = {"summary.json", *MIN_COLUMNS}
SIGNAL_FILE = f"momentum-btc-v1/{PARTITION}.parquet"
EVENT_ROW = 3  # a target change (-1.413 -> -0.594) of the demo's momentum strategy

CopyDemoDay = Callable[..., tuple[StoresResource, Path, Path]]


def materialize(
    stores: StoresResource, *, raise_on_error: bool = True
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ALL_ASSETS,
        partition_key=PARTITION,
        instance=dg.DagsterInstance.ephemeral(),
        resources={"stores": stores},
        raise_on_error=raise_on_error,
    )


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {
        e.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(asset)
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    lines = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            lines.append(error.message.strip())
            error = error.cause
    return "\n".join(lines)


def run_ids_uploaded(stores: StoresResource) -> set[str]:
    return {key.split("/")[1] for key in stores.results.list("backtest_results/")}


def uploaded(stores: StoresResource, run_id: str) -> tuple[dict[str, pl.DataFrame], dict]:
    """The committed result set of ``run_id``: its frames and its summary."""
    committed = artifacts.open_set(stores.results, f"backtest_results/{run_id}")
    assert set(committed.files) == RESULT_FILES
    frames = {name: artifacts.read_parquet(stores.results, committed, name) for name in MIN_COLUMNS}
    summary = json.loads(artifacts.read_file(stores.results, committed, "summary.json"))
    return frames, summary


def assert_all_green(result: dg.ExecuteInProcessResult) -> str:
    """Success, every asset materialized, all 12 checks passed; returns the run_id."""
    assert result.success
    assert materialized(result) == ASSET_KEYS
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == EXPECTED_CHECKS
    assert len(evaluations) == 12
    failed = [(e.check_name, e.metadata.get("problems")) for e in evaluations if not e.passed]
    assert failed == []
    run_id = metadata(result, "backtest_results")["run_id"]
    for asset in ("backtest_orders", "backtest_fills", "backtest_positions"):
        assert metadata(result, asset)["run_id"] == run_id
    return run_id


def assert_markdown_png(markdown: str) -> None:
    assert markdown.startswith("![")
    assert "data:image/png;base64," in markdown
    payload = markdown.split("data:image/png;base64,", 1)[1].rstrip(")")
    assert base64.b64decode(payload).startswith(b"\x89PNG\r\n\x1a\n")


def assert_result_set(
    stores: StoresResource, run_id: str, result: dg.ExecuteInProcessResult
) -> tuple[dict[str, pl.DataFrame], dict]:
    frames, summary = uploaded(stores, run_id)
    for name, columns in MIN_COLUMNS.items():
        missing = [c for c in columns if c not in frames[name].columns]
        assert missing == [], name
        assert len(frames[name]) > 0, name
    orders, fills = frames["orders.parquet"], frames["fills.parquet"]
    equity = frames["equity_curve.parquet"]

    assert [f for f in SUMMARY_FIELDS if f not in summary] == []
    assert summary["run_id"] == run_id
    assert summary["strategy_ids"] == ["meanrev-eth-v2", "momentum-btc-v1"]
    assert summary["n_orders"] == len(orders)
    assert summary["n_fills"] == len(fills)
    assert summary["total_fees"] == pytest.approx(fills["fee"].sum(), abs=1e-6)
    assert summary["final_equity"] == pytest.approx(equity["equity"][-1], abs=1e-6)
    assert summary["realized_pnl"] == pytest.approx(equity["realized_pnl"][-1], abs=1e-6)
    assert summary["max_drawdown"] == pytest.approx(equity["drawdown"].min(), abs=1e-6)
    assert summary["max_drawdown"] <= 0
    assert set(fills["instrument_key"]) <= set(summary["instruments"])
    assert summary["venues"] == sorted({k.split(":", 1)[0] for k in summary["instruments"]})
    start, end = (dt.datetime.fromisoformat(summary[k]) for k in ("start", "end"))
    assert start.date().isoformat() == PARTITION
    assert start <= end
    # the demo day uses every algorithm; slippage per algorithm in bps
    assert set(summary["slippage_bps"]) == {"NORMAL", "TWAP", "VWAP", "ICEBERG"}
    for algorithm, entry in summary["slippage_bps"].items():
        assert isinstance(entry["slippage_bps"], float), algorithm
    assert set(orders["exec_algorithm"]) == {"NORMAL", "TWAP", "VWAP", "ICEBERG"}
    # I/O of the windowed tick load, the same numbers the tick_windows asset reported
    assert [f for f in IO_FIELDS if f not in summary["io"]] == []
    ticks_meta = metadata(result, "tick_windows")
    assert summary["io"]["bytes_read"] == ticks_meta["bytes_read"]
    assert summary["io"]["bytes_full_days"] == ticks_meta["bytes_full_days"]
    assert 0 < summary["io"]["reduction"] < 1
    return frames, summary


# --- the happy path -----------------------------------------------------------------------------


def test_defs_hold_exactly_these_assets() -> None:
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    live = {
        "live_daemon",
        "reconciliation_orders",
        "reconciliation_fills",
        "reconciliation_positions",
    }
    assert keys == ASSET_KEYS | live  # the live group is tested in tests/pipelines/live
    assert {k.to_user_string() for a in ALL_ASSETS for k in a.keys} == ASSET_KEYS


def test_materialize_every_asset_and_rerun_replaces(stores: StoresResource) -> None:
    first = materialize(stores)
    run_id = assert_all_green(first)
    assert run_id.startswith(f"bt-{PARTITION}-")
    meta = metadata(first, "backtest_results")
    assert meta["location"] == stores.results.describe(f"backtest_results/{run_id}")
    assert_markdown_png(meta["equity_curve"])
    assert_markdown_png(meta["slippage_by_algorithm"])
    frames, summary = assert_result_set(stores, run_id, first)
    assert meta["n_orders"] == summary["n_orders"]
    assert meta["n_fills"] == summary["n_fills"]
    assert run_ids_uploaded(stores) == {run_id}

    second = materialize(stores)
    assert assert_all_green(second) == run_id
    assert run_ids_uploaded(stores) == {run_id}  # replaced, not a second folder
    again, summary_again = uploaded(stores, run_id)
    assert summary_again == summary
    for name, frame in frames.items():
        assert again[name].equals(frame), f"{name} changed on re-run"


@pytest.mark.gcs
def test_results_uploaded_to_gcs(demo_day: DemoDay, gcs_bucket_url: str, tmp_path: Path) -> None:
    (tmp_path / "instruments").mkdir()
    stores = StoresResource(
        instruments_url=file_url(tmp_path / "instruments"),
        ticks_url=file_url(demo_day.ticks_dir),
        signals_url=file_url(demo_day.signals_dir),
        results_url=f"{gcs_bucket_url}/results",
    )
    result = materialize(stores)
    run_id = assert_all_green(result)
    location = metadata(result, "backtest_results")["location"]
    assert location == f"{gcs_bucket_url}/results/backtest_results/{run_id}"
    assert run_ids_uploaded(stores) == {run_id}  # listed from the bucket itself
    keys = {k.rsplit("/", 1)[1] for k in stores.results.list(f"backtest_results/{run_id}/")}
    assert keys == {*RESULT_FILES, "_manifest.json"}
    assert_result_set(stores, run_id, result)


# --- bad signals --------------------------------------------------------------------------------


def _rewrite_row(signals_dir: Path, row: int, **values: str | None) -> None:
    """Overwrite columns of one row of the momentum signal file, bypassing its checks."""
    path = signals_dir / SIGNAL_FILE
    frame = pl.read_parquet(path)
    assert len(frame) > row
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value, dtype=pl.String))
        .otherwise(pl.col(column))
        .alias(column)
        for column, value in values.items()
    ).write_parquet(path)


def assert_nothing_backtested(stores: StoresResource) -> None:
    assert stores.results.list("backtest_results/") == []
    with pytest.raises(DataError, match="no committed artifacts"):
        artifacts.open_set(stores.results, artifact_prefix("backtest_run", PARTITION))


def test_unknown_algorithm_in_a_signal_file_fails_at_signals(copy_demo_day: CopyDemoDay) -> None:
    """The signals asset's pandera schema (``isin`` NORMAL/TWAP/VWAP/ICEBERG) already rejects
    an unknown exec_algorithm, so the run stops at ``signals``, before any backtest."""
    stores, _, signals_dir = copy_demo_day(signals=True)
    _rewrite_row(signals_dir, EVENT_ROW, exec_algorithm="FOO")
    result = materialize(stores, raise_on_error=False)

    assert not result.success
    assert result.get_failed_step_keys() == {"signals"}
    assert materialized(result) == {"instruments"}
    message = failure_text(result)
    assert f"{stores.signals.describe(SIGNAL_FILE)}: column 'exec_algorithm'" in message
    assert f"at rows [{EVENT_ROW}]" in message and "'FOO'" in message
    assert_nothing_backtested(stores)


def test_bad_algorithm_params_fail_when_the_signals_load(copy_demo_day: CopyDemoDay) -> None:
    """Params are validated once, when the signals load: a TWAP longer than its 5-minute
    window stops the ``signals`` asset, which names the file and row."""
    stores, _, signals_dir = copy_demo_day(signals=True)
    _rewrite_row(
        signals_dir, EVENT_ROW, exec_algorithm="TWAP", exec_algorithm_params='{"duration_sec": 900}'
    )
    result = materialize(stores, raise_on_error=False)

    assert not result.success
    assert result.get_failed_step_keys() == {"signals"}
    assert materialized(result) == {"instruments"}
    message = failure_text(result)
    assert f"{SIGNAL_FILE}: row {EVENT_ROW}: TWAP params: duration_sec: must be <= 300" in message
    assert_nothing_backtested(stores)


# --- run ids ------------------------------------------------------------------------------------


def test_run_id_does_not_depend_on_where_the_ticks_are_stored(
    stores: StoresResource, copy_demo_day: CopyDemoDay
) -> None:
    moved, _, _ = copy_demo_day(ticks=True)
    run_ids = []
    parquet_hashes = []
    for where in (stores, moved):
        run_ids.append(assert_all_green(materialize(where)))
        tick_set = artifacts.open_set(where.results, artifact_prefix("tick_windows", PARTITION))
        events = artifacts.open_set(where.results, artifact_prefix("signals", PARTITION))
        parquet_hashes.append(
            {
                n: f["sha256"]
                for n, f in {**tick_set.files, **events.files}.items()
                if ".parquet" in n
            }
        )
    assert parquet_hashes[0] == parquet_hashes[1]  # the very same inputs
    assert run_ids[0] == run_ids[1]


def test_run_id_changes_with_the_instrument_reference(stores: StoresResource) -> None:
    first = materialize(stores)
    first_id = assert_all_green(first)
    _, first_summary = uploaded(stores, first_id)

    document = json.loads(packaged_reference_text())
    for spec in document["instruments"]:
        if spec["key"].endswith("-USDT@LIN"):  # the demo's perpetuals: 5 bps → 4 bps
            spec["taker_fee"] = "0.0004"
    stores.instruments.write_bytes(REFERENCE_KEY, json.dumps(document).encode())
    second = materialize(stores)
    second_id = assert_all_green(second)
    _, second_summary = uploaded(stores, second_id)
    assert second_summary["total_fees"] != first_summary["total_fees"]  # other results
    assert second_id != first_id
