"""InstrumentSpec → NautilusTrader instruments, venues and the reverse ID lookup."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.model.instruments import CryptoPerpetual, CurrencyPair
from nautilus_trader.model.objects import Currency, Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider

from execution_core.errors import DataError, InvalidInstrumentIdError, UnknownInstrumentError
from execution_core.instruments.reference import (
    InstrumentReference,
    InstrumentSpec,
    load_reference,
)
from execution_core.nautilus.instruments import (
    DEFAULT_PERP_MARGIN_INIT,
    DEFAULT_PERP_MARGIN_MAINT,
    from_nautilus_instrument_id,
    quantity_scale,
    to_nautilus_instrument,
    venue_of,
)

BINANCE_PERP = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
BINANCE_SPOT = "BINANCE-SPOT:SPOT_PAIR:BTC-USDT"
OKX_PERP = "OKX:PERPETUAL:BTC-USDT@LIN"
DERIBIT_PERP = "DERIBIT:PERPETUAL:BTC-USD@INV"


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


def test_binance_futures_btc_perpetual(reference: InstrumentReference) -> None:
    inst = to_nautilus_instrument(reference.get(BINANCE_PERP))
    assert isinstance(inst, CryptoPerpetual)
    assert inst.id == InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
    assert inst.raw_symbol.value == "BTCUSDT"
    assert inst.base_currency == Currency.from_str("BTC")
    assert inst.quote_currency == Currency.from_str("USDT")
    assert inst.settlement_currency == Currency.from_str("USDT")
    assert inst.is_inverse is False
    assert (inst.price_precision, inst.size_precision) == (1, 3)
    assert inst.price_increment == Price.from_str("0.1")
    assert inst.size_increment == Quantity.from_str("0.001")
    assert inst.multiplier == Quantity.from_int(1)
    assert inst.lot_size == Quantity.from_str("0.001")
    assert inst.min_quantity == Quantity.from_str("0.001")
    assert inst.max_quantity == Quantity.from_str("1000.000")
    assert inst.min_notional == Money(100, Currency.from_str("USDT"))
    assert inst.max_notional is None
    assert inst.maker_fee == Decimal("0.0002")
    assert inst.taker_fee == Decimal("0.0005")
    assert isinstance(inst.maker_fee, Decimal)
    assert inst.margin_init == DEFAULT_PERP_MARGIN_INIT == Decimal("0.05")
    assert inst.margin_maint == DEFAULT_PERP_MARGIN_MAINT == Decimal("0.025")
    assert (inst.ts_event, inst.ts_init) == (0, 0)
    assert venue_of(reference.get(BINANCE_PERP)) == Venue("BINANCE")
    # The same fields as NautilusTrader's own Binance perpetual test instrument.
    theirs = TestInstrumentProvider.btcusdt_perp_binance()
    assert inst.id == theirs.id
    assert (inst.margin_init, inst.margin_maint) == (theirs.margin_init, theirs.margin_maint)


def test_margins_can_be_overridden(reference: InstrumentReference) -> None:
    inst = to_nautilus_instrument(
        reference.get(BINANCE_PERP), margin_init=Decimal("0.1"), margin_maint=Decimal("0.05")
    )
    assert (inst.margin_init, inst.margin_maint) == (Decimal("0.1"), Decimal("0.05"))


def test_okx_contracts_become_base_units(reference: InstrumentReference) -> None:
    spec = reference.get(OKX_PERP)
    assert spec.multiplier == Decimal("0.01") and spec.size_increment == Decimal("0.01")
    inst = to_nautilus_instrument(spec)
    assert isinstance(inst, CryptoPerpetual)
    assert inst.id == InstrumentId.from_str("BTC-USDT-SWAP.OKX")
    assert inst.multiplier == Quantity.from_int(1)
    assert inst.size_precision == 4
    assert inst.size_increment == Quantity.from_str("0.0001")
    assert inst.lot_size == Quantity.from_str("0.0001")
    assert inst.min_quantity == Quantity.from_str("0.0001")
    assert inst.max_quantity is None and inst.min_notional is None
    assert (inst.price_precision, inst.price_increment) == (1, Price.from_str("0.1"))
    assert quantity_scale(spec) == Decimal("0.01")
    # 3 contracts = 0.03 BTC: same notional either way.
    price = Decimal("43000.5")
    expected = Money(spec.notional(Decimal(3), price), Currency.from_str("USDT"))
    assert inst.notional_value(Quantity.from_str("0.0300"), Price.from_str("43000.5")) == expected

    venue_units = to_nautilus_instrument(spec, base_units=False)
    assert venue_units.multiplier == Quantity.from_str("0.01")
    assert venue_units.size_precision == 2
    assert venue_units.size_increment == Quantity.from_str("0.01")
    assert venue_units.min_quantity == Quantity.from_str("0.01")
    assert quantity_scale(spec, base_units=False) == 1
    assert (
        venue_units.notional_value(Quantity.from_str("3.00"), Price.from_str("43000.5")) == expected
    )


def test_okx_eth_contracts(reference: InstrumentReference) -> None:
    inst = to_nautilus_instrument(reference.get("OKX:PERPETUAL:ETH-USDT@LIN"))
    assert (inst.size_precision, inst.size_increment) == (3, Quantity.from_str("0.001"))
    assert inst.multiplier == Quantity.from_int(1)


def test_binance_spot_pair(reference: InstrumentReference) -> None:
    spec = reference.get(BINANCE_SPOT)
    inst = to_nautilus_instrument(spec)
    assert isinstance(inst, CurrencyPair)
    assert inst.id == InstrumentId.from_str("BTCUSDT.BINANCE")
    assert inst.raw_symbol.value == "BTCUSDT"
    assert inst.base_currency == Currency.from_str("BTC")
    assert inst.quote_currency == Currency.from_str("USDT")
    assert (inst.price_precision, inst.size_precision) == (2, 5)
    assert inst.price_increment == Price.from_str("0.01")
    assert inst.size_increment == Quantity.from_str("0.00001")
    assert inst.max_quantity == Quantity.from_str("9000.00000")
    assert inst.min_notional == Money(5, Currency.from_str("USDT"))
    assert inst.margin_init == 0 and inst.margin_maint == 0
    assert (inst.maker_fee, inst.taker_fee) == (Decimal("0.001"), Decimal("0.001"))
    assert inst.multiplier == Quantity.from_int(1)
    # Both Binance venues are one Nautilus venue; their symbols differ.
    assert venue_of(spec) == venue_of(reference.get(BINANCE_PERP)) == Venue("BINANCE")
    assert inst.id != to_nautilus_instrument(reference.get(BINANCE_PERP)).id


def test_deribit_inverse_follows_bitmex_xbtusd(reference: InstrumentReference) -> None:
    spec = reference.get(DERIBIT_PERP)
    inst = to_nautilus_instrument(spec)
    bitmex = TestInstrumentProvider.xbtusd_bitmex()
    assert isinstance(inst, CryptoPerpetual)
    assert inst.id == InstrumentId.from_str("BTC-PERPETUAL.DERIBIT")
    assert venue_of(spec) == Venue("DERIBIT")
    assert inst.is_inverse is True and bitmex.is_inverse is True
    assert inst.base_currency == bitmex.base_currency == Currency.from_str("BTC")
    assert inst.quote_currency == bitmex.quote_currency == Currency.from_str("USD")
    assert inst.settlement_currency == bitmex.settlement_currency == Currency.from_str("BTC")
    assert inst.multiplier == bitmex.multiplier == Quantity.from_int(1)
    assert inst.size_precision == bitmex.size_precision == 0
    assert inst.size_increment == Quantity.from_int(10)  # USD
    assert inst.min_quantity == Quantity.from_int(10)
    assert inst.price_increment == Price.from_str("0.5")
    assert (inst.maker_fee, inst.taker_fee) == (Decimal(0), Decimal("0.0005"))
    # 100 USD at 40,000 is 0.0025 BTC, as the spec says.
    notional = inst.notional_value(Quantity.from_int(100), Price.from_str("40000.0"))
    assert notional == Money(Decimal("0.0025"), Currency.from_str("BTC"))
    assert spec.base_quantity(Decimal(100), Decimal(40000)) == Decimal("0.0025")
    # Unchanged in venue units (the multiplier is 1 already).
    assert repr(to_nautilus_instrument(spec, base_units=False)) == repr(inst)


def _backtest_specs(reference: InstrumentReference) -> list[InstrumentSpec]:
    return [spec for spec in reference.specs() if spec.backtest]


def test_every_listing_converts(reference: InstrumentReference) -> None:
    for spec in _backtest_specs(reference):
        inst = to_nautilus_instrument(spec)
        assert inst.price_precision == spec.price_precision
        assert inst.maker_fee == spec.maker_fee and inst.taker_fee == spec.taker_fee
        assert inst.multiplier == Quantity.from_int(1)
        assert inst.size_increment.as_decimal() == spec.size_increment * spec.multiplier


def test_unsupported_instrument_type_is_refused(reference: InstrumentReference) -> None:
    future = reference.get(BINANCE_PERP).model_copy(
        update={"key": "BINANCE-FUTURES:FUTURE:BTC-USDT-20241227"}
    )
    with pytest.raises(InvalidInstrumentIdError, match="FUTURE is not supported"):
        to_nautilus_instrument(future)


def test_a_per_unit_commission_is_refused(reference: InstrumentReference) -> None:
    """The engine charges fractions of notional only: IB's per-share commission would be
    lost silently, so such a listing is refused, naming the field."""
    spec = reference.get(BINANCE_PERP).model_copy(update={"fee_per_unit": Decimal("0.005")})
    with pytest.raises(DataError, match=r"fee_per_unit 0\.005"):
        to_nautilus_instrument(spec)


def test_canonical_key_round_trip(reference: InstrumentReference) -> None:
    for spec in _backtest_specs(reference):
        inst = to_nautilus_instrument(spec)
        assert from_nautilus_instrument_id(inst.id, reference) == spec.key
        assert from_nautilus_instrument_id(str(inst.id), reference) == spec.key
    assert (
        from_nautilus_instrument_id(InstrumentId.from_str("BTCUSDT.BINANCE"), reference)
        == BINANCE_SPOT
    )
    assert from_nautilus_instrument_id("BTCUSDT-PERP.BINANCE", reference) == BINANCE_PERP


def test_reverse_lookup_errors(reference: InstrumentReference) -> None:
    with pytest.raises(UnknownInstrumentError, match=r"XBTUSD\.BITMEX"):
        from_nautilus_instrument_id("XBTUSD.BITMEX", reference)
    spec = reference.get(BINANCE_PERP)
    twins = InstrumentReference(
        [spec, InstrumentSpec.model_validate({**spec.model_dump(), "key": "CRYPTO:" + spec.key})]
    )
    with pytest.raises(DataError, match="all map to"):
        from_nautilus_instrument_id("BTCUSDT-PERP.BINANCE", twins)
