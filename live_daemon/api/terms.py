"""The order API's fields beyond a trade's: the operation and its terms (requests), and
what the OMS records of them (responses). Re-exported by :mod:`live_daemon.api.models`.

Each field is checked against the order's ``operation`` by
:func:`~live_daemon.operations.term_problem` (a ``bet`` needs ``odds`` and a
``selection``, a ``transfer`` two different venues, a ``swap`` two different tokens, a
``trade`` none of them…); each problem is a 422 naming its field.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from live_daemon.api.fields import DecimalStr, _show, parse_decimal
from live_daemon.operations import (
    TERM_FIELDS,
    Operation,
    OrderTerms,
    TimeInForce,
    VenueType,
    term_problem,
)

MAX_ODDS = Decimal("1e6")
MAX_JSON_CHARS = 4096
MAX_DELTAS = 32
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_SIGNED_DECIMAL_RE = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{1,18})?")
_GROUP_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
_RULED = ("odds", "selection", "source_venue", "target_venue", "source_token", "target_token")
_RULED_DEFI = ("contract_address", "max_slippage")


def _optional_decimal(description: str, examples: list[str]) -> Any:
    schema = {"type": "string", "format": "decimal", "examples": examples}
    return WithJsonSchema({"anyOf": [schema, {"type": "null"}], "description": description})


def _text(description: str, examples: list[str]) -> Any:
    return Field(
        default=None,
        validate_default=True,
        min_length=1,
        max_length=256,
        description=description,
        examples=examples,
    )


class OrderTermsIn(BaseModel):
    """What an order does (``operation``) and the fields of that operation."""

    operation: Operation = Field(
        default=Operation.TRADE,
        description="`trade` (a venue-book order, the default), DeFi `supply`, `borrow`, "
        "`stake`, `withdraw`, `swap`, a `transfer` between venues, or a `bet`. A non-trade "
        "operation goes only to a venue that declares it supports it; otherwise the order "
        "is recorded REJECTED.",
    )
    time_in_force: TimeInForce = Field(
        default=TimeInForce.GTC,
        description="`GTC` (default), `IOC` or `FOK`; only venues declaring it take it.",
    )
    expected_deltas: dict[str, str] = Field(
        default_factory=dict,
        description="Expected balance change per asset, as signed decimal strings "
        '(e.g. `{"BTC": "-0.5", "USDT": "32000"}`); at most 32 assets.',
    )
    atomic_group_id: str | None = Field(
        default=None,
        pattern=_GROUP_ID_PATTERN,
        description="Orders that belong together share it; each then needs a `sequence_in_group`.",
    )
    sequence_in_group: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        validate_default=True,
        description="The order's place in its atomic group (0, 1, …); with `atomic_group_id` only.",
    )
    source_token: str | None = _text("DeFi: the token given (required for `swap`).", ["USDC"])
    target_token: str | None = _text("DeFi: the token received (required for `swap`).", ["ETH"])
    contract_address: str | None = _text("DeFi: the contract called.", ["0xabc…"])
    max_slippage: Annotated[
        Decimal | None,
        _optional_decimal("DeFi: the largest slippage accepted, a fraction in (0, 1).", ["0.005"]),
    ] = Field(default=None, validate_default=True)
    odds: Annotated[
        Decimal | None,
        _optional_decimal("Betting: decimal odds > 1 (required for `bet`).", ["2.5"]),
    ] = Field(default=None, validate_default=True)
    selection: str | None = _text("Betting: what is backed (required for `bet`).", ["HOME"])
    source_venue: str | None = _text("Transfer: from this venue (required).", ["BINANCE"])
    target_venue: str | None = _text("Transfer: to this venue (required, not the source).", ["OKX"])
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Free JSON kept with the order (at most 4096 characters serialised).",
    )

    @field_validator("operation", "time_in_force", mode="before")
    @classmethod
    def _default_when_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return Operation.TRADE if info.field_name == "operation" else TimeInForce.GTC
        return value

    @field_validator("expected_deltas", "metadata", mode="before")
    @classmethod
    def _empty_when_null(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("expected_deltas")
    @classmethod
    def _deltas(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_DELTAS:
            raise PydanticCustomError("expected_deltas", "at most {n} assets", {"n": MAX_DELTAS})
        for asset, amount in value.items():
            if not 1 <= len(asset) <= 64 or _CONTROL_RE.search(asset):
                raise PydanticCustomError(
                    "expected_deltas",
                    "asset names are 1-64 printable characters, got {shown}",
                    {"shown": _show(asset)},
                )
            if not _SIGNED_DECIMAL_RE.fullmatch(amount):
                raise PydanticCustomError(
                    "expected_deltas",
                    'the amount of {asset} must be a signed decimal string such as "-0.5", '
                    "got {shown}",
                    {"asset": repr(asset), "shown": _show(amount)},
                )
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            text = json.dumps(value, allow_nan=False, ensure_ascii=False)
            text.encode("utf-8")  # str fields are checked by pydantic; free JSON is not
        except ValueError:  # NaN, Infinity, or a lone surrogate (UnicodeEncodeError)
            raise PydanticCustomError(
                "metadata", "must be plain JSON in valid Unicode (no NaN, no lone surrogates)"
            ) from None
        if len(text) > MAX_JSON_CHARS:
            raise PydanticCustomError(
                "metadata", "must be at most {n} characters as JSON", {"n": MAX_JSON_CHARS}
            )
        if "\\u0000" in text:  # PostgreSQL's jsonb cannot store it
            raise PydanticCustomError("metadata", "must not contain NUL characters")
        return value

    @field_validator("odds", "max_slippage", mode="before")
    @classmethod
    def _decimal(cls, value: Any, info: ValidationInfo) -> Decimal | None:
        if value is None:
            return None
        return parse_decimal(value, maximum=MAX_ODDS if info.field_name == "odds" else Decimal(1))

    @field_validator(*_RULED, *_RULED_DEFI, "sequence_in_group")
    @classmethod
    def _per_operation(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name
        assert name is not None
        if isinstance(value, str) and (_CONTROL_RE.search(value) or value != value.strip()):
            raise PydanticCustomError(
                name,
                "must not contain control characters or leading/trailing spaces, got {shown}",
                {"shown": _show(value)},
            )
        if name == "sequence_in_group":
            return _group_sequence(value, info.data)
        operation = info.data.get("operation")
        if operation is None:  # the operation itself was invalid: that error is enough
            return value
        problem = term_problem(operation, name, value, info.data)
        if problem is not None:
            raise PydanticCustomError(name, "{problem}", {"problem": problem})
        return value

    def to_terms(self) -> OrderTerms:
        """The order's terms as the daemon keeps them."""
        return OrderTerms(**{name: getattr(self, name) for name in TERM_FIELDS})


def _group_sequence(value: int | None, data: dict[str, Any]) -> int | None:
    grouped = data.get("atomic_group_id") is not None
    if value is None and grouped:
        raise PydanticCustomError("sequence_in_group", "is required with atomic_group_id (0, 1, …)")
    if value is not None and not grouped and "atomic_group_id" in data:
        raise PydanticCustomError(
            "sequence_in_group", "is only for an order of an atomic group (atomic_group_id)"
        )
    return value


class OrderTermsOut(BaseModel):
    """The operation and its fields as the OMS records them (null when not set)."""

    operation: Operation
    venue_type: VenueType | None = Field(
        description="`NAUTILUS` or `EXTERNAL_SDK`: how the chosen venue is reached; null "
        "before routing."
    )
    time_in_force: TimeInForce
    expected_deltas: dict[str, str]
    atomic_group_id: str | None
    sequence_in_group: int | None
    tx_hash: str | None = Field(description="DeFi: the transaction, once the venue sent it.")
    gas_used: DecimalStr | None
    gas_price_gwei: DecimalStr | None
    contract_address: str | None
    source_token: str | None
    target_token: str | None
    max_slippage: DecimalStr | None
    odds: DecimalStr | None
    selection: str | None
    potential_payout: DecimalStr | None = Field(description="Betting: reported by the venue.")
    source_venue: str | None
    target_venue: str | None
    error_message: str | None = Field(description="The venue's own error text, if any.")
    metadata: dict[str, Any]


def terms_out(terms: OrderTerms) -> dict[str, Any]:
    """``OrderTermsOut``'s fields of ``terms`` (to build an ``OrderOut``)."""
    return {name: getattr(terms, name) for name in OrderTermsOut.model_fields}


__all__ = ["OrderTermsIn", "OrderTermsOut", "terms_out"]
