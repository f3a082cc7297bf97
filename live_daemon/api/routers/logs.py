"""``/api/logs``: the execution log (orders accepted, and rejected with the reason), after
a cursor, for a screen or a script that polls it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query

from live_daemon.api.deps import Orchestrator
from live_daemon.api.errors import service_errors
from live_daemon.api.limits import DEFAULT_LOG_LIMIT
from live_daemon.api.responses import ExecutionLogOut, LogEntryOut
from live_daemon.api.routers.base import ERROR_RESPONSES, protected_router
from live_daemon.display import log_text
from live_daemon.oms.execution_log import MAX_ENTRIES, LogQuery

router = protected_router("logs")


@router.get(
    "",
    response_model=ExecutionLogOut,
    summary="The execution log, oldest first after a cursor",
    responses={422: ERROR_RESPONSES[422]},
)
async def execution_log(
    orchestrator: Orchestrator,
    after: Annotated[
        int, Query(ge=0, description="Entries after this event_id (0: from the start).")
    ] = 0,
    outcome: Annotated[
        Literal["accepted", "rejected"] | None, Query(description="Only this outcome.")
    ] = None,
    strategy: Annotated[
        str | None, Query(max_length=128, description="Only this strategy_id.")
    ] = None,
    instrument: Annotated[
        str | None,
        Query(max_length=256, description="This instrument_key, or the venue key routed to."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ENTRIES, description="At most this many.")] = (
        DEFAULT_LOG_LIMIT
    ),
) -> ExecutionLogOut:
    query = LogQuery(after, outcome, strategy, instrument, limit)
    with service_errors("logs"):
        rows = await orchestrator.execution_log(query)
    entries = [
        LogEntryOut.model_validate(
            {
                **row,
                "text": log_text(
                    ts=row["ts"],
                    outcome=row["outcome"],
                    operation_id=row["operation_id"],
                    side=row["side"],
                    quantity=row["quantity"],
                    instrument_key=row["instrument_key"],
                    venue=row["venue"],
                    reason=row["reason"],
                ),
            }
        )
        for row in rows
    ]
    return ExecutionLogOut(entries=entries, last_event_id=entries[-1].event_id if entries else None)
