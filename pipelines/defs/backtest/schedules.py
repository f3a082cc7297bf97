"""The daily backtest: every market-data and backtest asset for yesterday's partition.

Backfills run through the same partitioned job (Dagster UI: Materialize → partitions); the
days of a backfill run in order, each opening with the previous day's close.
"""

import dagster as dg

from pipelines.defs.partitions import daily_partitions

daily_backtest_job = dg.define_asset_job(
    "daily_backtest_job",
    selection=dg.AssetSelection.groups("market_data", "backtest"),
    partitions_def=daily_partitions,
    description="Load the day's windows and backtest its signal changes.",
)

# For a daily partitions definition this requests the last complete day: yesterday.
daily_backtest_schedule = dg.build_schedule_from_partitioned_job(
    daily_backtest_job, hour_of_day=2, minute_of_hour=0, name="daily_backtest_schedule"
)
