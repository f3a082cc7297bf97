"""``/api/positions``: per strategy and venue listing, and aggregated per instrument."""

from __future__ import annotations

from live_daemon.api.deps import Orchestrator
from live_daemon.api.errors import service_errors
from live_daemon.api.responses import PositionOut, position_out
from live_daemon.api.routers.base import protected_router

router = protected_router("positions")


@router.get("", response_model=list[PositionOut], summary="Positions")
async def positions(orchestrator: Orchestrator) -> list[PositionOut]:
    with service_errors("positions"):
        rows = await orchestrator.positions()
    return [position_out(row) for row in rows]
