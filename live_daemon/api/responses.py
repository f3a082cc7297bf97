"""Response bodies of the order API (re-exported by :mod:`live_daemon.api.models`).

Decimals are serialised as plain decimal strings (:data:`~live_daemon.api.fields.DecimalStr`);
every non-2xx response has an :class:`ErrorOut` body.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from execution_core.orders import OrderType, Side
from live_daemon.api.fields import DecimalStr
from live_daemon.api.terms import OrderTermsOut, terms_out
from live_daemon.display import fill_text, order_text, position_text
from live_daemon.domain import Fill, OrderRecord, OrderStatus

_OUT = ConfigDict(json_schema_serialization_defaults_required=True)
TRADE_TERMS_EXAMPLE: dict[str, Any] = {
    "operation": "trade",
    "venue_type": "NAUTILUS",
    "time_in_force": "GTC",
    "expected_deltas": {},
    "metadata": {},
    **dict.fromkeys(
        (
            "atomic_group_id", "sequence_in_group", "tx_hash", "gas_used", "gas_price_gwei",
            "contract_address", "source_token", "target_token", "max_slippage", "odds",
            "selection", "potential_payout", "source_venue", "target_venue", "error_message",
        )
    ),
}  # fmt: skip


class FillOut(BaseModel):
    """One execution of (part of) an order at a venue."""

    model_config = _OUT

    fill_id: str = Field(description="The venue's (or paper venue's) fill ID.")
    quantity: DecimalStr = Field(description="Filled quantity (decimal string).")
    price: DecimalStr = Field(description="Fill price (decimal string).")
    fee: DecimalStr = Field(description="Fee paid (negative: rebate), decimal string.")
    fee_currency: str = Field(description="Currency of the fee.")
    liquidity_side: str = Field(description="`MAKER` or `TAKER`.")
    timestamp: dt.datetime = Field(description="When the fill happened (UTC, ISO 8601).")
    text: str = Field(description="The line `exec-cli` prints for this fill.")


class OrderOut(OrderTermsOut):
    """An order as the OMS records it, with its operation and that operation's fields. A
    risk or routing rejection is a normal response with ``status`` ``REJECTED`` and a
    ``rejection_reason``, not an HTTP error."""

    model_config = ConfigDict(
        json_schema_serialization_defaults_required=True,
        json_schema_extra={
            "examples": [
                {
                    "operation_id": "OP-12345",
                    "order_id": "0f5c6f0e-5b3c-4a57-9d7e-2b0c1f9f7a10",
                    "status": "SUBMITTED",
                    "rejection_reason": None,
                    "venue": "BYBIT:PERPETUAL:BTC-USDT@LIN",
                    "instrument_key": "ANY:PERPETUAL:BTC-USDT@LIN",
                    "strategy_id": "momentum-btc-v1",
                    "side": "BUY",
                    "order_type": "MARKET",
                    "quantity": "1",
                    "price": None,
                    "exec_algorithm": "TWAP",
                    "exec_algorithm_params": {"duration_sec": 300, "max_slices": 10},
                    "filled_quantity": "0",
                    "avg_fill_price": None,
                    "fills": [],
                    "created_at": "2025-01-15T10:00:00.000123Z",
                    "updated_at": "2025-01-15T10:00:00.004567Z",
                    "text": "OP-12345  SUBMITTED  BUY 1 ANY:PERPETUAL:BTC-USDT@LIN → "
                    "BYBIT:PERPETUAL:BTC-USDT@LIN  MARKET  filled 0  TWAP",
                    **TRADE_TERMS_EXAMPLE,
                }
            ]
        },
    )

    operation_id: str = Field(description="The caller's idempotency key.")
    order_id: str = Field(description="The OMS's own order ID.")
    status: OrderStatus = Field(
        description="RECEIVED, ACCEPTED, SUBMITTED, PARTIALLY_FILLED, FILLED, CANCELED or "
        "REJECTED (the last three are final)."
    )
    rejection_reason: str | None = Field(
        description="Why the order was rejected (risk, routing or venue), else null."
    )
    venue: str | None = Field(
        description="The venue listing the router chose (a canonical ID), null before routing."
    )
    instrument_key: str = Field(description="The instrument as requested (venue may be ANY).")
    strategy_id: str
    side: Side
    order_type: OrderType
    quantity: DecimalStr = Field(description="Requested quantity (decimal string).")
    price: DecimalStr | None = Field(description="Limit price (decimal string) or null.")
    exec_algorithm: str
    exec_algorithm_params: dict[str, Any]
    filled_quantity: DecimalStr = Field(description="Quantity filled so far (decimal string).")
    avg_fill_price: DecimalStr | None = Field(
        description="Volume-weighted average fill price (decimal string), null before a fill."
    )
    fills: list[FillOut] = Field(description="The order's fills, oldest first.")
    created_at: dt.datetime
    updated_at: dt.datetime
    text: str = Field(description="The line `exec-cli` prints for this order.")


def fill_out(fill: Fill) -> FillOut:
    return FillOut(
        fill_id=fill.fill_id,
        quantity=fill.quantity,
        price=fill.price,
        fee=fill.fee,
        fee_currency=fill.fee_currency,
        liquidity_side=fill.liquidity_side,
        timestamp=fill.ts,
        text=fill_text(
            fill_id=fill.fill_id, quantity=fill.quantity, price=fill.price, fee=fill.fee, ts=fill.ts
        ),
    )


def order_out(record: OrderRecord) -> OrderOut:
    """The API's view of an OMS row."""
    return OrderOut(
        operation_id=record.operation_id,
        order_id=record.order_id,
        status=record.status,
        rejection_reason=record.rejection_reason,
        venue=record.venue_key,
        instrument_key=record.instrument_key,
        strategy_id=record.strategy_id,
        side=record.side,
        order_type=record.order_type,
        quantity=record.quantity,
        price=record.price,
        exec_algorithm=record.exec_algorithm,
        exec_algorithm_params=dict(record.exec_algorithm_params),
        filled_quantity=record.filled_quantity,
        avg_fill_price=record.avg_fill_price,
        fills=[fill_out(f) for f in record.fills],
        created_at=record.created_at,
        updated_at=record.updated_at,
        text=order_text(
            operation_id=record.operation_id,
            status=str(record.status),
            side=str(record.side),
            quantity=record.quantity,
            instrument_key=record.instrument_key,
            venue=record.venue_key,
            order_type=str(record.order_type),
            price=record.price,
            filled_quantity=record.filled_quantity,
            avg_fill_price=record.avg_fill_price,
            exec_algorithm=record.exec_algorithm,
            rejection_reason=record.rejection_reason,
        ),
        **terms_out(record.terms),
    )


class PositionOut(BaseModel):
    """A position: per strategy and venue listing (``scope`` ``venue``) or summed across
    venues and strategies per venue-less instrument (``scope`` ``aggregate``). Quantities
    are signed decimal strings (negative: short). Fields the tracker adds beyond these are
    passed through."""

    model_config = ConfigDict(extra="allow")

    scope: str | None = Field(default=None, description="`venue` or `aggregate`.")
    strategy_id: str | None = Field(default=None, description="Per-venue rows only.")
    instrument_key: str | None = Field(
        default=None, description="The concrete canonical ID (per-venue rows only)."
    )
    venue_key: str | None = Field(default=None, description="Per-venue rows only.")
    canonical_key: str | None = Field(
        default=None, description="The venue-less instrument, e.g. `PERPETUAL:BTC-USDT@LIN`."
    )
    quantity: DecimalStr | None = Field(default=None, description="Signed net quantity.")
    avg_entry_price: DecimalStr | None = None
    realized_pnl: DecimalStr | None = None
    unrealized_pnl: DecimalStr | None = None
    fees: DecimalStr | None = None
    venues: dict[str, DecimalStr] | None = Field(
        default=None, description="Aggregate rows: signed quantity per venue listing."
    )
    strategies: dict[str, DecimalStr] | None = Field(
        default=None, description="Aggregate rows: signed quantity per strategy."
    )
    instruments: list[str] | None = Field(
        default=None, description="Aggregate rows: the concrete instrument keys summed."
    )
    updated_at: dt.datetime | None = None
    text: str = Field(default="", description="The line `exec-cli` prints for this row.")


def position_out(row: dict[str, Any]) -> PositionOut:
    """A tracker row as the API answers it, with its line of text."""
    return PositionOut.model_validate({**row, "text": position_text(row)})


class LogEntryOut(BaseModel):
    """One line of the execution log: an order accepted (routed to a venue) or rejected
    (by risk, routing or the venue), with the reason."""

    model_config = _OUT

    event_id: int = Field(description="Cursor: ask again with `after` = the last one seen.")
    ts: dt.datetime
    outcome: str = Field(description="`accepted` or `rejected`.")
    operation_id: str
    order_id: str
    strategy_id: str
    instrument_key: str
    venue: str | None
    side: Side
    quantity: DecimalStr
    reason: str | None = Field(description="Why it was rejected, else null.")
    text: str = Field(description="The line `exec-cli logs` prints.")


class ExecutionLogOut(BaseModel):
    """Execution-log entries after a cursor, oldest first."""

    entries: list[LogEntryOut]
    last_event_id: int | None = Field(
        description="The newest entry's event_id (poll with `after` = this), null when none."
    )


class TimelineEventOut(BaseModel):
    """One step of an order's life, as the OMS logged it."""

    event_id: int
    ts: dt.datetime
    kind: str = Field(
        description="submitted, risk, routed, acknowledged, filled, cancelled, rejected or "
        "recovered."
    )
    detail: dict[str, Any] = Field(
        description="The risk result (`risk`), the routing decision with each venue's "
        "scores (`routed`), the venue order id (`acknowledged`), the fill (`filled`)…"
    )


class TimelineOut(BaseModel):
    """An order's timeline, oldest first."""

    operation_id: str
    order_id: str
    events: list[TimelineEventOut]


class HealthOut(BaseModel):
    """Liveness and readiness of the daemon (no token needed)."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="`ok`, `degraded` or `error` (`error` answers 503).")
    version: str = Field(description="The daemon's package version.")
    uptime_s: float = Field(description="Seconds since the API started.")
    database: str = Field(description="`ok`, or `error: …` when the OMS database fails.")
    venues: dict[str, Any] = Field(
        default_factory=dict,
        description="Per venue connection (`paper`): connected, endpoint, quote ages…",
    )
    instance: dict[str, Any] | None = Field(
        default=None,
        description="This daemon: instance_id, pid, host, version, started_at, last_beat "
        "(as in its `daemon_heartbeat` row), owns_database.",
    )
    orders: int | None = Field(default=None, description="Orders in the OMS.")
    fills: int | None = Field(default=None, description="Fills in the OMS.")


class SettlementOut(BaseModel):
    kind: str = Field(description="`fill_applied` or `status_resolved`.")
    order_id: str
    venue_key: str | None = None
    fill_id: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ReconciliationOut(BaseModel):
    """What the daemon settled against the venues' own record, and that record as columns
    (one list per field, quantities in base units as decimal strings)."""

    read_at: str | None = Field(description="When the venue record was read (ISO 8601 UTC).")
    venues: dict[str, Any] = Field(description="Per venue connection: connected, endpoint…")
    unreachable: list[str] = Field(
        description="Venue connections that could not be read: a run must not report them "
        "as matching."
    )
    errors: dict[str, str] = Field(description="Why each unreachable venue could not be read.")
    settled: list[SettlementOut] = Field(description="What the daemon repaired in the OMS.")
    orders: dict[str, list[str | None]] = Field(
        description="order_id, venue_key, status, quantity, filled_quantity"
    )
    fills: dict[str, list[str | None]] = Field(
        description="fill_id, order_id, venue_key, quantity, price, fee, ts"
    )
    positions: dict[str, list[str | None]] = Field(description="venue_key, quantity (signed)")


class FieldErrorOut(BaseModel):
    field: str = Field(description="The offending field (`quantity`, `query.limit`, `body`).")
    message: str
    type: str = Field(description="Machine-readable error code.")


class ErrorOut(BaseModel):
    """Every non-2xx response."""

    detail: str = Field(description="What went wrong, naming the field where there is one.")
    errors: list[FieldErrorOut] | None = Field(
        default=None, description="One entry per invalid field (validation errors only)."
    )
