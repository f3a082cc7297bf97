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
                                                   ``limit`` (1..1000, default 100)
``GET    /api/positions``                   yes    200 list
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

The error answers are in :mod:`live_daemon.api.errors`, the request log in
:mod:`live_daemon.api.middleware`; the names other modules use are re-exported here.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from importlib import metadata
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from execution_core.errors import UnknownInstrumentError
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference
from live_daemon.api.auth import AuthenticatedRoute, document_bearer_auth
from live_daemon.api.errors import (
    add_error_handlers,
    describe,
    field_error,
    service_errors,
    unknown_operation,
)
from live_daemon.api.middleware import QUIET_PATHS, RequestLogMiddleware
from live_daemon.api.models import (
    OPERATION_ID_PATTERN,
    ErrorOut,
    HealthOut,
    OrderIn,
    OrderOut,
    PositionOut,
    ReconciliationOut,
    order_out,
)
from live_daemon.api.ports import IdempotencyConflict, OrderService, ServiceUnavailable
from live_daemon.domain import OrderStatus
from live_daemon.metrics import Metrics

log = logging.getLogger("live_daemon.api")

MAX_BODY_BYTES = 64 * 1024
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000

_OperationId = Annotated[
    str,
    Path(
        pattern=OPERATION_ID_PATTERN,
        description="The order's idempotency key.",
        examples=["OP-12345"],
    ),
]


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
"""

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def package_version() -> str:
    try:
        return metadata.version("execution-services")
    except metadata.PackageNotFoundError:
        return "0+unknown"


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in {
        401: "Missing or invalid bearer token.",
        422: "Invalid field: `detail` names it, `errors` lists every one.",
        503: "The daemon is starting, stopping or cannot reach its database.",
    }.items()
}


def create_app(
    orchestrator: OrderService,
    *,
    token: str,
    lifespan: Lifespan | None = None,
    metrics: Metrics | None = None,
    instruments: InstrumentReference | None = None,
    version: str | None = None,
) -> FastAPI:
    """The API around ``orchestrator``.

    ``token`` is the bearer token every ``/api`` route except health requires. ``metrics``
    is what ``/metrics`` renders (a fresh :class:`Metrics` when omitted; the lifespan may
    replace ``app.state.metrics``). With ``instruments``, an order for an instrument no
    venue lists is a 422 before the orchestrator sees it.
    """
    if not token or not token.strip():
        raise ValueError("create_app: the API token must not be empty")
    version = version or package_version()
    app = FastAPI(
        title="Execution Services — live execution daemon",
        version=version,
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

    api = APIRouter(
        prefix="/api",
        route_class=AuthenticatedRoute,
        # every route's 422 is the project's own error body, not FastAPI's default
        responses={401: _ERRORS[401], 422: _ERRORS[422], 503: _ERRORS[503]},
    )

    @api.post(
        "/orders",
        status_code=201,
        response_model=OrderOut,
        summary="Submit an order (idempotent on operation_id)",
        responses={
            200: {
                "model": OrderOut,
                "description": "Replay: the order already recorded "
                "for this operation_id and body; nothing was sent again.",
            },
            201: {"description": "Recorded now (possibly with status REJECTED by risk)."},
            400: {"model": ErrorOut, "description": "Malformed JSON."},
            409: {
                "model": ErrorOut,
                "description": "operation_id already used with a different body.",
            },
            413: {
                "content": {"text/plain": {}},
                "description": f"Body over {MAX_BODY_BYTES} bytes (plain text).",
            },
            415: {"model": ErrorOut, "description": "Body is not JSON."},
            422: _ERRORS[422],
        },
    )
    async def submit_order(order: OrderIn) -> Response:
        _check_listed(instruments, order.instrument_key)
        request = order.to_request()
        with service_errors("submit"):
            record, created = await orchestrator.submit(request)
        # order_out already validated it as an OrderOut: serialise once, not twice
        return Response(
            order_out(record).model_dump_json(),
            status_code=201 if created else 200,
            media_type="application/json",
        )

    @api.get(
        "/orders/{operation_id}",
        response_model=OrderOut,
        summary="One order with its fills",
        responses={404: {"model": ErrorOut, "description": "Unknown operation_id."}},
    )
    async def get_order(operation_id: _OperationId) -> OrderOut:
        with service_errors("get"):
            record = await orchestrator.get(operation_id)
        if record is None:
            raise unknown_operation(operation_id)
        return order_out(record)

    @api.delete(
        "/orders/{operation_id}",
        response_model=OrderOut,
        summary="Cancel an order",
        description="Asks the venue to cancel; returns the order as it stands (the "
        "cancellation shows as status CANCELED once the venue confirms; a final order is "
        "returned unchanged).",
        responses={404: {"model": ErrorOut, "description": "Unknown operation_id."}},
    )
    async def cancel_order(operation_id: _OperationId) -> OrderOut:
        with service_errors("cancel"):
            record = await orchestrator.cancel(operation_id)
        if record is None:
            raise unknown_operation(operation_id)
        return order_out(record)

    @api.get(
        "/orders",
        response_model=list[OrderOut],
        summary="Orders, newest first, filtered",
        responses={422: _ERRORS[422]},
    )
    async def list_orders(
        status: Annotated[OrderStatus | None, Query(description="Only this status.")] = None,
        venue: Annotated[
            str | None, Query(max_length=256, description="Only orders routed to this venue.")
        ] = None,
        instrument: Annotated[
            str | None,
            Query(max_length=256, description="Only this instrument_key (as requested)."),
        ] = None,
        strategy: Annotated[
            str | None, Query(max_length=128, description="Only this strategy_id.")
        ] = None,
        since: Annotated[
            dt.datetime | None,
            Query(description="Created at or after (ISO 8601; no offset means UTC)."),
        ] = None,
        until: Annotated[
            dt.datetime | None,
            Query(description="Created before (ISO 8601; no offset means UTC)."),
        ] = None,
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIST_LIMIT, description="At most this many orders.")
        ] = DEFAULT_LIST_LIMIT,
    ) -> list[OrderOut]:
        since, until = _utc(since), _utc(until)
        if since is not None and until is not None and since >= until:
            raise field_error(
                "until", f"must be after since ({since.isoformat()}), got {until.isoformat()}"
            )
        with service_errors("list_orders"):
            records = await orchestrator.list_orders(
                status=status,
                venue=venue,
                instrument=instrument,
                strategy=strategy,
                since=since,
                until=until,
                limit=limit,
            )
        return [order_out(r) for r in records]

    @api.get("/positions", response_model=list[PositionOut], summary="Positions")
    async def positions() -> list[PositionOut]:
        with service_errors("positions"):
            rows = await orchestrator.positions()
        return [PositionOut.model_validate(row) for row in rows]

    @api.post(
        "/reconciliation/run",
        response_model=ReconciliationOut,
        summary="Reconcile with the venues' own record",
        description="The daemon settles what the venues' record makes certain (a fill the "
        "venue has and the OMS lacks, an in-flight order the venue has finished) and returns "
        "what it settled and that record, for a reconciliation run to compare with the OMS. "
        "A venue that could not be read is listed in `unreachable`.",
        tags=["reconciliation"],
    )
    async def reconcile() -> Response:
        with service_errors("reconcile"):
            report = await orchestrator.reconciliation_report()
        # columns of up to 100,000s of rows: serialised once, not validated again
        return JSONResponse(report)

    app.include_router(api)
    document_bearer_auth(app)

    async def health(request: Request) -> JSONResponse:
        try:
            data = dict(await orchestrator.health())
        except Exception as exc:
            log.warning("health_check_failed error=%s", type(exc).__name__, exc_info=True)
            data = {"status": "error", "database": "unknown", "error": describe(exc)}
        uptime = round(time.monotonic() - request.app.state.started, 3)
        data.setdefault("status", "ok" if data.get("database", "ok") == "ok" else "error")
        data.setdefault("database", "ok")
        data.setdefault("venues", {})
        data.setdefault("uptime_s", uptime)
        data["version"] = version
        body = HealthOut.model_validate(data)
        code = 200 if body.status in ("ok", "degraded") else 503
        return JSONResponse(body.model_dump(mode="json"), status_code=code)

    health_doc: dict[str, Any] = {
        "response_model": HealthOut,
        "summary": "Health (no token)",
        "responses": {503: {"model": HealthOut, "description": "Not ready or failing."}},
        "tags": ["monitoring"],
    }
    app.add_api_route("/api/health", health, methods=["GET"], **health_doc)
    app.add_api_route("/api/live/health", health, methods=["GET"], **health_doc)

    @app.get(
        "/metrics",
        summary="Prometheus metrics (no token)",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}},
        tags=["monitoring"],
    )
    async def prometheus(request: Request) -> Response:
        current: Metrics = request.app.state.metrics
        return Response(current.render(), media_type=current.content_type)

    return app


# --- helpers -------------------------------------------------------------------------------


def _check_listed(instruments: InstrumentReference | None, key: str) -> None:
    """A 422 unless the reference knows the instrument and some venue lists it."""
    if instruments is None:
        return
    cid = CanonicalId.parse(key)  # OrderIn validated it
    try:
        listed = instruments.venues_listing(cid)
    except UnknownInstrumentError as exc:
        raise field_error("instrument_key", str(exc), "unknown_instrument") from None
    if not listed:
        raise field_error(
            "instrument_key",
            f"no venue lists {key!r} (known venues: {', '.join(instruments.venues())})",
            "unknown_instrument",
        )


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """An aware UTC time; a naive one is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


__all__ = [
    "MAX_BODY_BYTES",
    "QUIET_PATHS",
    "IdempotencyConflict",
    "OrderService",
    "RequestLogMiddleware",
    "ServiceUnavailable",
    "create_app",
]
