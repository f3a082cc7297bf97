"""Open routes (no token): ``/api/health`` (also ``/api/live/health``) and ``/metrics``."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from live_daemon.api.deps import STARTING, CurrentMetrics
from live_daemon.api.errors import describe
from live_daemon.api.ports import OrderService, ServiceUnavailable
from live_daemon.api.responses import HealthOut

log = logging.getLogger("live_daemon.api")

router = APIRouter(tags=["monitoring"])
_HEALTH_DOC: dict[str, Any] = {
    "response_model": HealthOut,
    "summary": "Health (no token)",
    "responses": {503: {"model": HealthOut, "description": "Not ready or failing."}},
}


async def health(request: Request) -> JSONResponse:
    """ok/degraded answer 200, error (no database, starting, another daemon owns the
    book) 503 — with the same body, so a probe and a person read the same."""
    orchestrator: OrderService | None = request.app.state.orchestrator
    try:
        if orchestrator is None:
            raise ServiceUnavailable(STARTING)
        data = dict(await orchestrator.health())
    except Exception as exc:
        log.warning("health_check_failed error=%s", type(exc).__name__, exc_info=True)
        data = {"status": "error", "database": "unknown", "error": describe(exc)}
    uptime = round(time.monotonic() - request.app.state.started, 3)
    data.setdefault("status", "ok" if data.get("database", "ok") == "ok" else "error")
    data.setdefault("database", "ok")
    data.setdefault("venues", {})
    data.setdefault("uptime_s", uptime)
    data["version"] = request.app.version
    body = HealthOut.model_validate(data)
    code = 200 if body.status in ("ok", "degraded") else 503
    return JSONResponse(body.model_dump(mode="json"), status_code=code)


router.add_api_route("/api/health", health, methods=["GET"], **_HEALTH_DOC)
router.add_api_route("/api/live/health", health, methods=["GET"], **_HEALTH_DOC)


@router.get(
    "/metrics",
    summary="Prometheus metrics (no token)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def prometheus(metrics: CurrentMetrics) -> Response:
    return Response(metrics.render(), media_type=metrics.content_type)
