"""Canonical instrument IDs: parsing, exact round trip, errors, venue and Nautilus symbols."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.adapters.binance.common.symbol import BinanceSymbol
from nautilus_trader.adapters.bybit.common.symbol import BybitSymbol
from nautilus_trader.model.identifiers import InstrumentId

from execution_core.errors import InvalidInstrumentIdError
from execution_core.instruments.ids import CanonicalId, InstrumentType, instrument_family

PT = InstrumentType


@pytest.mark.parametrize(
    ("text", "asset_class", "venue", "kind", "payload", "suffix"),
    [
        ("BINANCE-SPOT:SPOT_PAIR:BTC-USDT", None, "BINANCE-SPOT", PT.SPOT_PAIR, "BTC-USDT", None),
        (
            "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
            None,
            "BINANCE-FUTURES",
            PT.PERPETUAL,
            "BTC-USDT",
            "LIN",
        ),
        ("DERIBIT:PERPETUAL:BTC-USD@INV", None, "DERIBIT", PT.PERPETUAL, "BTC-USD", "INV"),
        (
            "DERIBIT:OPTION:BTC-USD-50000-20241231-C",
            None,
            "DERIBIT",
            PT.OPTION,
            "BTC-USD-50000-20241231-C",
            None,
        ),
        ("CRYPTO:BYBIT:PERPETUAL:ETH-USDT@LIN", "CRYPTO", "BYBIT", PT.PERPETUAL, "ETH-USDT", "LIN"),
        ("ANY:PERPETUAL:BTC-USDT@LIN", None, "ANY", PT.PERPETUAL, "BTC-USDT", "LIN"),
        ("DERIBIT:FUTURE:BTC-USD-20241227", None, "DERIBIT", PT.FUTURE, "BTC-USD-20241227", None),
    ],
)
def test_parse_examples(
    text: str,
    asset_class: str | None,
    venue: str,
    kind: InstrumentType,
    payload: str,
    suffix: str | None,
) -> None:
    cid = CanonicalId.parse(text)
    assert cid == CanonicalId(venue, kind, payload, suffix, asset_class)
    assert str(cid) == text
    assert cid.is_any_venue == (venue == "ANY")


def test_parts_and_helpers() -> None:
    perp = CanonicalId.parse("ANY:PERPETUAL:BTC-USDT@LIN")
    assert (perp.base, perp.quote, perp.payload_with_suffix) == ("BTC", "USDT", "BTC-USDT@LIN")
    assert (perp.expiry, perp.strike, perp.option_right) == (None, None, None)
    concrete = perp.with_venue("BYBIT")
    assert str(concrete) == "BYBIT:PERPETUAL:BTC-USDT@LIN"
    assert not concrete.is_any_venue and perp.is_any_venue
    option = CanonicalId.parse("DERIBIT:OPTION:ETH-USDC-2500.5-20250328-P")
    assert (option.base, option.quote) == ("ETH", "USDC")
    assert option.expiry == dt.date(2025, 3, 28)
    assert option.strike == Decimal("2500.5")
    assert option.option_right == "P"
    future = CanonicalId.parse("OKX:FUTURE:BTC-USD-20241227")
    assert (future.base, future.quote, future.expiry) == ("BTC", "USD", dt.date(2024, 12, 27))
    assert CanonicalId.parse("DERIBIT:PERPETUAL:BTC-USD@INV").is_inverse
    with pytest.raises(InvalidInstrumentIdError, match="venue 'bybit'"):
        perp.with_venue("bybit")


def test_parse_is_hashable_and_constructor_validates() -> None:
    a = CanonicalId.parse("OKX:SPOT_PAIR:BTC-USDT")
    assert {a: 1}[CanonicalId("OKX", PT.SPOT_PAIR, "BTC-USDT")] == 1
    assert CanonicalId("OKX", "SPOT_PAIR", "BTC-USDT").instrument_type is PT.SPOT_PAIR  # type: ignore[arg-type]
    with pytest.raises(InvalidInstrumentIdError, match="payload 'BTCUSDT' must be BASE-QUOTE"):
        CanonicalId("OKX", PT.SPOT_PAIR, "BTCUSDT")


# --- round trip property -------------------------------------------------------------------

CODES = st.from_regex(r"[A-Z0-9][A-Z0-9._]{0,7}", fullmatch=True)
VENUES = st.from_regex(r"[A-Z0-9][A-Z0-9_-]{0,15}", fullmatch=True)
ASSET_CLASSES = st.none() | st.from_regex(r"[A-Z][A-Z0-9_]{0,9}", fullmatch=True)
SUFFIXES = st.none() | st.from_regex(r"[A-Z0-9]{1,5}", fullmatch=True)
DATES = st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))
STRIKES = st.from_regex(r"(0\.[0-9]{0,3}[1-9]|[1-9][0-9]{0,6}(\.[0-9]{1,4})?)", fullmatch=True)


@st.composite
def payloads(draw: st.DrawFn, kind: InstrumentType) -> str:
    pair = f"{draw(CODES)}-{draw(CODES)}"
    if kind is PT.FUTURE:
        return f"{pair}-{draw(DATES)}"
    if kind is PT.OPTION:
        return f"{pair}-{draw(STRIKES)}-{draw(DATES)}-{draw(st.sampled_from('CP'))}"
    return pair


@st.composite
def id_parts(draw: st.DrawFn) -> tuple[str | None, str, InstrumentType, str, str | None]:
    kind = draw(st.sampled_from(list(InstrumentType)))
    return draw(ASSET_CLASSES), draw(VENUES), kind, draw(payloads(kind)), draw(SUFFIXES)


@given(id_parts())
def test_round_trip(parts: tuple[str | None, str, InstrumentType, str, str | None]) -> None:
    asset_class, venue, kind, payload, suffix = parts
    text = (
        (f"{asset_class}:" if asset_class else "")
        + f"{venue}:{kind}:{payload}"
        + (f"@{suffix}" if suffix else "")
    )
    cid = CanonicalId.parse(text)
    assert str(cid) == text
    assert (cid.asset_class, cid.venue, cid.instrument_type, cid.payload, cid.suffix) == parts
    assert CanonicalId.parse(str(cid)) == cid
    assert cid.payload.startswith(f"{cid.base}-{cid.quote}")


# --- invalid IDs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "FOO:BAR",
            "invalid canonical instrument ID 'FOO:BAR': expected "
            "[ASSET_CLASS:]VENUE:INSTRUMENT_TYPE:PAYLOAD[@SUFFIX] "
            "(3 or 4 ':'-separated parts), got 2",
        ),
        ("", "got 1"),
        ("A:B:C:D:E", "got 5"),
        ("OKX:SWAP:BTC-USDT", "instrument type 'SWAP' is not one of SPOT_PAIR, PERPETUAL"),
        ("okx:SPOT_PAIR:BTC-USDT", "venue 'okx' must match"),
        ("-OKX:SPOT_PAIR:BTC-USDT", "venue '-OKX' must match"),
        (":SPOT_PAIR:BTC-USDT", "venue '' must match"),
        ("OKX:spot_pair:BTC-USDT", "instrument type 'spot_pair'"),
        ("OKX:SPOT_PAIR:btc-usdt", "payload 'btc-usdt' must match"),
        ("OKX:SPOT_PAIR:", "payload '' must match"),
        ("OKX:SPOT_PAIR:BTC USDT", "payload 'BTC USDT' must match"),
        ("OKX:SPOT_PAIR:BTCUSDT", "SPOT_PAIR payload 'BTCUSDT' must be BASE-QUOTE"),
        ("OKX:PERPETUAL:BTC-USDT-X@LIN", "PERPETUAL payload 'BTC-USDT-X' must be BASE-QUOTE"),
        ("OKX:PERPETUAL:BTC-USDT@", "suffix '' must match"),
        ("OKX:PERPETUAL:BTC-USDT@lin", "suffix 'lin' must match"),
        ("OKX:PERPETUAL:BTC-USDT@LIN@X", "more than one '@'"),
        ("1CRYPTO:OKX:SPOT_PAIR:BTC-USDT", "asset class '1CRYPTO' must match"),
        ("crypto:OKX:SPOT_PAIR:BTC-USDT", "asset class 'crypto'"),
        ("OKX:FUTURE:BTC-USD-2024122", "must be UNDERLYING-QUOTE-YYYYMMDD"),
        ("OKX:FUTURE:BTC-USD-20241232", "expiry '20241232' is not a valid YYYYMMDD date"),
        ("OKX:FUTURE:BTC-USD-20230229", "expiry '20230229'"),
        ("DERIBIT:OPTION:BTC-USD-50000-20241231-X", "must be UNDERLYING-QUOTE-STRIKE-YYYYMMDD-C|P"),
        ("DERIBIT:OPTION:BTC-USD-ABC-20241231-C", "must be UNDERLYING-QUOTE-STRIKE"),
        ("DERIBIT:OPTION:BTC-USD-050000-20241231-C", "must be UNDERLYING-QUOTE-STRIKE"),
        ("DERIBIT:OPTION:BTC-USD-0-20241231-C", "strike '0' must be positive"),
        ("DERIBIT:OPTION:BTC-USD-50000-20241331-C", "expiry '20241331'"),
        ("DERIBIT:OPTION:BTC-USD-20241231-C", "must be UNDERLYING-QUOTE-STRIKE"),
    ],
)
def test_invalid_ids(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInstrumentIdError) as info:
        CanonicalId.parse(text)
    assert fragment in str(info.value)
    assert repr(text) in str(info.value)


def test_non_string_is_rejected() -> None:
    with pytest.raises(InvalidInstrumentIdError, match="expected a string, got int"):
        CanonicalId.parse(42)  # type: ignore[arg-type]


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        CanonicalId.parse("nope")


# --- venue symbols -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("BINANCE-SPOT:SPOT_PAIR:BTC-USDT", "BTCUSDT"),
        ("BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN", "BTCUSDT"),
        ("BINANCE-FUTURES:PERPETUAL:BTC-USD@INV", "BTCUSD_PERP"),
        ("BINANCE-FUTURES:FUTURE:BTC-USDT-20241227", "BTCUSDT_241227"),
        ("BYBIT:SPOT_PAIR:BTC-USDT", "BTCUSDT"),
        ("BYBIT:PERPETUAL:BTC-USDT@LIN", "BTCUSDT"),
        ("CRYPTO:BYBIT:PERPETUAL:ETH-USDT@LIN", "ETHUSDT"),
        ("BYBIT:PERPETUAL:BTC-USD@INV", "BTCUSD"),
        ("OKX:SPOT_PAIR:BTC-USDT", "BTC-USDT"),
        ("OKX:PERPETUAL:BTC-USDT@LIN", "BTC-USDT-SWAP"),
        ("OKX:PERPETUAL:BTC-USD@INV", "BTC-USD-SWAP"),
        ("OKX:FUTURE:BTC-USD-20241227", "BTC-USD-241227"),
        ("OKX:OPTION:BTC-USD-50000-20241231-C", "BTC-USD-241231-50000-C"),
        ("DERIBIT:PERPETUAL:BTC-USD@INV", "BTC-PERPETUAL"),
        ("DERIBIT:PERPETUAL:BTC-USDC@LIN", "BTC_USDC-PERPETUAL"),
        ("DERIBIT:FUTURE:BTC-USD-20241227", "BTC-27DEC24"),
        ("DERIBIT:FUTURE:ETH-USD-20250307", "ETH-7MAR25"),
        ("DERIBIT:OPTION:BTC-USD-50000-20241231-C", "BTC-31DEC24-50000-C"),
        ("DERIBIT:OPTION:XRP-USDC-0.625-20240830-P", "XRP_USDC-30AUG24-0d625-P"),
    ],
)
def test_venue_symbols(text: str, symbol: str) -> None:
    assert CanonicalId.parse(text).to_venue_symbol() == symbol


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ANY:PERPETUAL:BTC-USDT@LIN", "venue is open (ANY): resolve a venue first"),
        ("KRAKEN:SPOT_PAIR:BTC-USD", "unknown venue 'KRAKEN'; known venues: BINANCE-SPOT, "),
        ("BINANCE-SPOT:PERPETUAL:BTC-USDT@LIN", "PERPETUAL instruments are not supported"),
        ("BYBIT:OPTION:BTC-USD-50000-20241231-C", "OPTION instruments are not supported on"),
        ("OKX:PERPETUAL:BTC-USDT", "needs the suffix @LIN or @INV"),
        ("OKX:PERPETUAL:BTC-USDT@XYZ", "got @XYZ"),
        ("DERIBIT:PERPETUAL:BTC-USDT@INV", "inverse perpetuals are quoted in USD"),
        ("DERIBIT:PERPETUAL:BTC-USD@LIN", "linear perpetuals on DERIBIT are USDC/USDT-quoted"),
    ],
)
def test_unmappable(text: str, fragment: str) -> None:
    cid = CanonicalId.parse(text)
    for convert in (cid.to_venue_symbol, cid.to_nautilus):
        with pytest.raises(InvalidInstrumentIdError) as info:
            convert()
        assert fragment in str(info.value)
        assert repr(text) in str(info.value)


# --- NautilusTrader IDs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "nautilus"),
    [
        ("BINANCE-SPOT:SPOT_PAIR:BTC-USDT", "BTCUSDT.BINANCE"),
        ("BINANCE-SPOT:SPOT_PAIR:ETH-USDT", "ETHUSDT.BINANCE"),
        ("BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN", "BTCUSDT-PERP.BINANCE"),
        ("BINANCE-FUTURES:PERPETUAL:BTC-USD@INV", "BTCUSD-PERP.BINANCE"),
        ("BINANCE-FUTURES:FUTURE:BTC-USDT-20241227", "BTCUSDT_241227.BINANCE"),
        ("BYBIT:PERPETUAL:BTC-USDT@LIN", "BTCUSDT-LINEAR.BYBIT"),
        ("BYBIT:PERPETUAL:BTC-USD@INV", "BTCUSD-INVERSE.BYBIT"),
        ("BYBIT:SPOT_PAIR:BTC-USDT", "BTCUSDT-SPOT.BYBIT"),
        ("OKX:PERPETUAL:BTC-USDT@LIN", "BTC-USDT-SWAP.OKX"),
        ("OKX:SPOT_PAIR:BTC-USDT", "BTC-USDT.OKX"),
        ("DERIBIT:PERPETUAL:BTC-USD@INV", "BTC-PERPETUAL.DERIBIT"),
        ("DERIBIT:OPTION:BTC-USD-50000-20241231-C", "BTC-31DEC24-50000-C.DERIBIT"),
    ],
)
def test_to_nautilus(text: str, nautilus: str) -> None:
    instrument_id = CanonicalId.parse(text).to_nautilus()
    assert isinstance(instrument_id, InstrumentId)
    assert instrument_id == InstrumentId.from_str(nautilus)


@pytest.mark.parametrize(
    ("text", "account_type"),
    [
        ("BINANCE-SPOT:SPOT_PAIR:BTC-USDT", BinanceAccountType.SPOT),
        ("BINANCE-FUTURES:PERPETUAL:ETH-USDT@LIN", BinanceAccountType.USDT_FUTURES),
        ("BINANCE-FUTURES:PERPETUAL:BTC-USD@INV", BinanceAccountType.COIN_FUTURES),
        ("BINANCE-FUTURES:FUTURE:BTC-USDT-20250328", BinanceAccountType.USDT_FUTURES),
    ],
)
def test_binance_matches_the_nautilus_adapter(text: str, account_type: BinanceAccountType) -> None:
    cid = CanonicalId.parse(text)
    expected = BinanceSymbol(cid.to_venue_symbol()).parse_as_nautilus(account_type)
    assert cid.to_nautilus().symbol.value == expected
    assert cid.to_nautilus().venue.value == "BINANCE"


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("BYBIT:SPOT_PAIR:ETH-USDT", "SPOT"),
        ("BYBIT:PERPETUAL:ETH-USDT@LIN", "LINEAR"),
        ("BYBIT:PERPETUAL:ETH-USD@INV", "INVERSE"),
    ],
)
def test_bybit_matches_the_nautilus_adapter(text: str, product: str) -> None:
    cid = CanonicalId.parse(text)
    bybit = BybitSymbol(f"{cid.to_venue_symbol()}-{product}")
    assert bybit.raw_symbol == cid.to_venue_symbol()
    assert cid.to_nautilus() == bybit.to_instrument_id()


# --- the venue-free key (risk families, the OMS's positions across venues) ---------------

BTC_FAMILY = "PERPETUAL:BTC-USDT@LIN"


@pytest.mark.parametrize(
    "key",
    [
        "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
        "OKX:PERPETUAL:BTC-USDT@LIN",
        "ANY:PERPETUAL:BTC-USDT@LIN",
        "CRYPTO:BYBIT:PERPETUAL:BTC-USDT@LIN",
        BTC_FAMILY,
    ],
)
def test_instrument_family_drops_asset_class_and_venue(key: str) -> None:
    assert instrument_family(key) == BTC_FAMILY
    assert instrument_family(CanonicalId.parse(key if key.count(":") > 1 else f"ANY:{key}")) == (
        BTC_FAMILY
    )


def test_instrument_family_keeps_type_payload_and_suffix_apart() -> None:
    assert instrument_family("DERIBIT:PERPETUAL:BTC-USD@INV") == "PERPETUAL:BTC-USD@INV"
    assert instrument_family("BINANCE-SPOT:SPOT_PAIR:BTC-USDT") == "SPOT_PAIR:BTC-USDT"
    assert instrument_family("DERIBIT:OPTION:BTC-USD-50000-20241231-C") == (
        "OPTION:BTC-USD-50000-20241231-C"
    )


@pytest.mark.parametrize("bad", ["BTCUSDT", "BINANCE:PERP:BTC-USDT", "PERPETUAL:btc-usdt", ""])
def test_instrument_family_rejects_invalid_keys(bad: str) -> None:
    with pytest.raises(InvalidInstrumentIdError):
        instrument_family(bad)
