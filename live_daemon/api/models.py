"""Request and response bodies of the order API (the API's documentation: see ``/docs``).

This module holds the requests (:class:`OrderIn`); the responses are in
:mod:`live_daemon.api.responses`, the field types both share (decimal strings) in
:mod:`live_daemon.api.fields`, sides and order types in :mod:`execution_core.orders`.
Every name of those is re-exported here.

Quantities and prices travel as **decimal strings** (``"0.015"``), never JSON numbers
(:mod:`live_daemon.api.fields`). Every validation error names its field (``quantity: must
be > 0, got '0'``); the app turns them into ``422`` responses with an :class:`ErrorOut` body.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from execution_core.algorithms.params import AlgorithmParamsError, parse_algorithm
from execution_core.errors import InvalidInstrumentIdError
from execution_core.instruments.ids import ANY_VENUE, KNOWN_VENUES, CanonicalId
from execution_core.orders import OrderType, Side
from execution_core.signals.schema import ExecAlgorithm
from live_daemon.api.fields import (
    MAX_DECIMAL_PLACES,
    MAX_SIGNIFICANT_DIGITS,
    DecimalStr,
    _show,
    decimal_text,
    parse_decimal,
)
from live_daemon.api.responses import (
    ErrorOut,
    FieldErrorOut,
    FillOut,
    HealthOut,
    OrderOut,
    PositionOut,
    ReconciliationOut,
    fill_out,
    order_out,
)
from live_daemon.api.terms import OrderTermsIn, OrderTermsOut, terms_out
from live_daemon.domain import OrderRequest

OPERATION_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
MAX_QUANTITY = Decimal("1e9")
MAX_PRICE = Decimal("1e12")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


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


class OrderIn(OrderTermsIn):
    """An order, as ``POST /api/orders`` takes it: a trade unless ``operation`` says
    otherwise (its fields: :class:`~live_daemon.api.terms.OrderTermsIn`).

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
    exec_algorithm: ExecAlgorithm = Field(
        default=ExecAlgorithm.NORMAL,
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
            if order_type == OrderType.LIMIT:
                raise PydanticCustomError(
                    "price_required", "is required for a LIMIT order (a decimal string > 0)"
                )
            return None
        if order_type == OrderType.MARKET:
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
            terms=self.to_terms(),
        )


__all__ = [
    "MAX_DECIMAL_PLACES",
    "MAX_PRICE",
    "MAX_QUANTITY",
    "MAX_SIGNIFICANT_DIGITS",
    "OPERATION_ID_PATTERN",
    "ORDER_EXAMPLE",
    "DecimalStr",
    "ErrorOut",
    "FieldErrorOut",
    "FillOut",
    "HealthOut",
    "OrderIn",
    "OrderOut",
    "OrderTermsIn",
    "OrderTermsOut",
    "OrderType",
    "PositionOut",
    "ReconciliationOut",
    "Side",
    "decimal_text",
    "fill_out",
    "order_out",
    "parse_decimal",
    "terms_out",
]
