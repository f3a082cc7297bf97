"""``live_reconciliation_schedule``: reconcile every 15 minutes (UTC), whatever happened.

Stopped by default (turn it on in the UI or with ``dagster schedule start``): on a machine
without a running daemon every tick would fail, as it should, naming the URL.
"""

from __future__ import annotations

import dagster as dg

from pipelines.defs.live.jobs import live_reconciliation_job

live_reconciliation_schedule = dg.ScheduleDefinition(
    name="live_reconciliation_schedule",
    job=live_reconciliation_job,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
    description="Reconcile the OMS with the venues every 15 minutes.",
)
