"""``/api/orders``: submit (idempotent on ``operation_id``), read, cancel, list with
filters and search, and an order's timeline."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path, Query, Response

from execution_core.errors import UnknownInstrumentError
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference
from live_daemon.api.deps import Instruments, Orchestrator
from live_daemon.api.errors import field_error, service_errors, unknown_operation
from live_daemon.api.limits import DEFAULT_LIST_LIMIT, MAX_BODY_BYTES, MAX_LIST_LIMIT
from live_daemon.api.models import OPERATION_ID_PATTERN, ErrorOut, OrderIn, OrderOut, order_out
from live_daemon.api.responses import TimelineEventOut, TimelineOut
from live_daemon.api.routers.base import ERROR_RESPONSES, protected_router
from live_daemon.domain import OrderStatus

router = protected_router("orders")

OperationId = Annotated[
    str,
    Path(
        pattern=OPERATION_ID_PATTERN,
        description="The order's idempotency key.",
        examples=["OP-12345"],
    ),
]
_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "Unknown operation_id."}
}


@router.post(
    "",
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
        409: {"model": ErrorOut, "description": "operation_id already used with a different body."},
        413: {
            "content": {"text/plain": {}},
            "description": f"Body over {MAX_BODY_BYTES} bytes (plain text).",
        },
        415: {"model": ErrorOut, "description": "Body is not JSON."},
        422: ERROR_RESPONSES[422],
    },
)
async def submit_order(
    order: OrderIn, orchestrator: Orchestrator, instruments: Instruments
) -> Response:
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


@router.get(
    "/{operation_id}",
    response_model=OrderOut,
    summary="One order with its fills",
    responses=_UNKNOWN,
)
async def get_order(operation_id: OperationId, orchestrator: Orchestrator) -> OrderOut:
    with service_errors("get"):
        record = await orchestrator.get(operation_id)
    if record is None:
        raise unknown_operation(operation_id)
    return order_out(record)


@router.get(
    "/{operation_id}/timeline",
    response_model=TimelineOut,
    summary="An order's timeline",
    description="Its event log, oldest first: submitted → risk (the result) → routed (the "
    "decision with each venue's scores) → acknowledged (the venue order id) → fills → final.",
    responses=_UNKNOWN,
)
async def get_timeline(operation_id: OperationId, orchestrator: Orchestrator) -> TimelineOut:
    with service_errors("timeline"):
        found = await orchestrator.timeline(operation_id)
    if found is None:
        raise unknown_operation(operation_id)
    record, events = found
    return TimelineOut(
        operation_id=record.operation_id,
        order_id=record.order_id,
        events=[TimelineEventOut.model_validate(event) for event in events],
    )


@router.delete(
    "/{operation_id}",
    response_model=OrderOut,
    summary="Cancel an order",
    description="Asks the venue to cancel; returns the order as it stands (the "
    "cancellation shows as status CANCELED once the venue confirms; a final order is "
    "returned unchanged).",
    responses=_UNKNOWN,
)
async def cancel_order(operation_id: OperationId, orchestrator: Orchestrator) -> OrderOut:
    with service_errors("cancel"):
        record = await orchestrator.cancel(operation_id)
    if record is None:
        raise unknown_operation(operation_id)
    return order_out(record)


@router.get(
    "",
    response_model=list[OrderOut],
    summary="Orders, newest first, filtered",
    responses={422: ERROR_RESPONSES[422]},
)
async def list_orders(
    orchestrator: Orchestrator,
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
    q: Annotated[
        str | None,
        Query(max_length=128, description="A part of the operation id or the order id."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIST_LIMIT, description="At most this many orders.")
    ] = DEFAULT_LIST_LIMIT,
) -> list[OrderOut]:
    since, until = utc(since), utc(until)
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
            search=q or None,
            limit=limit,
        )
    return [order_out(r) for r in records]


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


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """An aware UTC time; a naive one is taken as UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
