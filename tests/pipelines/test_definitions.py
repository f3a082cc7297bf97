"""The Dagster code location loads, and declares the graph, checks and schedule it promises."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from pipelines.definitions import defs
from pipelines.defs.live.resources import LiveDaemonLauncher, LiveDaemonResource
from pipelines.defs.resources import StoresResource

ASSETS = ["instruments", "signals", "execution_windows", "tick_windows"]
RUN_ASSETS = [
    "backtest_portfolio",
    "backtest_orders",
    "backtest_fills",
    "backtest_positions",
    "backtest_equity_curve",
]
ALL_ASSETS = [*ASSETS, *RUN_ASSETS, "backtest_results"]  # daily partitioned
RECONCILIATION = ["reconciliation_orders", "reconciliation_fills", "reconciliation_positions"]
LIVE_ASSETS = ["live_daemon", *RECONCILIATION]  # group live, not partitioned
UPSTREAM = {
    "instruments": set(),
    "signals": {"instruments"},
    "execution_windows": {"signals"},
    "tick_windows": {"execution_windows"},
    # each day's backtest also opens with the previous day's backtest_portfolio
    **{a: {"instruments", "signals", "tick_windows", "backtest_portfolio"} for a in RUN_ASSETS},
    "backtest_results": set(RUN_ASSETS) - {"backtest_portfolio"},
    "live_daemon": set(),
    **{a: {"live_daemon"} for a in RECONCILIATION},
}
CHECKS = {
    "instruments": {"instruments_valid"},
    "signals": {"signals_schema"},
    "execution_windows": {"windows_inside_day", "windows_have_signal_change"},
    "tick_windows": {"ticks_schema", "ticks_sorted_inside_windows"},
    "backtest_results": {
        "results_schemas",
        "fills_sum_to_positions",
        "children_within_primaries",
        "fills_inside_windows",
        "fees_non_negative",
        "equity_is_cash_plus_unrealized",
    },
}


def test_definitions_are_loadable() -> None:
    dg.Definitions.validate_loadable(defs)


def test_the_assets_exist_in_a_chain() -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == set(ALL_ASSETS) | set(LIVE_ASSETS)
    for asset, parents in UPSTREAM.items():
        node = graph.get(dg.AssetKey(asset))
        assert {key.to_user_string() for key in node.parent_keys} == parents


def test_each_backtest_day_depends_on_the_previous_days_portfolio() -> None:
    graph = defs.resolve_asset_graph()
    for asset in RUN_ASSETS:
        dep = next(
            d
            for d in defs.resolve_assets_def(asset).specs_by_key[dg.AssetKey(asset)].deps
            if d.asset_key == dg.AssetKey("backtest_portfolio")
        )
        assert dep.partition_mapping == dg.TimeWindowPartitionMapping(
            start_offset=-1, end_offset=-1
        )
    assert graph.get(dg.AssetKey("backtest_portfolio")).is_partitioned


def test_every_asset_is_daily_partitioned() -> None:
    for asset in ALL_ASSETS:
        partitions = defs.resolve_assets_def(asset).partitions_def
        assert isinstance(partitions, dg.DailyPartitionsDefinition), asset
        assert partitions.timezone == "UTC"


@pytest.mark.parametrize("asset", [*ASSETS, "backtest_results"])
def test_every_asset_has_blocking_checks(asset: str) -> None:
    specs = list(defs.resolve_assets_def(asset).check_specs)
    assert {spec.name for spec in specs} == CHECKS[asset]
    assert all(spec.blocking for spec in specs), [s.name for s in specs if not s.blocking]
    assert all(spec.asset_key == dg.AssetKey(asset) for spec in specs)


def test_market_data_job_selects_the_four_assets() -> None:
    job = defs.resolve_job_def("market_data_job")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert selected == set(ASSETS)
    assert isinstance(job.partitions_def, dg.DailyPartitionsDefinition)


def test_stores_resource_is_bound() -> None:
    assert isinstance((defs.resources or {})["stores"], StoresResource)


def test_daily_schedule_runs_the_whole_pipeline_for_yesterday() -> None:
    schedule = defs.resolve_schedule_def("daily_backtest_schedule")
    job = defs.resolve_job_def("daily_backtest_job")
    assert schedule.job_name == "daily_backtest_job"
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == set(ALL_ASSETS)
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2025, 1, 16, 2, 0, tzinfo=dt.UTC)
    )
    requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert [r.partition_key for r in requests] == ["2025-01-15"]


# --- the live group -----------------------------------------------------------------------------


def test_the_live_group() -> None:
    graph = defs.resolve_asset_graph()
    for asset in LIVE_ASSETS:
        node = graph.get(dg.AssetKey(asset))
        assert node.group_name == "live", asset
        assert node.partitions_def is None, asset
    daemon = graph.get(dg.AssetKey("live_daemon"))
    assert not daemon.is_materializable  # external: observed, never built


@pytest.mark.parametrize("asset", RECONCILIATION)
def test_every_reconciliation_asset_has_a_no_breaks_check(asset: str) -> None:
    specs = [s for s in defs.resolve_assets_def(asset).check_specs if s.asset_key.path == [asset]]
    assert [spec.name for spec in specs] == ["no_breaks"]


def test_the_live_jobs() -> None:
    restart = defs.resolve_job_def("restart_live_daemon")
    assert [node.name for node in restart.nodes] == ["restart_daemon"]
    reconcile = defs.resolve_job_def("live_reconciliation_job")
    assert {k.to_user_string() for k in reconcile.asset_layer.selected_asset_keys} == set(
        RECONCILIATION
    )


def test_the_live_sensors_and_schedule() -> None:
    daemon = defs.resolve_sensor_def("live_daemon_sensor")
    assert daemon.job_name == "restart_live_daemon"
    assert daemon.minimum_interval_seconds == 30
    reconcile = defs.resolve_sensor_def("live_reconciliation_sensor")
    assert reconcile.job_name == "live_reconciliation_job"
    schedule = defs.resolve_schedule_def("live_reconciliation_schedule")
    assert schedule.job_name == "live_reconciliation_job"
    assert schedule.cron_schedule == "*/15 * * * *"
    assert schedule.execution_timezone == "UTC"


def test_live_resources_are_bound_with_environment_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resources = defs.resources or {}
    daemon = resources["live_daemon"]
    assert isinstance(daemon, LiveDaemonResource)
    assert isinstance(resources["live_daemon_launcher"], LiveDaemonLauncher)
    monkeypatch.delenv("EXEC_DAEMON_URL", raising=False)
    monkeypatch.delenv("EXEC_DAEMON_TOKEN", raising=False)
    assert (daemon.api().base_url, daemon.api().token) == ("http://127.0.0.1:8001", "paper-token")
    assert daemon.stale_after_secs == 15
    monkeypatch.setenv("EXEC_DAEMON_URL", "http://daemon.internal:9000/")
    monkeypatch.setenv("EXEC_DAEMON_TOKEN", "secret-token")
    assert (daemon.api().base_url, daemon.api().token) == (
        "http://daemon.internal:9000",
        "secret-token",
    )
    monkeypatch.setenv("DATABASE_URL", "postgresql://oms.internal/oms")
    assert daemon.oms_url() == "postgresql://oms.internal/oms"


# --- execution ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "job",
    [
        "daily_backtest_job",
        "market_data_job",
        "restart_live_daemon",
        "live_reconciliation_job",
        "__ASSET_JOB",  # the UI's Materialize and `dagster asset materialize`
    ],
)
def test_jobs_run_their_steps_in_one_process(job: str) -> None:
    assert defs.resolve_job_def(job).executor_def is dg.in_process_executor
