"""The daemon's REST API: ``create_app`` (routes, auth, errors), the request/response
models (the API's documentation) and the ``OrderService`` protocol it calls."""

from live_daemon.api.app import create_app
from live_daemon.api.models import ErrorOut, HealthOut, OrderIn, OrderOut, PositionOut, order_out
from live_daemon.api.ports import IdempotencyConflict, OrderService, ServiceUnavailable

__all__ = [
    "ErrorOut",
    "HealthOut",
    "IdempotencyConflict",
    "OrderIn",
    "OrderOut",
    "OrderService",
    "PositionOut",
    "ServiceUnavailable",
    "create_app",
    "order_out",
]
