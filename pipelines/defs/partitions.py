"""Partitions: one per day. Windows are looped over inside a run (5-minute partitions
would mean hundreds of keys a day)."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

PARTITIONS_START = os.environ.get("EXEC_PARTITIONS_START", "2025-01-01")

daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")


def partition_day(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)
