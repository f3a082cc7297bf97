"""Materialize the pipeline for days, in order, as ``exec-services`` does (and as a Dagster
backfill does): market data, backtest and upload, with the blocking checks.

Each day opens with the previous day's closing portfolio, so the days of a range run one
after the other. Before anything runs, the range is checked: inside the partitions, and
with data for each day (what is missing is named).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg

from execution_core.accounting.portfolio import Portfolio
from execution_core.errors import ConfigError, DataError
from execution_core.signals.loader import signal_files
from pipelines.defs.backtest.assets import BACKTEST_ASSETS, PORTFOLIO_FILE
from pipelines.defs.committed import committed
from pipelines.defs.market_data.assets import MARKET_DATA_ASSETS
from pipelines.defs.partitions import FIRST_DAY, FIRST_DAY_SOURCE
from pipelines.defs.resources import StoresResource

log = logging.getLogger(__name__)

# The run's step-by-step log stays in the Dagster run (UI, instance); the terminal gets
# warnings and the summaries.
QUIET_RUN_CONFIG: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class RunFailed(DataError):
    """A day's run failed; the message names the step and its root cause."""


@dataclass(frozen=True)
class DayResult:
    day: dt.date
    summary: dict[str, Any]
    io_report: dict[str, Any]


def instance() -> dg.DagsterInstance:
    """The DAGSTER_HOME instance (``make`` sets it to runtime/dagster), else an ephemeral one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    log.warning("DAGSTER_HOME is not set: using an ephemeral instance (run history is not kept)")
    return dg.DagsterInstance.ephemeral()


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def check_range(first: dt.date, last: dt.date, today: dt.date | None = None) -> None:
    """ConfigError unless ``first..last`` is a range of backtest days (Dagster partitions)."""
    if last < first:
        raise ConfigError(f"--to {last} is before --from {first}")
    if first < FIRST_DAY:
        raise ConfigError(
            f"{first} is before the first backtest day {FIRST_DAY} (from {FIRST_DAY_SOURCE}): "
            f"backtests run from {FIRST_DAY} on. To start earlier, set backtest.first_day in "
            f"the config file (--config FILE, default config/execution_services.json, where "
            f"EXEC_BACKTEST_FIRST_DAY sets it); unset, it is the earliest day with signal "
            f"files in the signals store"
        )
    newest = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=1)
    if last > newest:
        raise ConfigError(f"{last} is not over yet: the newest backtest day is {newest}")


def missing_data(stores: StoresResource, days: list[dt.date]) -> list[str]:
    """The days of ``days`` without any signal file, each named with where it was looked
    for (a day without signals has nothing to execute; its tick files are then moot)."""
    missing = []
    for day in days:
        if not signal_files(stores.signals, day):
            where = stores.signals.describe(f"<strategy_id>/{day.isoformat()}.parquet")
            missing.append(f"{day}: no signal file ({where})")
    return missing


def materialize_day(
    day: dt.date, stores: StoresResource, dagster: dg.DagsterInstance, *, start_flat: bool = False
) -> DayResult:
    """Every market-data and backtest asset of ``day``, with their checks; RunFailed names
    the failed step's root cause (e.g. the DataError naming the bad file and row)."""
    run_config = dict(QUIET_RUN_CONFIG)
    if start_flat:
        run_config["ops"] = {"backtest_run": {"config": {"start_flat": True}}}
    result = dg.materialize(
        [*MARKET_DATA_ASSETS, *BACKTEST_ASSETS],
        partition_key=day.isoformat(),
        instance=dagster,
        resources={"stores": stores},
        run_config=run_config,
        raise_on_error=False,
    )
    if not result.success:
        raise RunFailed(f"{day}: pipeline run failed: {failure_message(result)}")
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    if failed:
        raise RunFailed(f"{day}: blocking checks failed: {', '.join(failed)}")
    ticks = committed(stores, "tick_windows", day.isoformat())
    run = committed(stores, "backtest_run", day.isoformat())
    return DayResult(day, run.json("summary.json"), ticks.json("io.json"))


def run_days(
    days: list[dt.date],
    stores: StoresResource,
    dagster: dg.DagsterInstance,
    *,
    start_flat: bool = False,
) -> Iterator[DayResult]:
    """``days`` in order; with ``start_flat`` the first one opens flat."""
    for i, day in enumerate(days):
        yield materialize_day(day, stores, dagster, start_flat=start_flat and i == 0)


def stale_days_after(stores: StoresResource, day: dt.date) -> list[dt.date]:
    """The backtested days after ``day`` that opened with another close of the day before
    them than the one committed now (they were run before it was re-run): stale."""
    stale: list[dt.date] = []
    previous, current = day, day + dt.timedelta(days=1)
    while True:
        try:
            opened = committed(stores, "backtest_run", current.isoformat()).metadata
            closed = committed(stores, "backtest_run", previous.isoformat()).bytes(PORTFOLIO_FILE)
        except DataError:  # not run (or withdrawn): nothing later can be trusted anyway
            return stale
        if opened.get("opened_from") == "flat":  # opened flat on purpose: no previous close
            return stale
        if opened.get("opening_sha256") != Portfolio.from_json(closed).sha256():
            stale.append(current)
        previous, current = current, current + dt.timedelta(days=1)


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The root cause of the first failed step (e.g. the DataError naming the bad file)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            # Dagster wraps the user's exception; report that one, not what it was raised from.
            while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
                error = error.cause
            return f"step {event.step_key}: {error.message.strip()}"
    return "unknown failure (see the Dagster run logs)"


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, default=str)
