"""The Dagster code location: ``dagster dev`` (workspace.yaml) and the tests load this.

Every job (the daily backtest, market data, the live jobs and the implicit asset job that
the UI's Materialize and ``dagster asset materialize`` use) runs its steps in the run's
own process: a process per step would import the whole stack again for each step (seconds
each), while the steps of a day run one after the other anyway. Backtest days run in
parallel as separate runs (``max_concurrent_runs`` in dagster.yaml).
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs.backtest.assets import BACKTEST_ASSETS
from pipelines.defs.backtest.schedules import daily_backtest_job, daily_backtest_schedule
from pipelines.defs.live.assets import LIVE_ASSETS
from pipelines.defs.live.jobs import live_reconciliation_job, restart_live_daemon
from pipelines.defs.live.resources import LiveDaemonLauncher, LiveDaemonResource
from pipelines.defs.live.schedules import live_reconciliation_schedule
from pipelines.defs.live.sensors import live_daemon_sensor, live_reconciliation_sensor
from pipelines.defs.market_data.assets import MARKET_DATA_ASSETS
from pipelines.defs.resources import StoresResource

market_data_job = dg.define_asset_job(
    "market_data_job",
    selection=dg.AssetSelection.assets(*MARKET_DATA_ASSETS),
    description="Instruments, signals, execution windows and windowed ticks for one day.",
)

defs = dg.Definitions(
    assets=[*MARKET_DATA_ASSETS, *BACKTEST_ASSETS, *LIVE_ASSETS],
    jobs=[market_data_job, daily_backtest_job, restart_live_daemon, live_reconciliation_job],
    schedules=[daily_backtest_schedule, live_reconciliation_schedule],
    sensors=[live_daemon_sensor, live_reconciliation_sensor],
    executor=dg.in_process_executor,
    resources={
        "stores": StoresResource(),
        "live_daemon": LiveDaemonResource(),
        "live_daemon_launcher": LiveDaemonLauncher(),
    },
)
