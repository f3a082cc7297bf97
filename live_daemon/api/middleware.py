"""The API's request log: one line and one ``http_requests_total`` count per request.

Pure ASGI, so the body is never buffered; it only watches the response's start for the
status. Successful health and metrics requests (:data:`QUIET_PATHS`) log at DEBUG.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from live_daemon.metrics import Metrics

log = logging.getLogger("live_daemon.api")

QUIET_PATHS = frozenset({"/api/health", "/api/live/health", "/metrics"})
"""Polled by supervisors: their request logs are DEBUG, not INFO."""


class RequestLogMiddleware:
    """One log line and one ``http_requests_total`` count per request: method, path,
    status, duration_ms (pure ASGI, no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            path = scope.get("path", "")
            method = scope.get("method", "")
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
            if log.isEnabledFor(level):
                log.log(
                    level,
                    "http_request method=%s path=%s status=%d duration_ms=%.2f",
                    method,
                    path,
                    status,
                    duration_ms,
                )
            app = scope.get("app")
            metrics = getattr(getattr(app, "state", None), "metrics", None)
            if isinstance(metrics, Metrics):
                metrics.http_request(method, route, status)
