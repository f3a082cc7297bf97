"""Field types shared by the order API's requests and responses (:mod:`live_daemon.api.models`).

Quantities and prices travel as **decimal strings** (``"0.015"``), never JSON numbers, so
no binary rounding happens anywhere between the caller and the venue. They are parsed to
``Decimal`` (:func:`parse_decimal`) and serialised back without exponent (``"1000"``, not
``"1E+3"``: :func:`decimal_text`, :data:`DecimalStr`).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_SIGNIFICANT_DIGITS = 18
MAX_DECIMAL_PLACES = 18
_MAX_DECIMAL_TEXT = 64
_DECIMAL_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


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
