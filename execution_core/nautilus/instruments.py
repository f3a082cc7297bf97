"""Our instrument reference (:class:`InstrumentSpec`) as NautilusTrader instruments.

``to_nautilus_instrument(spec)`` builds a ``CryptoPerpetual`` (PERPETUAL) or a
``CurrencyPair`` (SPOT_PAIR) with the spec's precisions, increments, limits and fees,
``ts_event = ts_init = 0``. Its ``id`` is ``CanonicalId.to_nautilus()``, so both Binance
venues share the Nautilus venue ``BINANCE`` (as the adapters do; their symbols differ:
``BTCUSDT`` vs ``BTCUSDT-PERP``).

Quantity units (``base_units``)
-------------------------------
The reference lists quantities in each venue's own unit. With ``base_units=True`` (the
backtest convention) every instrument gets ``multiplier = 1`` and its quantities are
rescaled to *natural* units by the spec's multiplier:

- linear instruments quote quantities in the base currency: an OKX BTC-USDT-SWAP contract
  (multiplier 0.01 BTC, size increment 0.01 contracts) becomes size increment
  ``0.0001`` BTC, size precision 4;
- inverse instruments quote quantities in USD, like NautilusTrader's own inverse test
  instrument (``TestInstrumentProvider.xbtusd_bitmex()``: size in USD contracts,
  multiplier 1, ``is_inverse=True``, settled in the base coin). Deribit's BTC-PERPETUAL
  already is (size increment 10 USD, multiplier 1) and is unchanged.

With ``base_units=False`` the venue units and the venue multiplier are kept (what a live
adapter reports). Tick sizes must be in the same units as the instrument: see
:func:`quantity_scale` and the ``size_scale`` argument of ``execution_core.nautilus.data``.

Margins: the reference has none, so perpetuals get :data:`DEFAULT_PERP_MARGIN_INIT` /
:data:`DEFAULT_PERP_MARGIN_MAINT` (5 % / 2.5 %, as NautilusTrader's Binance perpetual test
instrument) and spot pairs 0 / 0 (as the Binance spot adapter); both can be overridden.
"""

from __future__ import annotations

import weakref
from decimal import Decimal

from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import CryptoPerpetual, CurrencyPair, Instrument
from nautilus_trader.model.objects import FIXED_PRECISION, Currency, Money, Price, Quantity

from execution_core.errors import DataError, InvalidInstrumentIdError, UnknownInstrumentError
from execution_core.instruments.ids import CanonicalId, InstrumentType
from execution_core.instruments.reference import InstrumentReference, InstrumentSpec

DEFAULT_PERP_MARGIN_INIT = Decimal("0.05")
DEFAULT_PERP_MARGIN_MAINT = Decimal("0.025")
DEFAULT_SPOT_MARGIN = Decimal(0)

_ONE = Decimal(1)


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def quantity_scale(spec: InstrumentSpec, *, base_units: bool = True) -> Decimal:
    """Factor from the spec's venue quantity units to the instrument's quantity units.

    ``spec.multiplier`` with ``base_units=True`` (OKX contracts → base currency), else 1.
    Multiply tick sizes given in venue units by it (``size_scale=`` in
    :mod:`execution_core.nautilus.data`).
    """
    return spec.multiplier if base_units else _ONE


def _price(value: Decimal, precision: int) -> Price:
    return Price.from_str(f"{value:.{precision}f}")


def _quantity(value: Decimal, precision: int) -> Quantity:
    return Quantity.from_str(f"{value:.{precision}f}")


def venue_of(spec: InstrumentSpec) -> Venue:
    """The Nautilus venue of ``spec`` (``BINANCE`` for both BINANCE-SPOT and -FUTURES)."""
    return _nautilus_id(spec).venue


def _nautilus_id(spec: InstrumentSpec) -> InstrumentId:
    return CanonicalId.parse(spec.key).to_nautilus()


def to_nautilus_instrument(
    spec: InstrumentSpec,
    *,
    base_units: bool = True,
    margin_init: Decimal | None = None,
    margin_maint: Decimal | None = None,
) -> Instrument:
    """A ``CryptoPerpetual`` / ``CurrencyPair`` for ``spec`` (see the module docstring).

    Raises :class:`DataError` for a per-unit commission (``fee_per_unit``), which the
    engine cannot charge, and :class:`InvalidInstrumentIdError` for instrument types other
    than PERPETUAL and SPOT_PAIR (futures and options are not modelled yet) or unmappable
    keys.
    """
    cid = CanonicalId.parse(spec.key)
    kind = cid.instrument_type
    if spec.fee_per_unit:  # NautilusTrader's instruments charge fractions of notional only
        raise DataError(
            f"instrument {spec.key}: fee_per_unit {spec.fee_per_unit} (a per-unit commission) "
            "is not simulated by the backtest engine; mark the listing backtest: false"
        )
    if kind not in (InstrumentType.PERPETUAL, InstrumentType.SPOT_PAIR):
        raise InvalidInstrumentIdError(
            f"cannot build a NautilusTrader instrument for {spec.key}: {kind} is not "
            f"supported (only {InstrumentType.PERPETUAL} and {InstrumentType.SPOT_PAIR})"
        )
    instrument_id = cid.to_nautilus()
    raw_symbol = Symbol(cid.to_venue_symbol())

    scale = quantity_scale(spec, base_units=base_units)
    size_increment = spec.size_increment * scale
    # The spec guarantees size_precision == decimals of size_increment; keep that.
    size_precision = _decimals(size_increment)
    if size_precision > FIXED_PRECISION:
        raise DataError(
            f"instrument {spec.key}: size precision {size_precision} in "
            f"{'base' if base_units else 'venue'} units exceeds NautilusTrader's "
            f"{FIXED_PRECISION}"
        )
    multiplier = _ONE if base_units else spec.multiplier

    quote = Currency.from_str(spec.quote)
    is_perp = kind is InstrumentType.PERPETUAL
    default_margin = DEFAULT_PERP_MARGIN_INIT if is_perp else DEFAULT_SPOT_MARGIN
    default_maint = DEFAULT_PERP_MARGIN_MAINT if is_perp else DEFAULT_SPOT_MARGIN
    common = dict(
        instrument_id=instrument_id,
        raw_symbol=raw_symbol,
        base_currency=Currency.from_str(spec.base),
        quote_currency=quote,
        price_precision=spec.price_precision,
        size_precision=size_precision,
        price_increment=_price(spec.price_increment, spec.price_precision),
        size_increment=_quantity(size_increment, size_precision),
        ts_event=0,
        ts_init=0,
        multiplier=_quantity(multiplier, _decimals(multiplier)),
        lot_size=_quantity(spec.lot_size * scale, size_precision),
        max_quantity=(
            None
            if spec.max_quantity is None
            else _quantity(spec.max_quantity * scale, size_precision)
        ),
        min_quantity=_quantity(spec.min_quantity * scale, size_precision),
        max_notional=None,
        min_notional=None if spec.min_notional is None else Money(spec.min_notional, quote),
        max_price=None,
        min_price=None,
        margin_init=default_margin if margin_init is None else margin_init,
        margin_maint=default_maint if margin_maint is None else margin_maint,
        maker_fee=spec.maker_fee,
        taker_fee=spec.taker_fee,
    )
    if is_perp:
        return CryptoPerpetual(
            settlement_currency=Currency.from_str(spec.settlement),
            is_inverse=spec.is_inverse,
            **common,
        )
    return CurrencyPair(**common)


_REVERSE: weakref.WeakKeyDictionary[InstrumentReference, dict[str, str | None]] = (
    weakref.WeakKeyDictionary()
)


def _nautilus_text(key: str) -> str | None:
    try:
        return str(CanonicalId.parse(key).to_nautilus())
    except InvalidInstrumentIdError:
        return None  # a listing no adapter maps cannot come back from Nautilus


def _reverse_map(reference: InstrumentReference) -> dict[str, str | None]:
    """Nautilus instrument ID text → canonical key (``None`` when ambiguous)."""
    mapping = _REVERSE.get(reference)
    if mapping is None:
        mapping = {}
        for spec in reference.specs():
            nautilus = _nautilus_text(spec.key)
            if nautilus is not None:
                mapping[nautilus] = None if nautilus in mapping else spec.key
        _REVERSE[reference] = mapping
    return mapping


def from_nautilus_instrument_id(
    instrument_id: InstrumentId | str, reference: InstrumentReference
) -> str:
    """Our canonical key for a Nautilus instrument ID, by reverse lookup in ``reference``.

    ``BTCUSDT-PERP.BINANCE`` → ``BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN``. Raises
    :class:`UnknownInstrumentError` when no listing maps to it, :class:`DataError` when two
    listings do.
    """
    text = str(instrument_id)
    mapping = _reverse_map(reference)
    if text not in mapping:
        raise UnknownInstrumentError(
            f"no instrument in instrument reference {reference.source} maps to the "
            f"NautilusTrader instrument ID {text!r}"
        )
    key = mapping[text]
    if key is None:
        twins = [s.key for s in reference.specs() if _nautilus_text(s.key) == text]
        raise DataError(
            f"instrument reference {reference.source}: {', '.join(twins)} all map to the "
            f"NautilusTrader instrument ID {text!r}"
        )
    return key
