"""Backtests over several days, through Dagster and ``exec-services backtest``: each day
opens with the previous day's close, the equity curve is one curve, a re-run day makes the
later days stale, and a bad range says what is wrong and how to fix it.

Three demo days (2025-01-15..17, 1% of the ticks); the first backtest day of the test
session is 2025-01-15 (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest
from typer.testing import CliRunner

from execution_core.demo.config import DemoConfig
from execution_core.demo.publish import publish_demo_day
from execution_core.errors import ConfigError
from execution_core.instruments.reference import load_reference
from execution_core.stores import open_store
from pipelines.cli import app
from pipelines.definitions import defs
from pipelines.defs.committed import committed
from pipelines.defs.resources import StoresResource
from pipelines.runs import RunFailed, materialize_day, stale_days_after
from tests.conftest import REPO_ROOT
from tests.pipelines.conftest import file_url, stores_for

DAYS = [dt.date(2025, 1, 15), dt.date(2025, 1, 16), dt.date(2025, 1, 17)]


@pytest.fixture(scope="module")
def demo_days(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(ticks dir, signals dir) of three consecutive demo days. Do not modify."""
    root = tmp_path_factory.mktemp("demo_days")
    ticks, signals = open_store(str(root / "ticks")), open_store(str(root / "signals"))
    for day in DAYS:
        publish_demo_day(DemoConfig(date=day, ticks_scale=0.01), ticks, signals, load_reference())
    return root / "ticks", root / "signals"


@pytest.fixture
def stores(demo_days: tuple[Path, Path], tmp_path: Path) -> StoresResource:
    return stores_for(tmp_path / "stores", ticks=demo_days[0], signals=demo_days[1])


@pytest.fixture
def cli_env(stores: StoresResource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``exec-services`` on ``stores`` (the environment's store URLs) and its own instance."""
    for name in ("instruments", "ticks", "signals", "results"):
        monkeypatch.setenv(f"EXEC_{name.upper()}_STORE_URL", stores.url(name))
    (tmp_path / "dagster").mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", tmp_path / "dagster" / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.chdir(tmp_path)


def summaries(stores: StoresResource) -> list[dict]:
    return [committed(stores, "backtest_run", d.isoformat()).json("summary.json") for d in DAYS]


def test_a_range_carries_the_portfolio_and_the_curve_is_continuous(
    stores: StoresResource, cli_env: None
) -> None:
    result = CliRunner().invoke(app, ["backtest", "--from", "2025-01-15", "--to", "2025-01-17"])
    assert result.exit_code == 0, result.output
    for day in DAYS:  # a line per day
        assert f"{day}  signals" in result.output  # (after the progress bar, on a tty)
    printed = json.loads(result.output[result.output.index("{") : result.output.index("\n}") + 2])
    assert printed["days"] == 3 and (printed["from"], printed["to"]) == ("2025-01-15", "2025-01-17")

    days = summaries(stores)
    assert days[0]["opened_from"] == "flat"
    for previous, today in itertools.pairwise(days):
        assert today["opened_from"] == f"close of {previous['day']}"
        assert today["opening_equity"] == previous["final_equity"]
        assert today["opening_positions"] == previous["closing_positions"]
    assert any(d["opening_positions"] for d in days[1:])  # positions were held overnight
    start = days[-1]["starting_cash"]
    continuity = days[-1]["final_equity"] - start - sum(d["pnl"] for d in days)
    assert abs(continuity) <= 1e-9 * start
    assert abs(printed["equity_continuity_error"]) <= 1e-9 * start
    assert printed["final_equity"] == days[-1]["final_equity"]

    # the uploaded equity curves join into one: each day starts, at its midnight, where the
    # last one ended (a window opened before midnight ends in the next day: the days'
    # curves then overlap by those minutes)
    curves = [committed_curve(stores, d["run_id"]) for d in days]
    for day, (previous, today) in zip(DAYS[1:], itertools.pairwise(curves), strict=True):
        assert today["equity"][0] == previous["equity"][-1]
        assert today["ts_event"][0] == dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
        assert today["ts_event"].is_sorted()


def committed_curve(stores: StoresResource, run_id: str) -> pl.DataFrame:
    from pipelines.defs.committed import CommittedFiles

    return CommittedFiles(stores, f"backtest_results/{run_id}").frame("equity_curve.parquet")


def test_a_day_whose_previous_day_was_not_run_says_so(stores: StoresResource) -> None:
    instance = dg.DagsterInstance.ephemeral()
    with pytest.raises(RunFailed) as failed:
        materialize_day(DAYS[2], stores, instance)
    message = str(failed.value)
    assert "the backtest of the previous day 2025-01-16 has not been run" in message
    assert "exec-services backtest --from 2025-01-15 --to 2025-01-17" in message
    assert "--start-flat" in message and "start_flat: true" in message

    opened_flat = materialize_day(DAYS[2], stores, instance, start_flat=True)
    assert opened_flat.summary["opened_from"] == "flat"
    assert opened_flat.summary["opening_positions"] == {}


def test_rerunning_a_middle_day_makes_the_later_days_stale(stores: StoresResource) -> None:
    instance = dg.DagsterInstance.ephemeral()
    for day in DAYS:
        materialize_day(day, stores, instance)

    def status(asset: str, day: dt.date) -> StaleStatus:
        resolver = CachingStaleStatusResolver(
            instance, defs.resolve_asset_graph(), LoadingContextForTest(instance)
        )
        return resolver.get_status(dg.AssetKey(asset), day.isoformat())

    assert status("backtest_orders", DAYS[2]) == StaleStatus.FRESH
    assert stale_days_after(stores, DAYS[0]) == []

    # day 2 again, with another outcome (opened flat): day 3 opened with the old close
    materialize_day(DAYS[1], stores, instance, start_flat=True)
    # (Dagster does not mark an asset stale for its own previous partition; the day's other
    # outputs depend on that partition and are)
    for asset in (
        "backtest_orders",
        "backtest_fills",
        "backtest_positions",
        "backtest_equity_curve",
    ):
        assert status(asset, DAYS[2]) == StaleStatus.STALE, asset
    assert stale_days_after(stores, DAYS[1]) == [DAYS[2]]

    # recomputing day 3 opens it with the new close
    rerun = materialize_day(DAYS[2], stores, instance)
    assert status("backtest_orders", DAYS[2]) == StaleStatus.FRESH
    assert stale_days_after(stores, DAYS[1]) == []
    day2 = committed(stores, "backtest_run", DAYS[1].isoformat()).json("summary.json")
    assert rerun.summary["opening_equity"] == day2["final_equity"]


def test_an_identical_rerun_leaves_the_later_days_fresh(stores: StoresResource) -> None:
    instance = dg.DagsterInstance.ephemeral()
    for day in DAYS[:2]:
        materialize_day(day, stores, instance)
    materialize_day(DAYS[0], stores, instance)  # the same inputs: the same close
    resolver = CachingStaleStatusResolver(
        instance, defs.resolve_asset_graph(), LoadingContextForTest(instance)
    )
    assert resolver.get_status(dg.AssetKey("backtest_orders"), "2025-01-16") == StaleStatus.FRESH


def test_a_day_before_the_first_backtest_day_says_the_range_and_how_to_change_it(
    cli_env: None,
) -> None:
    result = CliRunner().invoke(app, ["backtest", "--from", "2025-01-10", "--to", "2025-01-16"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    message = str(result.exception)
    assert (
        "2025-01-10 is before the first backtest day 2025-01-15 (from backtest.first_day" in message
    )
    assert "--config FILE" in message and "EXEC_BACKTEST_FIRST_DAY" in message


def test_a_day_that_is_not_a_date_says_so(cli_env: None) -> None:
    result = CliRunner().invoke(app, ["backtest", "--from", "2025-13-01"])
    assert result.exit_code == 2
    assert "expected a day as YYYY-MM-DD, got '2025-13-01'" in result.output


def test_a_range_without_data_names_the_missing_files(
    stores: StoresResource, cli_env: None
) -> None:
    result = CliRunner().invoke(app, ["backtest", "--from", "2025-01-20", "--to", "2025-01-21"])
    assert result.exit_code == 1
    assert "no data in the range" in result.output
    for day in ("2025-01-20", "2025-01-21"):
        where = f"{file_url(Path(stores.url('signals').removeprefix('file://')))}"
        assert f"{day}: no signal file ({where}/<strategy_id>/{day}.parquet)" in result.output
    assert not (Path(stores.url("results").removeprefix("file://")) / "pipeline").exists()


def test_a_day_without_signals_carries_the_portfolio_through(
    demo_days: tuple[Path, Path], tmp_path: Path
) -> None:
    """Day 2 has no signal file: it runs (nothing to execute), its close is its opening,
    and day 3 changes from day 1's last targets, not from flat."""
    signals_dir = tmp_path / "signals"
    shutil.copytree(demo_days[1], signals_dir)
    for gone in signals_dir.rglob(f"{DAYS[1]}.parquet"):
        gone.unlink()
    stores = stores_for(tmp_path / "stores", ticks=demo_days[0], signals=signals_dir)
    instance = dg.DagsterInstance.ephemeral()
    day1, day2, day3 = (materialize_day(day, stores, instance).summary for day in DAYS)

    assert (day2["signals"], day2["n_orders"], day2["n_fills"]) == (0, 0, 0)
    assert day2["opening_positions"] == day2["closing_positions"] == day1["closing_positions"]
    assert day2["final_equity"] == day2["opening_equity"] == day1["final_equity"]
    assert day3["opening_equity"] == day2["final_equity"]

    day1_signals = committed(stores, "signals", DAYS[0].isoformat()).frame("signals.parquet")
    last_day1 = {
        (s, k): t
        for s, k, t in day1_signals.group_by("strategy_id", "instrument_key", maintain_order=True)
        .agg(pl.col("target_quantity").last())
        .iter_rows()
    }
    events3 = committed(stores, "signals", DAYS[2].isoformat()).frame("events.parquet")
    first3 = events3.group_by("strategy_id", "instrument_key", maintain_order=True).agg(
        pl.col("previous_target").first()
    )
    assert len(first3)
    for strategy, key, previous in first3.iter_rows():
        assert previous == last_day1.get((strategy, key), 0.0), (strategy, key)
    assert any(previous != 0.0 for *_, previous in first3.iter_rows())
