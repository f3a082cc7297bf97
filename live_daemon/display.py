"""How an order, a fill, a position and an execution-log entry read as one line of text.

One formatter for every surface: the API puts each line in the ``text`` field of what it
answers, ``exec-cli`` prints those lines, and the web UI shows them, so the three never
disagree. Plain functions of plain values; decimals are written without exponent or
trailing zeros (``0.05``, not ``5E-2`` or ``0.0500``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

SEPARATOR = "  "


def number(value: Decimal | str | int | None) -> str:
    """A decimal as people write it: ``Decimal('0.0500')`` → ``0.05``; ``None`` → ``-``."""
    if value is None:
        return "-"
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


def timestamp(moment: dt.datetime | None) -> str:
    """UTC, to the millisecond: ``2025-01-15T10:00:00.004Z``."""
    if moment is None:
        return "-"
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def order_text(
    *,
    operation_id: str,
    status: str,
    side: str,
    quantity: Decimal,
    instrument_key: str,
    venue: str | None,
    order_type: str,
    price: Decimal | None,
    filled_quantity: Decimal,
    avg_fill_price: Decimal | None,
    exec_algorithm: str,
    rejection_reason: str | None,
) -> str:
    """``OP-1  FILLED  BUY 0.05 ANY:PERPETUAL:BTC-USDT@LIN → BYBIT:…  MARKET  filled 0.05
    @ 43269.8  NORMAL`` (and ``  — reason`` when rejected)."""
    what = f"{side} {number(quantity)} {instrument_key}"
    if venue and venue != instrument_key:
        what += f" → {venue}"
    kind = order_type if price is None else f"{order_type} {number(price)}"
    filled = f"filled {number(filled_quantity)}"
    if avg_fill_price is not None:
        filled += f" @ {number(avg_fill_price)}"
    parts = [operation_id, status, what, kind, filled, exec_algorithm]
    text = SEPARATOR.join(parts)
    return f"{text}  — {rejection_reason}" if rejection_reason else text


def fill_text(
    *,
    fill_id: str,
    quantity: Decimal,
    price: Decimal,
    fee: Decimal,
    ts: dt.datetime | None,
) -> str:
    """``fill T-1  0.01 @ 43269.8  fee 0.216349  2025-01-15T10:00:00.004Z``."""
    return SEPARATOR.join(
        [
            f"fill {fill_id}",
            f"{number(quantity)} @ {number(price)}",
            f"fee {number(fee)}",
            timestamp(ts),
        ]
    )


def position_text(row: Mapping[str, object]) -> str:
    """An aggregate row: ``PERPETUAL:BTC-USDT@LIN  0.11  avg 43271.79  realized 0  fees 2.12
    venues BYBIT:…=0.06, OKX:…=0.05``; a per-venue row: ``BYBIT:…  s1  0.06  avg …``."""
    if row.get("scope") == "aggregate":
        head = [str(row.get("canonical_key"))]
    else:
        head = [str(row.get("venue_key") or row.get("instrument_key")), str(row.get("strategy_id"))]
    parts = [
        *head,
        number(_decimal(row.get("quantity"))),
        f"avg {number(_decimal(row.get('avg_entry_price')))}",
        f"realized {number(_decimal(row.get('realized_pnl')))}",
        f"fees {number(_decimal(row.get('fees')))}",
    ]
    venues = row.get("venues")
    if isinstance(venues, Mapping) and venues:
        breakdown = ", ".join(f"{k}={number(_decimal(v))}" for k, v in sorted(venues.items()))
        parts.append(f"venues {breakdown}")
    return SEPARATOR.join(parts)


def log_text(
    *,
    ts: dt.datetime | None,
    outcome: str,
    operation_id: str,
    side: str,
    quantity: Decimal,
    instrument_key: str,
    venue: str | None,
    reason: str | None,
) -> str:
    """``2025-01-15T10:00:00.004Z  ACCEPTED  OP-1  BUY 0.05 ANY:… → BYBIT:…`` (or
    ``REJECTED … — reason``)."""
    what = f"{side} {number(quantity)} {instrument_key}"
    if venue and venue != instrument_key:
        what += f" → {venue}"
    text = SEPARATOR.join([timestamp(ts), outcome.upper(), operation_id, what])
    return f"{text}  — {reason}" if reason else text


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


__all__ = ["fill_text", "log_text", "number", "order_text", "position_text", "timestamp"]
