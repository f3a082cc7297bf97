"""``/api/reconciliation/run``: settle what the venues' record makes certain, and answer
that record for a Dagster reconciliation run to compare with the OMS."""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import JSONResponse

from live_daemon.api.deps import Orchestrator
from live_daemon.api.errors import service_errors
from live_daemon.api.responses import ReconciliationOut
from live_daemon.api.routers.base import protected_router

router = protected_router("reconciliation")


@router.post(
    "/run",
    response_model=ReconciliationOut,
    summary="Reconcile with the venues' own record",
    description="The daemon settles what the venues' record makes certain (a fill the "
    "venue has and the OMS lacks, an in-flight order the venue has finished) and returns "
    "what it settled and that record, for a reconciliation run to compare with the OMS. "
    "A venue that could not be read is listed in `unreachable`.",
)
async def reconcile(orchestrator: Orchestrator) -> Response:
    with service_errors("reconcile"):
        report = await orchestrator.reconciliation_report()
    # columns of up to 100,000s of rows: serialised once, not validated again
    return JSONResponse(report)
