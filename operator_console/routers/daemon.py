"""``/daemon/{path}``: the live daemon's API, forwarded as it is.

The browser never talks to the daemon itself: it calls ``/daemon/api/…`` here with the
token in the ``Authorization`` header, and gets the daemon's status and body back. Only
what a request needs crosses (method, query, body, content type, authorization); a daemon
that cannot be reached is a 502 naming its URL.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from operator_console.dependencies import HttpDep, SettingsDep

router = APIRouter(tags=["daemon"])

FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "accept")
FORWARDED_RESPONSE_HEADERS = ("content-type", "www-authenticate", "retry-after")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@router.api_route("/daemon/{path:path}", methods=METHODS)
async def forward(path: str, request: Request, settings: SettingsDep, http: HttpDep) -> Response:
    url = f"{settings.daemon_url.rstrip('/')}/{path}"
    headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED_REQUEST_HEADERS}
    try:
        answer = await http.request(
            request.method,
            url,
            params=request.url.query or None,  # as sent, order and repeats kept
            content=await request.body(),
            headers=headers,
        )
    except httpx.HTTPError as exc:
        return JSONResponse(
            {"detail": f"the live daemon at {settings.daemon_url} cannot be reached: "
             f"{type(exc).__name__}: {exc}"},
            status_code=502,
        )  # fmt: skip
    kept = {k: v for k, v in answer.headers.items() if k.lower() in FORWARDED_RESPONSE_HEADERS}
    return Response(answer.content, status_code=answer.status_code, headers=kept)
