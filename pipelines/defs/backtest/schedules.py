"""The daily backtest: every market-data and backtest asset for yesterday's partition.

Backfills run through the same partitioned job (Dagster UI: Materialize → partitions).
"""

import dagster as dg

from pipelines.defs.backtest.assets import BACKTEST_ASSETS
from pipelines.defs.market_data.assets import MARKET_DATA_ASSETS
from pipelines.defs.partitions import daily_partitions

daily_backtest_job = dg.define_asset_job(
    "daily_backtest_job",
    selection=dg.AssetSelection.assets(*MARKET_DATA_ASSETS, *BACKTEST_ASSETS),
    partitions_def=daily_partitions,
    description="Load the day's windows and backtest its signal changes.",
)

# For a daily partitions definition this requests the last complete day: yesterday.
daily_backtest_schedule = dg.build_schedule_from_partitioned_job(
    daily_backtest_job, hour_of_day=2, minute_of_hour=0, name="daily_backtest_schedule"
)
