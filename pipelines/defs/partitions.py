"""Partitions: one per day, from the first backtest day on. Windows are looped over inside
a run (5-minute partitions would mean hundreds of keys a day).

The first day is ``backtest.first_day`` of the config file (``EXEC_CONFIG``, default
``config/execution_services.json``, where ``EXEC_BACKTEST_FIRST_DAY`` sets it), else the
earliest day with signal files in the signals store. It is the day a backtest opens flat:
every later day opens with the previous day's closing portfolio.
"""

from __future__ import annotations

import datetime as dt
import logging

import dagster as dg

from execution_core.errors import ExecutionServicesError
from pipelines.defs.resources import StoresResource
from pipelines.settings import (
    FALLBACK_FIRST_DAY,
    config_path,
    first_backtest_day,
    load_pipelines_config,
)

log = logging.getLogger(__name__)


def _first_day() -> tuple[dt.date, str]:
    try:
        config = load_pipelines_config()
        stores = StoresResource(**config.stores.model_dump()) if config else StoresResource()
        return first_backtest_day(config, stores, config_path())
    except (ExecutionServicesError, OSError) as exc:  # the definitions must still load
        log.warning(f"first_backtest_day_unknown fallback={FALLBACK_FIRST_DAY} error={exc}")
        return FALLBACK_FIRST_DAY, f"a fallback ({exc})"


FIRST_DAY, FIRST_DAY_SOURCE = _first_day()

daily_partitions = dg.DailyPartitionsDefinition(start_date=FIRST_DAY.isoformat(), timezone="UTC")


def partition_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)
