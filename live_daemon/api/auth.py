"""Bearer-token authentication of the order API.

The token is configured once (``create_app(..., token=...)``, kept in ``app.state.token``)
and compared in constant time. A missing or wrong token is a ``401`` with
``WWW-Authenticate: Bearer``. Health and metrics need no token.

:class:`AuthenticatedRoute` checks the token before FastAPI even reads the request body,
so an unauthenticated caller learns nothing about what a valid body looks like, and marks
its operations as needing :data:`BEARER_SCHEME` in OpenAPI (:func:`document_bearer_auth`
declares the scheme). It is not a FastAPI ``Security`` dependency on purpose: resolving
that dependency on every request cost almost half of the API's own time per order
(``bench/live_orders.py``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response, status
from fastapi.routing import APIRoute

BEARER_SCHEME = "BearerToken"
"""The OpenAPI name of the daemon's bearer-token scheme."""

_BEARER_SCHEME_DOC: dict[str, Any] = {
    "type": "http",
    "scheme": "bearer",
    "description": "The daemon's API token: `Authorization: Bearer <token>`.",
}


def _unauthorized(detail: str, error: str | None = None) -> HTTPException:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": challenge},
    )


def check_token(request: Request) -> None:
    """Raise ``401`` unless the request carries the configured bearer token."""
    expected: str = request.app.state.token
    header = request.headers.get("authorization")
    if not header:
        raise _unauthorized("missing bearer token: send the header 'Authorization: Bearer <token>'")
    scheme, _, supplied = header.partition(" ")
    if scheme.lower() != "bearer" or not supplied.strip():
        raise _unauthorized(
            "malformed Authorization header: expected 'Bearer <token>'", "invalid_request"
        )
    if not secrets.compare_digest(supplied.strip().encode(), expected.encode()):
        raise _unauthorized("invalid bearer token", "invalid_token")


class AuthenticatedRoute(APIRoute):
    """An API route that rejects unauthenticated requests before parsing their body
    (documented in OpenAPI as needing :data:`BEARER_SCHEME`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        extra = dict(kwargs.pop("openapi_extra", None) or {})
        extra.setdefault("security", [{BEARER_SCHEME: []}])
        super().__init__(path, endpoint, openapi_extra=extra, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            check_token(request)
            return await handler(request)

        return authenticated


def document_bearer_auth(app: FastAPI) -> None:
    """Declare :data:`BEARER_SCHEME` in ``app``'s OpenAPI components (the operations of
    :class:`AuthenticatedRoute` refer to it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # FastAPI caches it in app.openapi_schema
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[BEARER_SCHEME] = _BEARER_SCHEME_DOC
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


__all__ = [
    "BEARER_SCHEME",
    "AuthenticatedRoute",
    "check_token",
    "document_bearer_auth",
]
