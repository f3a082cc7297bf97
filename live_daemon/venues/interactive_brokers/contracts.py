"""Canonical instrument ids ↔ ib_async ``Contract`` (plain functions).

IB instruments fit the canonical grammar with venue ``IB``; the payload names IB's symbol
and currency, the id's date is IB's ``lastTradeDateOrContractMonth`` (the full date: one id,
one contract), and the fields an id does not carry (exchange, multiplier, trading class)
come from the instrument's configuration (:class:`~.config.IBInstrument`):

=====================================  =======  ===================================================
canonical                              secType  contract
=====================================  =======  ===================================================
``IB:SPOT_PAIR:AAPL-USD``              STK      AAPL, USD, SMART (primaryExchange when configured)
``IB:SPOT_PAIR:BRK.B-USD``             STK      ``BRK B`` (IB writes a share class with a space)
``IB:FUTURE:ES-USD-20250321``          FUT      ES, 20250321, USD, the configured exchange (CME)
``IB:OPTION:AAPL-USD-150-20250117-C``  OPT      AAPL, 20250117, strike 150, right C, multiplier 100
``IB:OPTION:ES-USD-6000-20250321-P``   FOP      with ``option_sec_type="FOP"`` configured
=====================================  =======  ===================================================

A stock is a ``SPOT_PAIR`` because the grammar has no stock type: its ``BASE-QUOTE`` is
``SYMBOL-CURRENCY``. Perpetuals and suffixes (``@LIN``) have no IB meaning and are refused.

Back from IB (executions, positions, orders): :meth:`ContractMap.key_for` finds the configured
instrument whose contract matches (secType, symbol, date, strike, right, currency), else
derives the canonical id from the contract itself.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ib_async import Contract

from execution_core.errors import InvalidInstrumentIdError
from execution_core.instruments.ids import CanonicalId, InstrumentType
from live_daemon.venues.interactive_brokers.config import VENUE, IBInstrument

MatchKey = tuple[str, str, str, str, str, str]


def ib_symbol(code: str) -> str:
    """IB's symbol for a payload code: a share class dot becomes a space (``BRK.B``)."""
    return code.replace(".", " ")


def to_contract(instrument: IBInstrument) -> Contract:
    """The ib_async ``Contract`` of a configured instrument; raises
    :class:`InvalidInstrumentIdError` naming the key when IB has no such kind."""
    cid = CanonicalId.parse(instrument.key)
    if cid.venue != VENUE:
        raise InvalidInstrumentIdError(
            f"instrument {instrument.key!r}: venue must be {VENUE}, got {cid.venue}"
        )
    if cid.suffix is not None:
        raise InvalidInstrumentIdError(
            f"instrument {instrument.key!r}: suffix @{cid.suffix} has no meaning at IB"
        )
    contract = Contract(
        symbol=ib_symbol(cid.base),
        currency=cid.quote,
        exchange=instrument.exchange,
        primaryExchange=instrument.primary_exchange,
        multiplier=instrument.multiplier,
        tradingClass=instrument.trading_class,
        conId=instrument.con_id,
    )
    kind, expiry = cid.instrument_type, cid.expiry
    if kind is InstrumentType.SPOT_PAIR:
        contract.secType = "STK"
        return contract
    if kind is InstrumentType.FUTURE and expiry is not None:
        contract.secType = "FUT"
        contract.lastTradeDateOrContractMonth = f"{expiry:%Y%m%d}"
        return contract
    if kind is InstrumentType.OPTION and expiry is not None and cid.strike is not None:
        contract.secType = instrument.option_sec_type
        contract.lastTradeDateOrContractMonth = f"{expiry:%Y%m%d}"
        contract.strike = float(cid.strike)
        contract.right = cid.option_right or ""
        return contract
    raise InvalidInstrumentIdError(
        f"instrument {instrument.key!r}: {kind} instruments are not traded at IB "
        "(stocks are SPOT_PAIR, futures FUTURE, options OPTION)"
    )


def _strike_text(strike: object) -> str:
    try:
        value = Decimal(str(strike))
    except InvalidOperation:
        return ""
    return "" if value == 0 else format(value.normalize(), "f")


def match_key(contract: Contract) -> MatchKey:
    """What identifies a contract in IB's answers whatever else they fill in."""
    sec_type = contract.secType
    dated = sec_type in ("FUT", "OPT", "FOP")
    optional = sec_type in ("OPT", "FOP")
    return (
        sec_type,
        contract.symbol,
        contract.lastTradeDateOrContractMonth[:8] if dated else "",
        _strike_text(contract.strike) if optional else "",
        contract.right[:1] if optional else "",
        contract.currency,
    )


def key_from_contract(contract: Contract) -> str:
    """The canonical id of a contract nobody configured (raises if it has no form)."""
    symbol = contract.symbol.replace(" ", ".")
    head = f"{VENUE}:"
    sec_type, _, date, strike, right, currency = match_key(contract)
    if sec_type == "STK":
        text = f"{head}SPOT_PAIR:{symbol}-{currency}"
    elif sec_type == "FUT":
        text = f"{head}FUTURE:{symbol}-{currency}-{date}"
    elif sec_type in ("OPT", "FOP"):
        text = f"{head}OPTION:{symbol}-{currency}-{strike}-{date}-{right}"
    else:
        raise InvalidInstrumentIdError(f"IB contract of secType {sec_type!r} has no canonical id")
    return str(CanonicalId.parse(text))


class ContractMap:
    """The configured instruments, both ways."""

    def __init__(self, instruments: list[IBInstrument]) -> None:
        self._contracts = {i.key: to_contract(i) for i in instruments}
        self._keys = {match_key(c): key for key, c in self._contracts.items()}

    @property
    def keys(self) -> list[str]:
        return list(self._contracts)

    def contract(self, venue_key: str) -> Contract:
        """A fresh contract for ``venue_key``; raises naming the key if not configured."""
        try:
            template = self._contracts[venue_key]
        except KeyError:
            raise InvalidInstrumentIdError(
                f"instrument {venue_key!r} is not configured for venue {VENUE} "
                f"(configured: {', '.join(sorted(self._contracts)) or 'none'})"
            ) from None
        return Contract(**{f: getattr(template, f) for f in _CONTRACT_FIELDS})

    def key_for(self, contract: Contract) -> str:
        """The canonical key of a contract IB reported."""
        return self._keys.get(match_key(contract)) or key_from_contract(contract)


_CONTRACT_FIELDS = (
    "secType",
    "conId",
    "symbol",
    "lastTradeDateOrContractMonth",
    "strike",
    "right",
    "multiplier",
    "exchange",
    "primaryExchange",
    "currency",
    "tradingClass",
)
