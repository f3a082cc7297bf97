"""Canonical instrument IDs: ``[ASSET_CLASS:]VENUE:INSTRUMENT_TYPE:PAYLOAD[@SUFFIX]``.

Examples::

    BINANCE-SPOT:SPOT_PAIR:BTC-USDT
    BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN
    DERIBIT:PERPETUAL:BTC-USD@INV
    DERIBIT:OPTION:BTC-USD-50000-20241231-C
    CRYPTO:BYBIT:PERPETUAL:ETH-USDT@LIN
    ANY:PERPETUAL:BTC-USDT@LIN              (venue left open: the router picks one)

Grammar (uppercase only, nothing is normalised, so ``str(CanonicalId.parse(s)) == s``):

- asset class ``[A-Z][A-Z0-9_]*`` (optional), venue ``[A-Z0-9][A-Z0-9_-]*``;
- instrument type: one of :class:`InstrumentType`;
- payload ``[A-Z0-9][A-Z0-9._-]*``, shaped by the type:
  SPOT_PAIR / PERPETUAL ``BASE-QUOTE``; FUTURE ``UNDERLYING-QUOTE-YYYYMMDD``;
  OPTION ``UNDERLYING-QUOTE-STRIKE-YYYYMMDD-C|P`` (strike a positive decimal);
- suffix ``[A-Z0-9]+`` (optional): ``LIN`` (linear, quote-margined) or ``INV``
  (inverse, coin-margined); perpetuals need one to map to a venue.

Venue symbols (:meth:`CanonicalId.to_venue_symbol`) and NautilusTrader IDs
(:meth:`CanonicalId.to_nautilus`), following the adapters of nautilus_trader 1.221
(``BinanceSymbol.parse_as_nautilus``, ``BybitSymbol.to_instrument_id``, OKX ``instId``):

=================  =========================  ======================  ==========================
venue              canonical                  venue symbol            Nautilus InstrumentId
=================  =========================  ======================  ==========================
BINANCE-SPOT       SPOT_PAIR:BTC-USDT         BTCUSDT                 BTCUSDT.BINANCE
BINANCE-FUTURES    PERPETUAL:BTC-USDT@LIN     BTCUSDT                 BTCUSDT-PERP.BINANCE
BINANCE-FUTURES    PERPETUAL:BTC-USD@INV      BTCUSD_PERP             BTCUSD-PERP.BINANCE
BINANCE-FUTURES    FUTURE:BTC-USDT-20241227   BTCUSDT_241227          BTCUSDT_241227.BINANCE
BYBIT              SPOT_PAIR:BTC-USDT         BTCUSDT                 BTCUSDT-SPOT.BYBIT
BYBIT              PERPETUAL:BTC-USDT@LIN     BTCUSDT                 BTCUSDT-LINEAR.BYBIT
BYBIT              PERPETUAL:BTC-USD@INV      BTCUSD                  BTCUSD-INVERSE.BYBIT
OKX                SPOT_PAIR:BTC-USDT         BTC-USDT                BTC-USDT.OKX
OKX                PERPETUAL:BTC-USDT@LIN     BTC-USDT-SWAP           BTC-USDT-SWAP.OKX
OKX                PERPETUAL:BTC-USD@INV      BTC-USD-SWAP            BTC-USD-SWAP.OKX
OKX                FUTURE:BTC-USD-20241227    BTC-USD-241227          BTC-USD-241227.OKX
OKX                OPTION:BTC-USD-50000-…-C   BTC-USD-241231-50000-C  BTC-USD-241231-50000-C.OKX
DERIBIT            PERPETUAL:BTC-USD@INV      BTC-PERPETUAL           BTC-PERPETUAL.DERIBIT
DERIBIT            PERPETUAL:BTC-USDC@LIN     BTC_USDC-PERPETUAL      BTC_USDC-PERPETUAL.DERIBIT
DERIBIT            FUTURE:BTC-USD-20241227    BTC-27DEC24             BTC-27DEC24.DERIBIT
DERIBIT            OPTION:BTC-USD-50000-…-C   BTC-31DEC24-50000-C     BTC-31DEC24-50000-C.DERIBIT
=================  =========================  ======================  ==========================

Both Binance venues map to the single Nautilus venue ``BINANCE`` (as the adapters do);
Deribit uses our own adapter with venue name ``DERIBIT``. Inverse contracts are USD-quoted
on every venue. ``IB`` (Interactive Brokers) has no symbol here: our ib_async adapter maps
an id to an IB contract itself (``IB:SPOT_PAIR:AAPL-USD`` is the stock AAPL in USD;
``live_daemon/venues/interactive_brokers/contracts.py``). NautilusTrader is imported
lazily, only by :meth:`CanonicalId.to_nautilus`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, NoReturn

from execution_core.errors import InvalidInstrumentIdError

if TYPE_CHECKING:
    from nautilus_trader.model.identifiers import InstrumentId

FORMAT = "[ASSET_CLASS:]VENUE:INSTRUMENT_TYPE:PAYLOAD[@SUFFIX]"
ANY_VENUE = "ANY"
LINEAR = "LIN"
INVERSE = "INV"
KNOWN_VENUES: tuple[str, ...] = (
    "BINANCE-SPOT",
    "BINANCE-FUTURES",
    "BYBIT",
    "OKX",
    "DERIBIT",
    "IB",
)
NAUTILUS_VENUES: dict[str, str] = {
    "BINANCE-SPOT": "BINANCE",
    "BINANCE-FUTURES": "BINANCE",
    "BYBIT": "BYBIT",
    "OKX": "OKX",
    "DERIBIT": "DERIBIT",
}

_VENUE_RE = re.compile(r"[A-Z0-9][A-Z0-9_-]*")
_ASSET_CLASS_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_PAYLOAD_RE = re.compile(r"[A-Z0-9][A-Z0-9._-]*")
_SUFFIX_RE = re.compile(r"[A-Z0-9]+")
_CODE = r"[A-Z0-9][A-Z0-9._]*"
_PAIR_RE = re.compile(rf"(?P<base>{_CODE})-(?P<quote>{_CODE})")
_FUTURE_RE = re.compile(rf"(?P<base>{_CODE})-(?P<quote>{_CODE})-(?P<expiry>[0-9]{{8}})")
_OPTION_RE = re.compile(
    rf"(?P<base>{_CODE})-(?P<quote>{_CODE})-(?P<strike>(?:0|[1-9][0-9]*)(?:\.[0-9]+)?)"
    r"-(?P<expiry>[0-9]{8})-(?P<right>[CP])"
)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class InstrumentType(StrEnum):
    SPOT_PAIR = "SPOT_PAIR"
    PERPETUAL = "PERPETUAL"
    FUTURE = "FUTURE"
    OPTION = "OPTION"


_PAYLOAD_SHAPES: dict[InstrumentType, tuple[re.Pattern[str], str]] = {
    InstrumentType.SPOT_PAIR: (_PAIR_RE, "BASE-QUOTE"),
    InstrumentType.PERPETUAL: (_PAIR_RE, "BASE-QUOTE"),
    InstrumentType.FUTURE: (_FUTURE_RE, "UNDERLYING-QUOTE-YYYYMMDD"),
    InstrumentType.OPTION: (_OPTION_RE, "UNDERLYING-QUOTE-STRIKE-YYYYMMDD-C|P"),
}


@dataclass(frozen=True, slots=True)
class CanonicalId:
    """A parsed canonical instrument ID; construction validates every part."""

    venue: str
    instrument_type: InstrumentType
    payload: str
    suffix: str | None = None
    asset_class: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.instrument_type, InstrumentType):
            try:
                object.__setattr__(self, "instrument_type", InstrumentType(self.instrument_type))
            except ValueError:
                self._fail(
                    f"instrument type {self.instrument_type!r} is not one of "
                    f"{', '.join(t.value for t in InstrumentType)}"
                )
        if self.asset_class is not None and not _ASSET_CLASS_RE.fullmatch(self.asset_class):
            self._fail(f"asset class {self.asset_class!r} must match {_ASSET_CLASS_RE.pattern}")
        if not _VENUE_RE.fullmatch(self.venue):
            self._fail(f"venue {self.venue!r} must match {_VENUE_RE.pattern} (uppercase only)")
        if not _PAYLOAD_RE.fullmatch(self.payload):
            self._fail(
                f"payload {self.payload!r} must match {_PAYLOAD_RE.pattern} (uppercase only)"
            )
        if self.suffix is not None and not _SUFFIX_RE.fullmatch(self.suffix):
            self._fail(f"suffix {self.suffix!r} must match {_SUFFIX_RE.pattern}")
        match = self._payload_match()
        if "expiry" in match.groupdict():
            try:
                dt.datetime.strptime(match["expiry"], "%Y%m%d")
            except ValueError:
                self._fail(f"expiry {match['expiry']!r} is not a valid YYYYMMDD date")
        if "strike" in match.groupdict() and Decimal(match["strike"]) <= 0:
            self._fail(f"strike {match['strike']!r} must be positive")

    def _fail(self, problem: str) -> NoReturn:
        raise InvalidInstrumentIdError(f"invalid canonical instrument ID {str(self)!r}: {problem}")

    def _unmappable(self, problem: str) -> NoReturn:
        raise InvalidInstrumentIdError(
            f"cannot map canonical instrument ID {str(self)!r} to a venue symbol: {problem}"
        )

    def _payload_match(self) -> re.Match[str]:
        pattern, shape = _PAYLOAD_SHAPES[self.instrument_type]
        match = pattern.fullmatch(self.payload)
        if match is None:
            self._fail(f"{self.instrument_type} payload {self.payload!r} must be {shape}")
        return match

    @classmethod
    def parse(cls, text: str) -> CanonicalId:
        """Parse ``text``; raise :class:`InvalidInstrumentIdError` naming it and the problem."""
        if not isinstance(text, str):
            raise InvalidInstrumentIdError(
                f"invalid canonical instrument ID {text!r}: expected a string, "
                f"got {type(text).__name__}"
            )
        return _parse(text)

    def __str__(self) -> str:
        head = f"{self.asset_class}:" if self.asset_class is not None else ""
        return f"{head}{self.venue}:{self.instrument_type}:{self.payload_with_suffix}"

    @property
    def payload_with_suffix(self) -> str:
        return self.payload if self.suffix is None else f"{self.payload}@{self.suffix}"

    @property
    def is_any_venue(self) -> bool:
        return self.venue == ANY_VENUE

    def with_venue(self, venue: str) -> CanonicalId:
        """The same instrument on ``venue`` (validated)."""
        return replace(self, venue=venue)

    @property
    def base(self) -> str:
        """Base currency (spot/perpetual) or underlying (future/option)."""
        return self._payload_match()["base"]

    @property
    def quote(self) -> str:
        return self._payload_match()["quote"]

    @property
    def expiry(self) -> dt.date | None:
        """Expiry date of a FUTURE or OPTION, else None."""
        expiry = self._payload_match().groupdict().get("expiry")
        return None if expiry is None else dt.datetime.strptime(expiry, "%Y%m%d").date()

    @property
    def strike(self) -> Decimal | None:
        strike = self._payload_match().groupdict().get("strike")
        return None if strike is None else Decimal(strike)

    @property
    def option_right(self) -> str | None:
        """``"C"`` or ``"P"`` for an OPTION, else None."""
        return self._payload_match().groupdict().get("right")

    @property
    def is_inverse(self) -> bool:
        return self.suffix == INVERSE

    def to_venue_symbol(self) -> str:
        """The symbol the venue's own API uses for this instrument."""
        return self._venue_symbol_and_nautilus()[0]

    def to_nautilus(self) -> InstrumentId:
        """The NautilusTrader ``InstrumentId`` its adapter for this venue uses."""
        from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue

        _, symbol = self._venue_symbol_and_nautilus()
        return InstrumentId(Symbol(symbol), Venue(NAUTILUS_VENUES[self.venue]))

    def _venue_symbol_and_nautilus(self) -> tuple[str, str]:
        if self.is_any_venue:
            self._unmappable("venue is open (ANY): resolve a venue first")
        if self.venue not in KNOWN_VENUES:
            self._unmappable(
                f"unknown venue {self.venue!r}; known venues: {', '.join(KNOWN_VENUES)}"
            )
        kind = self.instrument_type
        margin = self._margin() if kind is InstrumentType.PERPETUAL else None
        base, quote = self.base, self.quote
        venue = self.venue
        if venue == "BINANCE-SPOT" and kind is InstrumentType.SPOT_PAIR:
            return base + quote, base + quote
        if venue == "BINANCE-FUTURES" and kind is InstrumentType.PERPETUAL:
            if margin == INVERSE:
                return f"{base}{quote}_PERP", f"{base}{quote}-PERP"
            return base + quote, f"{base}{quote}-PERP"
        if venue == "BINANCE-FUTURES" and kind is InstrumentType.FUTURE:
            symbol = f"{base}{quote}_{self._expiry_text('%y%m%d')}"
            return symbol, symbol
        if venue == "BYBIT" and kind in (InstrumentType.SPOT_PAIR, InstrumentType.PERPETUAL):
            product = "SPOT" if margin is None else ("INVERSE" if margin == INVERSE else "LINEAR")
            return base + quote, f"{base}{quote}-{product}"
        if venue == "OKX":
            symbol = self._okx_symbol(base, quote)
            return symbol, symbol
        if venue == "DERIBIT":
            symbol = self._deribit_symbol(base, quote, margin)
            return symbol, symbol
        self._unmappable(f"{kind} instruments are not supported on venue {venue}")

    def _margin(self) -> str:
        if self.suffix not in (LINEAR, INVERSE):
            self._unmappable(
                f"a perpetual needs the suffix @{LINEAR} or @{INVERSE} to map to venue "
                f"{self.venue}, got {'none' if self.suffix is None else '@' + self.suffix}"
            )
        if self.suffix == INVERSE and self.quote != "USD":
            self._unmappable(f"inverse perpetuals are quoted in USD, got {self.quote!r}")
        return self.suffix

    def _expiry_text(self, fmt: str) -> str:
        expiry = self.expiry
        assert expiry is not None
        return expiry.strftime(fmt)

    def _okx_symbol(self, base: str, quote: str) -> str:
        kind = self.instrument_type
        if kind is InstrumentType.SPOT_PAIR:
            return f"{base}-{quote}"
        if kind is InstrumentType.PERPETUAL:
            return f"{base}-{quote}-SWAP"
        if kind is InstrumentType.FUTURE:
            return f"{base}-{quote}-{self._expiry_text('%y%m%d')}"
        match = self._payload_match()
        return f"{base}-{quote}-{self._expiry_text('%y%m%d')}-{match['strike']}-{match['right']}"

    def _deribit_symbol(self, base: str, quote: str, margin: str | None) -> str:
        kind = self.instrument_type
        # Deribit names coin-margined (USD) contracts by the currency alone, the
        # linear (USDC/USDT) ones as BASE_QUOTE.
        currency = base if quote == "USD" else f"{base}_{quote}"
        if kind is InstrumentType.SPOT_PAIR:
            return f"{base}_{quote}"
        if kind is InstrumentType.PERPETUAL:
            if margin == LINEAR and quote == "USD":
                self._unmappable("linear perpetuals on DERIBIT are USDC/USDT-quoted, got 'USD'")
            return f"{currency}-PERPETUAL"
        expiry = self.expiry
        assert expiry is not None
        date = f"{expiry.day}{_MONTHS[expiry.month - 1]}{expiry:%y}"
        if kind is InstrumentType.FUTURE:
            return f"{currency}-{date}"
        strike = self._payload_match()["strike"].replace(".", "d")
        return f"{currency}-{date}-{strike}-{self.option_right}"


def instrument_family(instrument: CanonicalId | str) -> str:
    """The venue-free key of an instrument: ``TYPE:PAYLOAD[@SUFFIX]``, under which the same
    instrument on every venue meets (risk limits and the OMS's positions across venues).

    ``BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN``, ``CRYPTO:OKX:PERPETUAL:BTC-USDT@LIN`` and
    ``ANY:PERPETUAL:BTC-USDT@LIN`` all give ``PERPETUAL:BTC-USDT@LIN`` (asset class and
    venue dropped). A family string is returned unchanged (validated), so the function is
    idempotent. Raises :class:`InvalidInstrumentIdError` for anything else.
    """
    if isinstance(instrument, CanonicalId):
        return _family_of(instrument)
    if not isinstance(instrument, str):
        raise InvalidInstrumentIdError(
            f"invalid canonical instrument ID {instrument!r}: expected a string"
        )
    return _family(instrument)


@lru_cache(maxsize=4096)
def _family(text: str) -> str:
    # a bare family is validated as the ANY listing of itself
    return _family_of(CanonicalId.parse(f"{ANY_VENUE}:{text}" if text.count(":") == 1 else text))


def _family_of(cid: CanonicalId) -> str:
    return f"{cid.instrument_type.value}:{cid.payload_with_suffix}"


@lru_cache(maxsize=8192)
def _parse(text: str) -> CanonicalId:
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise InvalidInstrumentIdError(
            f"invalid canonical instrument ID {text!r}: expected {FORMAT} "
            f"(3 or 4 ':'-separated parts), got {len(parts)}"
        )
    asset_class = parts[0] if len(parts) == 4 else None
    venue, type_text, payload_part = parts[-3:]
    payload, at, suffix = payload_part.partition("@")
    if "@" in suffix:
        raise InvalidInstrumentIdError(
            f"invalid canonical instrument ID {text!r}: more than one '@' in {payload_part!r}"
        )
    try:
        instrument_type = InstrumentType(type_text)
    except ValueError:
        raise InvalidInstrumentIdError(
            f"invalid canonical instrument ID {text!r}: instrument type {type_text!r} is not "
            f"one of {', '.join(t.value for t in InstrumentType)}"
        ) from None
    return CanonicalId(
        venue=venue,
        instrument_type=instrument_type,
        payload=payload,
        suffix=suffix if at else None,
        asset_class=asset_class,
    )
