"""The Dagster code location: ``dagster dev`` (workspace.yaml) and the tests load this."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.backtest.assets import BACKTEST_ASSETS
from pipelines.defs.backtest.schedules import daily_backtest_job, daily_backtest_schedule
from pipelines.defs.market_data.assets import MARKET_DATA_ASSETS
from pipelines.defs.resources import StoresResource

market_data_job = dg.define_asset_job(
    "market_data_job",
    selection=dg.AssetSelection.assets(*MARKET_DATA_ASSETS),
    description="Instruments, signals, execution windows and windowed ticks for one day.",
)

defs = dg.Definitions(
    assets=[*MARKET_DATA_ASSETS, *BACKTEST_ASSETS],
    jobs=[market_data_job, daily_backtest_job],
    schedules=[daily_backtest_schedule],
    resources={"stores": StoresResource()},
)
