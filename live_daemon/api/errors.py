"""How the API answers errors: a JSON body shaped like :class:`~live_daemon.api.models.ErrorOut`
(its ``detail`` names the field at fault), never a bare 500 page.

- :func:`service_errors` maps what the orchestrator raises to HTTP answers (409 idempotency
  conflict, 503 with ``Retry-After``, 422 naming the field, 500 with the error's name);
- :func:`field_error` is a 422 for one field (:class:`FieldErrors`, several);
- the handlers :func:`add_error_handlers` installs turn request validation errors into
  400 (malformed JSON), 415 (not JSON) or 422 (one entry per invalid field), and
  :class:`FieldErrors` into their ``ErrorOut``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from execution_core.algorithms.params import AlgorithmParamsError
from execution_core.errors import InvalidInstrumentIdError, UnknownInstrumentError
from live_daemon.api.models import ErrorOut, FieldErrorOut, OrderIn
from live_daemon.api.ports import IdempotencyConflict, ServiceUnavailable
from live_daemon.oms.errors import is_database_unavailable

log = logging.getLogger("live_daemon.api")


def add_error_handlers(app: FastAPI) -> None:
    """Answer request validation errors and :class:`FieldErrors` with an ``ErrorOut``."""
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(FieldErrors, field_errors_handler)


def unknown_operation(operation_id: str) -> HTTPException:
    """The 404 of an ``operation_id`` no order has."""
    return HTTPException(404, f"unknown operation_id {operation_id!r}")


def field_error(field: str, message: str, kind: str = "value_error") -> HTTPException:
    """A 422 naming ``field``, shaped like a request validation error."""
    return FieldErrors([FieldErrorOut(field=field, message=message, type=kind)])


class FieldErrors(HTTPException):
    """Field errors found after validation (answered by :func:`field_errors_handler`)."""

    def __init__(self, errors: list[FieldErrorOut], status_code: int = 422) -> None:
        super().__init__(status_code, "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def describe(exc: BaseException) -> str:
    """``Type: message``, cut at 300 characters, for error details and health."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:300] + "…"


@contextmanager
def service_errors(operation: str) -> Iterator[None]:
    """Turn what the orchestrator raises into HTTP answers (never a bare 500 page)."""
    try:
        yield
    except HTTPException:
        raise
    except IdempotencyConflict as exc:
        raise HTTPException(409, str(exc) or "operation_id already used") from None
    except ServiceUnavailable as exc:
        raise HTTPException(
            503, str(exc) or "the daemon is not ready", headers={"Retry-After": "1"}
        ) from None
    except (UnknownInstrumentError, InvalidInstrumentIdError) as exc:
        raise field_error("instrument_key", str(exc), "instrument_key") from None
    except AlgorithmParamsError as exc:
        raise field_error("exec_algorithm_params", str(exc), "exec_algorithm_params") from None
    except Exception as exc:
        if is_database_unavailable(exc):  # nothing was recorded; the client may retry
            log.warning("api_database_unavailable operation=%s error=%s", operation, describe(exc))
            raise HTTPException(
                503,
                f"the OMS database is unreachable ({describe(exc)}); nothing was recorded",
                headers={"Retry-After": "1"},
            ) from None
        log.exception("api_error operation=%s", operation)
        raise HTTPException(500, f"internal error in {operation}: {describe(exc)}") from None


def _show(value: Any) -> str | None:
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
        return text if len(text) <= 40 else text[:40] + "…"
    return None


def _field_errors(exc: RequestValidationError, path: str) -> tuple[int, list[FieldErrorOut]]:
    """Status and one entry per error, each naming its field."""
    out: list[FieldErrorOut] = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = str(err.get("type", "value_error"))
        where = str(loc[0]) if loc else "body"
        raw = err.get("input")
        if kind == "json_invalid":
            doc = exc.body if isinstance(exc.body, str) else ""
            pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
            line = doc.count("\n", 0, pos) + 1
            column = pos - (doc.rfind("\n", 0, pos) + 1) + 1
            problem = (err.get("ctx") or {}).get("error", "invalid JSON")
            message = f"malformed JSON: {problem} at line {line} column {column}"
            return 400, [FieldErrorOut(field="body", message=message, type=kind)]
        field = ".".join(str(p) for p in loc[1:]) or where
        if field == "body" and isinstance(raw, bytes | bytearray):
            message = "must be a JSON object sent with 'Content-Type: application/json'"
            return 415, [FieldErrorOut(field="body", message=message, type="content_type")]
        if kind == "missing":
            message = "a JSON object is required" if field == "body" else "is required"
        elif kind == "extra_forbidden":
            message = "unknown field"
            if path.rstrip("/") == "/api/orders":
                message += f" (the fields are: {', '.join(OrderIn.model_fields)})"
        elif field == "body" and kind in ("model_attributes_type", "dict_type"):
            message = f"must be a JSON object, got {type(raw).__name__}"
        else:
            message = str(err.get("msg", "is invalid"))
            if message[:2].istitle():  # pydantic's own "Input should be …"
                message = message[:1].lower() + message[1:]
            shown = _show(raw)
            if "got " not in message and shown is not None and kind not in _NO_INPUT:
                message += f", got {shown}"
        out.append(FieldErrorOut(field=field, message=message, type=kind))
    return 422, out


_NO_INPUT = frozenset({"price_required"})


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    status, errors = _field_errors(exc, request.url.path)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "invalid request"
    return JSONResponse(
        ErrorOut(detail=detail, errors=errors).model_dump(mode="json"), status_code=status
    )


async def field_errors_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FieldErrors)
    body = ErrorOut(detail=str(exc.detail), errors=exc.errors)
    return JSONResponse(body.model_dump(mode="json"), status_code=exc.status_code)
