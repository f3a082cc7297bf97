"""Bearer-token authentication of the order API.

The token is configured once (``create_app(..., token=...)``, kept in ``app.state.token``)
and compared in constant time. A missing or wrong token is a ``401`` with
``WWW-Authenticate: Bearer``. Health and metrics need no token.

:class:`AuthenticatedRoute` checks the token before FastAPI even reads the request body,
so an unauthenticated caller learns nothing about what a valid body looks like; the
:func:`require_token` dependency does the same check and documents the scheme in OpenAPI.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import HTTPException, Request, Response, Security, status
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="The daemon's API token: `Authorization: Bearer <token>`.",
)


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


async def require_token(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
) -> None:
    """FastAPI dependency: the request must carry the configured bearer token."""
    check_token(request)


class AuthenticatedRoute(APIRoute):
    """An API route that rejects unauthenticated requests before parsing their body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            check_token(request)
            return await handler(request)

        return authenticated


__all__ = ["AuthenticatedRoute", "bearer_scheme", "check_token", "require_token"]
