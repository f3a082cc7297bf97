"""Request and response bodies of the order API (the API's documentation: see ``/docs``).

Quantities and prices travel as **decimal strings** (``"0.015"``), never JSON numbers, so
no binary rounding happens anywhere between the caller and the venue. They are parsed to
``Decimal`` and serialised back without exponent (``"1000"``, not ``"1E+3"``).

Every validation error names its field (``quantity: must be > 0, got '0'``); the app turns
them into ``422`` responses with an :class:`ErrorOut` body.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from execution_core.algorithms.params import AlgorithmParamsError, parse_algorithm
from execution_core.errors import InvalidInstrumentIdError
from execution_core.instruments.ids import ANY_VENUE, KNOWN_VENUES, CanonicalId
from live_daemon.domain import Fill, OrderRecord, OrderRequest, OrderStatus

OPERATION_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
MAX_QUANTITY = Decimal("1e9")
MAX_PRICE = Decimal("1e12")
MAX_SIGNIFICANT_DIGITS = 18
MAX_DECIMAL_PLACES = 18
_MAX_DECIMAL_TEXT = 64
_DECIMAL_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

Side = Literal["BUY", "SELL"]
OrderType = Literal["MARKET", "LIMIT"]
ExecAlgorithmName = Literal["NORMAL", "TWAP", "VWAP", "ICEBERG"]


def decimal_text(value: Decimal) -> str:
    """``value`` as a plain decimal string: no exponent, no trailing zeros (``"1000"``)."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


DecimalStr = Annotated[
    Decimal,
    PlainSerializer(decimal_text, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "format": "decimal"}),
]
"""A decimal that serialises as a plain decimal string."""


def parse_decimal(value: Any, *, maximum: Decimal) -> Decimal:
    """Parse a decimal string: finite, > 0, <= ``maximum``, at most 18 significant digits
    and 18 decimal places. Raises ``PydanticCustomError`` (the caller's field is the loc)."""
    if isinstance(value, bool) or not isinstance(value, str):
        kind = "boolean" if isinstance(value, bool) else type(value).__name__
        raise PydanticCustomError(
            "decimal_string",
            'must be a decimal string such as "1.5" (JSON numbers lose precision), '
            "got {kind} {shown}",
            {"kind": kind, "shown": _show(value)},
        )
    if len(value) > _MAX_DECIMAL_TEXT:
        raise PydanticCustomError(
            "decimal_string",
            "must be a decimal string of at most {limit} characters, got {n}",
            {"limit": _MAX_DECIMAL_TEXT, "n": len(value)},
        )
    shown = repr(value)
    if not _DECIMAL_RE.fullmatch(value):
        try:
            special = not Decimal(value).is_finite()
        except (InvalidOperation, ValueError):
            special = False
        if special:
            raise PydanticCustomError(
                "decimal_finite", "must be a finite number, got {shown}", {"shown": shown}
            )
        raise PydanticCustomError(
            "decimal_string",
            'must be a decimal string such as "1.5", got {shown}',
            {"shown": shown},
        )
    number = Decimal(value)
    if number <= 0:
        raise PydanticCustomError("decimal_positive", "must be > 0, got {shown}", {"shown": shown})
    if number > maximum:
        raise PydanticCustomError(
            "decimal_max",
            "must be <= {maximum}, got {shown}",
            {"maximum": decimal_text(maximum), "shown": shown},
        )
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    trailing_zeros = len(text) - len(text.rstrip("0"))
    if len(text.strip("0")) > MAX_SIGNIFICANT_DIGITS:
        raise PydanticCustomError(
            "decimal_digits",
            "must have at most {n} significant digits, got {shown}",
            {"n": MAX_SIGNIFICANT_DIGITS, "shown": shown},
        )
    if -(exponent + trailing_zeros) > MAX_DECIMAL_PLACES:
        raise PydanticCustomError(
            "decimal_places",
            "must have at most {n} decimal places, got {shown}",
            {"n": MAX_DECIMAL_PLACES, "shown": shown},
        )
    return number


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _decimal_schema(description: str, examples: list[str]) -> dict[str, Any]:
    return {"type": "string", "format": "decimal", "description": description, "examples": examples}


# --- the order request ------------------------------------------------------------------

ORDER_EXAMPLE: dict[str, Any] = {
    "operation_id": "OP-12345",
    "instrument_key": "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
    "side": "BUY",
    "quantity": "1.0",
    "price": None,
    "order_type": "MARKET",
    "strategy_id": "momentum-btc-v1",
    "exec_algorithm": "TWAP",
    "exec_algorithm_params": {"duration_sec": 300, "max_slices": 10},
}


class OrderIn(BaseModel):
    """An order, as ``POST /api/orders`` takes it.

    ``operation_id`` is the idempotency key: sending the same body again returns the
    recorded order (``200``) and sends nothing; the same ``operation_id`` with a
    different body is a conflict (``409``).
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ORDER_EXAMPLE]})

    operation_id: str = Field(
        description="Idempotency key chosen by the caller: 1-64 characters of A-Z a-z 0-9 . _ : -",
        pattern=OPERATION_ID_PATTERN,
        min_length=1,
        max_length=64,
        examples=["OP-12345"],
    )
    instrument_key: str = Field(
        description="Canonical instrument ID `[ASSET_CLASS:]VENUE:INSTRUMENT_TYPE:PAYLOAD"
        "[@SUFFIX]`; the venue may be `ANY` to let the smart router choose.",
        min_length=1,
        max_length=256,
        examples=["BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN", "ANY:PERPETUAL:BTC-USDT@LIN"],
    )
    side: Side = Field(description="`BUY` or `SELL`.")
    quantity: Annotated[
        Decimal,
        WithJsonSchema(
            _decimal_schema(
                "Unsigned order quantity as a decimal string in the venue's size unit: "
                "finite, > 0, <= 1e9, at most 18 significant digits.",
                ["1.0", "0.015"],
            )
        ),
    ]
    order_type: OrderType = Field(description="`MARKET` or `LIMIT`.")
    price: Annotated[
        Decimal | None,
        WithJsonSchema(
            {
                "anyOf": [
                    _decimal_schema("Limit price as a decimal string (> 0).", ["65000.5"]),
                    {"type": "null"},
                ],
                "description": "Required (a decimal string > 0) for `LIMIT`; must be null "
                "or absent for `MARKET`.",
            }
        ),
    ] = Field(default=None, validate_default=True)
    strategy_id: str = Field(
        description="The strategy the order belongs to (risk limits and positions are "
        "kept per strategy).",
        min_length=1,
        max_length=128,
        examples=["momentum-btc-v1"],
    )
    exec_algorithm: ExecAlgorithmName = Field(
        default="NORMAL",
        description="Execution algorithm: `NORMAL` (one order at once), `TWAP`, `VWAP` or "
        "`ICEBERG`; null means `NORMAL`.",
    )
    exec_algorithm_params: dict[str, Any] = Field(
        default_factory=dict,
        description="The algorithm's parameters (null or absent: its defaults). TWAP: "
        "`duration_sec` (<= 300), `max_slices`; VWAP: also `profile` (`u_shape`, `flat` or "
        "weights); ICEBERG: `display_quantity`, `limit_offset_bps`, `duration_sec`. "
        "NORMAL takes none.",
        examples=[{"duration_sec": 300, "max_slices": 10}],
    )

    @field_validator("instrument_key")
    @classmethod
    def _canonical(cls, value: str) -> str:
        try:
            cid = CanonicalId.parse(value)
        except InvalidInstrumentIdError as exc:
            raise PydanticCustomError(
                "instrument_key", "{problem}", {"problem": str(exc)}
            ) from None
        if cid.venue != ANY_VENUE and cid.venue not in KNOWN_VENUES:
            raise PydanticCustomError(
                "instrument_venue",
                "unknown venue {venue} in {key}: expected one of {known} (or ANY)",
                {"venue": repr(cid.venue), "key": repr(value), "known": ", ".join(KNOWN_VENUES)},
            )
        return value

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value: Any) -> Decimal:
        return parse_decimal(value, maximum=MAX_QUANTITY)

    @field_validator("price", mode="before")
    @classmethod
    def _price(cls, value: Any, info: ValidationInfo) -> Decimal | None:
        order_type = info.data.get("order_type")
        if value is None:
            if order_type == "LIMIT":
                raise PydanticCustomError(
                    "price_required", "is required for a LIMIT order (a decimal string > 0)"
                )
            return None
        if order_type == "MARKET":
            raise PydanticCustomError(
                "price_forbidden",
                "must be null for a MARKET order (send order_type LIMIT to set a price), "
                "got {shown}",
                {"shown": _show(value)},
            )
        return parse_decimal(value, maximum=MAX_PRICE)

    @field_validator("strategy_id")
    @classmethod
    def _printable(cls, value: str) -> str:
        if _CONTROL_RE.search(value) or value != value.strip():
            raise PydanticCustomError(
                "strategy_id",
                "must not contain control characters or leading/trailing spaces, got {shown}",
                {"shown": _show(value)},
            )
        return value

    @field_validator("exec_algorithm", mode="before")
    @classmethod
    def _default_algorithm(cls, value: Any) -> Any:
        return "NORMAL" if value is None else value

    @field_validator("exec_algorithm_params", mode="before")
    @classmethod
    def _default_params(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("exec_algorithm_params")
    @classmethod
    def _algorithm_params(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        algorithm = info.data.get("exec_algorithm")
        if algorithm is None:  # the name itself was invalid: that error is enough
            return value
        try:
            parse_algorithm(algorithm, value)
        except AlgorithmParamsError as exc:
            raise PydanticCustomError(
                "exec_algorithm_params", "{problem}", {"problem": str(exc)}
            ) from None
        return value

    def to_request(self) -> OrderRequest:
        """The daemon's own (validated) order request."""
        return OrderRequest(
            operation_id=self.operation_id,
            instrument_key=self.instrument_key,
            side=self.side,
            quantity=self.quantity,
            order_type=self.order_type,
            strategy_id=self.strategy_id,
            price=self.price,
            exec_algorithm=self.exec_algorithm,
            exec_algorithm_params=dict(self.exec_algorithm_params),
        )


# --- responses ---------------------------------------------------------------------------

_OUT = ConfigDict(json_schema_serialization_defaults_required=True)


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


class OrderOut(BaseModel):
    """An order as the OMS records it. A risk rejection is a normal response with
    ``status`` ``REJECTED`` and a ``rejection_reason``, not an HTTP error."""

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


def fill_out(fill: Fill) -> FillOut:
    return FillOut(
        fill_id=fill.fill_id,
        quantity=fill.quantity,
        price=fill.price,
        fee=fill.fee,
        fee_currency=fill.fee_currency,
        liquidity_side=fill.liquidity_side,
        timestamp=fill.ts,
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
        side=record.side,  # type: ignore[arg-type]
        order_type=record.order_type,  # type: ignore[arg-type]
        quantity=record.quantity,
        price=record.price,
        exec_algorithm=record.exec_algorithm,
        exec_algorithm_params=dict(record.exec_algorithm_params),
        filled_quantity=record.filled_quantity,
        avg_fill_price=record.avg_fill_price,
        fills=[fill_out(f) for f in record.fills],
        created_at=record.created_at,
        updated_at=record.updated_at,
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


class HealthOut(BaseModel):
    """Liveness and readiness of the daemon (no token needed)."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="`ok`, `degraded` or `error` (`error` answers 503).")
    version: str = Field(description="The daemon's package version.")
    uptime_s: float = Field(description="Seconds since the API started.")
    database: str = Field(description="`ok`, or `error: …` when the OMS database fails.")
    venues: dict[str, Any] = Field(
        default_factory=dict, description="Per venue: its client's connection state."
    )


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


__all__ = [
    "ORDER_EXAMPLE",
    "DecimalStr",
    "ErrorOut",
    "FieldErrorOut",
    "FillOut",
    "HealthOut",
    "OrderIn",
    "OrderOut",
    "PositionOut",
    "decimal_text",
    "fill_out",
    "order_out",
    "parse_decimal",
]
