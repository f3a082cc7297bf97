"""The daemon's REST API (FastAPI).

==========================================  =====  ===================================
route                                       token  answers
==========================================  =====  ===================================
``POST   /api/orders``                      yes    201 created, 200 idempotent replay,
                                                   409 operation_id reused with another
                                                   body, 400 malformed JSON, 415 not
                                                   JSON, 422 invalid field
``GET    /api/orders/{operation_id}``       yes    200, 404 unknown
``DELETE /api/orders/{operation_id}``       yes    200 (the order as it stands), 404
``GET    /api/orders``                      yes    200 list; filters ``status``,
                                                   ``venue``, ``instrument``,
                                                   ``strategy``, ``since``, ``until``,
                                                   ``q`` (search by operation or order
                                                   id), ``limit`` (1..1000, default 100)
``GET    /api/orders/{operation_id}/timeline`` yes 200 the order's event log, 404
``GET    /api/positions``                   yes    200 list
``GET    /api/logs``                        yes    200 the execution log after ``after``
                                                   (filters ``outcome``, ``strategy``,
                                                   ``instrument``)
``POST   /api/reconciliation/run``          yes    200 what was settled and the venues'
                                                   own record (columns, base units)
``GET    /api/health``, ``/api/live/health``  no   200 ok/degraded, 503 error
``GET    /metrics``                         no     Prometheus text format
==========================================  =====  ===================================

A risk rejection is not an HTTP error: the order comes back (201/200) with status
``REJECTED`` and its ``rejection_reason``. Every error body is an
:class:`~live_daemon.api.models.ErrorOut` whose ``detail`` names the field
(``quantity: must be > 0, got '0'``), except the plain-text 413 of the body-size limit
(64 KiB). The token is checked before the body is read.

One router per resource in :mod:`live_daemon.api.routers` (orders, positions, logs,
reconciliation, monitoring); each route is given the orchestrator, the instrument
reference and the metrics as dependencies (:mod:`live_daemon.api.deps`), read from
``app.state`` per request, so the app exists before the lifespan has started the
orchestrator (until then: 503 "the daemon is starting"). Every order, fill, position and
log entry carries ``text``: the line ``exec-cli`` prints (:mod:`live_daemon.display`).
The error answers are in :mod:`live_daemon.api.errors`, the request log in
:mod:`live_daemon.api.middleware`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from importlib import metadata

from fastapi import FastAPI

from execution_core.instruments.reference import InstrumentReference
from live_daemon.api.auth import document_bearer_auth
from live_daemon.api.errors import add_error_handlers
from live_daemon.api.limits import MAX_BODY_BYTES
from live_daemon.api.middleware import QUIET_PATHS, RequestLogMiddleware
from live_daemon.api.ports import IdempotencyConflict, OrderService, ServiceUnavailable
from live_daemon.api.routers import logs, monitoring, orders, positions, reconciliation
from live_daemon.metrics import Metrics

API_DESCRIPTION = """
Orders in, as JSON: pre-trade risk, the PostgreSQL OMS (recorded before any venue sees
them), the smart router, the venues.

* **Auth**: `Authorization: Bearer <token>` on every `/api` route except health.
* **Idempotency**: `operation_id` is the key. The same body again answers `200` with the
  recorded order and sends nothing; another body with the same `operation_id` is `409`.
* **Decimals** (quantities, prices, fees) travel as decimal strings, never JSON numbers.
* **Risk rejections** are not HTTP errors: `201`/`200` with `status` `REJECTED` and a
  `rejection_reason`.
* **Errors**: `{"detail": "quantity: must be > 0, got '0'", "errors": [...]}`; malformed
  JSON is `400`, a body that is not JSON `415`, an invalid field `422`.
* **Text**: every order, fill, position and log entry has `text`, the line `exec-cli`
  prints for it (the web UI shows the same).
"""

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def package_version() -> str:
    try:
        return metadata.version("execution-services")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def create_app(
    orchestrator: OrderService | None = None,
    *,
    token: str,
    lifespan: Lifespan | None = None,
    metrics: Metrics | None = None,
    instruments: InstrumentReference | None = None,
    version: str | None = None,
) -> FastAPI:
    """The API around ``orchestrator`` (``None``: the lifespan sets
    ``app.state.orchestrator`` once it has started one).

    ``token`` is the bearer token every ``/api`` route except health requires. ``metrics``
    is what ``/metrics`` renders (a fresh :class:`Metrics` when omitted). With
    ``instruments``, an order for an instrument no venue lists is a 422 before the
    orchestrator sees it.
    """
    if not token or not token.strip():
        raise ValueError("create_app: the API token must not be empty")
    app = FastAPI(
        title="Execution Services — live execution daemon",
        version=version or package_version(),
        description=API_DESCRIPTION,
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
        # The daemon's observability is Prometheus (/metrics) and key=value logs. FastAPI's
        # native OpenTelemetry hooks would run on every request for providers nobody set
        # up: turning them off gave ~15% more orders/s in bench/live_orders.py.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.token = token
    app.state.orchestrator = orchestrator
    app.state.metrics = metrics if metrics is not None else Metrics()
    app.state.instruments = instruments
    app.state.started = time.monotonic()
    add_error_handlers(app)
    app.add_middleware(RequestLogMiddleware)

    for resource in (orders, positions, logs, reconciliation, monitoring):
        app.include_router(resource.router)
    document_bearer_auth(app)
    return app


__all__ = [
    "MAX_BODY_BYTES",
    "QUIET_PATHS",
    "IdempotencyConflict",
    "OrderService",
    "RequestLogMiddleware",
    "ServiceUnavailable",
    "create_app",
    "package_version",
]
