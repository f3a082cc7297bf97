"""JSON-RPC 2.0 as Deribit speaks it: envelopes, encoding, and the parser of incoming frames.

Deribit takes named params only, and every request carries an ``id`` (a request without one
is rejected). A reply carries ``result`` or ``error``, plus ``usIn``/``usOut``/``usDiff``.
The server pushes two kinds of notification (a request without ``id``): ``subscription``
(``params: {channel, data}``) and ``heartbeat`` (``params: {type}``; ``test_request`` must be
answered with ``public/test``). :func:`parse_frame` serves both ends: the client parses
replies and notifications, the stand-in parses requests.
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from live_daemon.venues.deribit.errors import DeribitError

JSONRPC = "2.0"
RequestId = int | str


class ProtocolError(ValueError):
    """A frame that is not a valid Deribit JSON-RPC message; the text names what is wrong."""


class _Envelope(BaseModel):
    # unknown top-level members (Deribit adds e.g. "testnet") are kept, not rejected
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    jsonrpc: Literal["2.0"] = "2.0"


class Request(_Envelope):
    model_config = ConfigDict(extra="forbid")

    id: RequestId
    method: str = Field(min_length=1)
    # a dict, never a list: Deribit accepts named params only
    params: dict[str, Any] = Field(default_factory=dict)


class _Timed(_Envelope):
    # microsecond timestamps: request in, reply out, and their difference
    us_in: int | None = Field(default=None, alias="usIn")
    us_out: int | None = Field(default=None, alias="usOut")
    us_diff: int | None = Field(default=None, alias="usDiff")


class Response(_Timed):
    """A success reply to request ``id``; ``result`` is parsed by the caller (messages)."""

    id: RequestId
    result: Any


class ErrorBody(BaseModel):
    code: int
    message: str
    data: Any = None


class ErrorResponse(_Timed):
    # JSON-RPC allows a null id when the request itself could not be read
    id: RequestId | None = None
    error: ErrorBody

    def exception(self) -> DeribitError:
        return DeribitError(self.error.code, self.error.message, self.error.data)


class SubscriptionParams(BaseModel):
    channel: str = Field(min_length=1)
    data: Any


class Notification(_Envelope):
    method: Literal["subscription"] = "subscription"
    params: SubscriptionParams


class HeartbeatType(StrEnum):
    heartbeat = "heartbeat"
    # the server asks for a sign of life: answer with public/test, or it closes the connection
    test_request = "test_request"


class HeartbeatParams(BaseModel):
    type: HeartbeatType


class Heartbeat(_Envelope):
    method: Literal["heartbeat"] = "heartbeat"
    params: HeartbeatParams


Frame = Request | Response | ErrorResponse | Notification | Heartbeat


def loads(raw: str | bytes) -> Any:
    """JSON with every non-integer number as a Decimal, so 0.1 stays Decimal('0.1')."""
    return json.loads(raw, parse_float=Decimal)


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        # JSON has one number type; Deribit reads it as a double. Refuse a Decimal that a
        # double cannot carry exactly as written, rather than send a different price.
        as_float = float(value)
        if Decimal(repr(as_float)) != value and value != value.to_integral_value():
            raise ValueError(f"{value} cannot be sent as a JSON number without loss")
        return int(value) if value == value.to_integral_value() else as_float
    if isinstance(value, StrEnum):
        return value.value
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(message: BaseModel | dict[str, Any]) -> str:
    """The wire text of a message; Decimals become JSON numbers."""
    body = (
        message.model_dump(by_alias=True, exclude_none=True)
        if isinstance(message, BaseModel)
        else message
    )
    return json.dumps(body, default=_default, separators=(",", ":"))


def request(id: RequestId, method: str, params: dict[str, Any] | None = None) -> Request:
    return Request(id=id, method=method, params=params or {})


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "frame"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def _model(kind: type[BaseModel], body: dict[str, Any], what: str) -> Any:
    try:
        return kind.model_validate(body)
    except ValidationError as exc:
        raise ProtocolError(f"malformed {what}: {_describe(exc)}") from None


def parse_frame(raw: str | bytes | dict[str, Any]) -> Frame:
    """Classify one incoming frame, or raise :class:`ProtocolError` naming what is wrong."""
    if isinstance(raw, str | bytes):
        try:
            body = loads(raw)
        except ValueError as exc:
            raise ProtocolError(f"frame is not JSON: {exc}") from None
    else:
        body = raw
    if isinstance(body, list):
        raise ProtocolError("batch frames are not supported by Deribit: send one request")
    if not isinstance(body, dict):
        raise ProtocolError(f"frame must be a JSON object, got {type(body).__name__}")
    if body.get("jsonrpc") != JSONRPC:
        raise ProtocolError(f"jsonrpc must be '2.0', got {body.get('jsonrpc')!r}")
    if "method" in body:
        method = body["method"]
        if "id" in body:
            if "params" in body and not isinstance(body["params"], dict):
                raise ProtocolError("params must be an object: Deribit takes named params only")
            return _model(Request, body, f"request {method!r}")
        if method == "subscription":
            return _model(Notification, body, "subscription notification")
        if method == "heartbeat":
            return _model(Heartbeat, body, "heartbeat")
        raise ProtocolError(
            f"request {method!r} has no id (Deribit rejects requests without one), "
            "and it is not a known notification (subscription, heartbeat)"
        )
    has_result, has_error = "result" in body, "error" in body
    if has_result and has_error:
        raise ProtocolError("reply carries both result and error")
    if has_error:
        return _model(ErrorResponse, body, "error reply")
    if has_result:
        if "id" not in body:
            raise ProtocolError("reply has a result but no id")
        return _model(Response, body, "reply")
    raise ProtocolError("frame has neither method, result nor error")
