"""What every token-protected resource router shares: the bearer-token route class and
the error answers it documents (OpenAPI ``responses``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from live_daemon.api.auth import AuthenticatedRoute
from live_daemon.api.responses import ErrorOut

API_PREFIX = "/api"
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in {
        401: "Missing or invalid bearer token.",
        422: "Invalid field: `detail` names it, `errors` lists every one.",
        503: "The daemon is starting, stopping or cannot reach its database.",
    }.items()
}


def protected_router(resource: str) -> APIRouter:
    """The router of ``/api/<resource>``: every route needs the bearer token, and its 401,
    422 and 503 answers are the project's own error body. The full path is the router's
    own prefix (not a parent's), so a route's template — the request metrics' label — is
    the path a client calls."""
    return APIRouter(
        prefix=f"{API_PREFIX}/{resource}",
        tags=[resource],
        route_class=AuthenticatedRoute,
        responses={code: ERROR_RESPONSES[code] for code in (401, 422, 503)},
    )
