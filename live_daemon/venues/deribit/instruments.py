"""Our canonical keys and Deribit's instrument names, both ways, and the trading rules of a
Deribit instrument (tick size, contract size) from the instrument reference.

``DERIBIT:PERPETUAL:BTC-USD@INV`` ↔ ``BTC-PERPETUAL``, ``DERIBIT:PERPETUAL:BTC-USDC@LIN`` ↔
``BTC_USDC-PERPETUAL``, ``DERIBIT:FUTURE:BTC-USD-20241227`` ↔ ``BTC-27DEC24``,
``DERIBIT:OPTION:BTC-USD-50000-20241231-C`` ↔ ``BTC-31DEC24-50000-C``. The forward way is
:meth:`CanonicalId.to_venue_symbol`; :func:`canonical_key` is its inverse. Plain functions,
shared by the adapter and the local stand-in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference

VENUE = "DERIBIT"

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_CURRENCY = r"(?P<base>[A-Z0-9]+)(?:_(?P<quote>[A-Z0-9]+))?"
_DATE = r"(?P<day>[0-9]{1,2})(?P<month>[A-Z]{3})(?P<year>[0-9]{2})"
_PERPETUAL_RE = re.compile(rf"{_CURRENCY}-PERPETUAL")
_FUTURE_RE = re.compile(rf"{_CURRENCY}-{_DATE}")
_OPTION_RE = re.compile(rf"{_CURRENCY}-{_DATE}-(?P<strike>[0-9]+(?:d[0-9]+)?)-(?P<right>[CP])")
_SPOT_RE = re.compile(r"(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)")


class UnknownInstrument(ValueError):
    """A name or key that is not a Deribit instrument we can map; the text names it."""


def deribit_name(key: str) -> str:
    """Deribit's ``instrument_name`` of our canonical ``key`` (a DERIBIT key)."""
    cid = CanonicalId.parse(key)
    if cid.venue != VENUE:
        raise UnknownInstrument(f"instrument {key!r} is not a {VENUE} instrument")
    return cid.to_venue_symbol()


def _expiry(match: re.Match[str], name: str) -> str:
    month = match["month"]
    if month not in _MONTHS:
        raise UnknownInstrument(f"instrument_name {name!r}: unknown month {month!r}")
    try:
        date = dt.date(2000 + int(match["year"]), _MONTHS.index(month) + 1, int(match["day"]))
    except ValueError:
        raise UnknownInstrument(f"instrument_name {name!r}: invalid expiry date") from None
    return f"{date:%Y%m%d}"


def canonical_key(instrument_name: str) -> str:
    """Our canonical key of Deribit's ``instrument_name`` (the inverse of
    :func:`deribit_name`). Coin-margined names (``BTC-…``) are USD-quoted and inverse;
    ``BTC_USDC-…`` are linear in USDC."""
    name = instrument_name
    if match := _PERPETUAL_RE.fullmatch(name):
        base, quote = match["base"], match["quote"]
        payload = f"{base}-USD@INV" if quote is None else f"{base}-{quote}@LIN"
        key = f"{VENUE}:PERPETUAL:{payload}"
    elif match := _OPTION_RE.fullmatch(name):
        strike = match["strike"].replace("d", ".")
        quote = match["quote"] or "USD"
        expiry = _expiry(match, name)
        key = f"{VENUE}:OPTION:{match['base']}-{quote}-{strike}-{expiry}-{match['right']}"
    elif match := _FUTURE_RE.fullmatch(name):
        quote = match["quote"] or "USD"
        key = f"{VENUE}:FUTURE:{match['base']}-{quote}-{_expiry(match, name)}"
    elif match := _SPOT_RE.fullmatch(name):
        key = f"{VENUE}:SPOT_PAIR:{match['base']}-{match['quote']}"
    else:
        raise UnknownInstrument(f"instrument_name {name!r} is not a Deribit instrument name")
    if deribit_name(key) != name:  # e.g. a zero-padded day: not a name Deribit gives
        raise UnknownInstrument(f"instrument_name {name!r} is not in Deribit's spelling")
    return key


def settlement_currency(instrument_name: str) -> str:
    """The ``currency`` Deribit files ``instrument_name`` under (positions, orders by
    label): the coin for coin-margined contracts, the quote for ``BTC_USDC-…``."""
    cid = CanonicalId.parse(canonical_key(instrument_name))
    return cid.base if cid.quote == "USD" else cid.quote


@dataclass(frozen=True, slots=True)
class DeribitInstrument:
    """One instrument we trade on Deribit, with the rules an order is checked against."""

    key: str  # canonical
    name: str  # Deribit's instrument_name
    currency: str  # settlement currency (positions, orders by label)
    tick_size: Decimal
    contract_size: Decimal  # amounts are positive multiples of it (USD for inverse)
    is_inverse: bool


def instrument(reference: InstrumentReference, key: str) -> DeribitInstrument:
    """The rules of canonical ``key`` from ``reference``; raises :class:`UnknownInstrument`
    naming a key that is not a Deribit instrument of the reference."""
    name = deribit_name(key)
    if key not in reference:
        raise UnknownInstrument(f"instrument {key!r} is not in the instrument reference")
    spec = reference.get(key)
    return DeribitInstrument(
        key=key,
        name=name,
        currency=settlement_currency(name),
        tick_size=spec.price_increment,
        contract_size=spec.size_increment,
        is_inverse=spec.is_inverse,
    )
