"""Instrument reference: the packaged data, lookups, venue listings and validation errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from execution_core.errors import DataError, UnknownInstrumentError
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import (
    InstrumentReference,
    InstrumentSpec,
    load_reference,
)

DEMO_VENUES = ["BINANCE-FUTURES", "BINANCE-SPOT", "BYBIT", "DERIBIT", "OKX"]
IB_STOCKS = ["IB:SPOT_PAIR:AAPL-USD", "IB:SPOT_PAIR:MSFT-USD"]


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


def _spec_dict(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "key": "BINANCE-SPOT:SPOT_PAIR:BTC-USDT",
        "base": "BTC",
        "quote": "USDT",
        "settlement": "USDT",
        "price_precision": 2,
        "size_precision": 5,
        "price_increment": "0.01",
        "size_increment": "0.00001",
        "lot_size": "0.00001",
        "min_quantity": "0.00001",
        "max_quantity": "9000",
        "min_notional": "5",
        "maker_fee": "0.001",
        "taker_fee": "0.001",
        "latency_ms": 20.0,
    }
    spec.update(overrides)
    return spec


def _write(tmp_path: Path, *specs: dict[str, Any]) -> Path:
    path = tmp_path / "instruments.json"
    path.write_text(json.dumps({"version": 1, "instruments": list(specs)}), encoding="utf-8")
    return path


def test_packaged_reference_loads(reference: InstrumentReference) -> None:
    assert reference.venues() == sorted([*DEMO_VENUES, "IB"])
    assert reference.backtest_venues() == DEMO_VENUES
    assert len(reference) == len(reference.keys()) == 10 + len(IB_STOCKS)
    assert reference.keys() == [spec.key for spec in reference.specs()]
    for spec in reference.specs():
        key = spec.key
        cid = CanonicalId.parse(key)
        assert str(cid) == key
        assert key in reference and cid in reference
        assert reference.get(key) is spec
        assert reference.get(cid) is spec
        assert (spec.base, spec.quote) == (cid.base, cid.quote)
        if spec.venue != "IB":  # IB's adapter maps an id to an IB contract itself
            cid.to_venue_symbol()  # every other packaged listing maps to a venue symbol


def test_packaged_values(reference: InstrumentReference) -> None:
    spot = reference.get("BINANCE-SPOT:SPOT_PAIR:BTC-USDT")
    assert spot.price_increment == Decimal("0.01") and spot.taker_fee == Decimal("0.001")
    deribit = reference.get("DERIBIT:PERPETUAL:BTC-USD@INV")
    assert deribit.is_inverse and deribit.settlement == "BTC"
    assert deribit.size_increment == deribit.min_quantity == Decimal(10)
    assert reference.get("DERIBIT:PERPETUAL:ETH-USD@INV").size_increment == Decimal(1)
    latency = {spec.venue: spec.latency_ms for spec in reference.specs()}
    assert latency == {
        "BINANCE-SPOT": 20.0,
        "BINANCE-FUTURES": 20.0,
        "BYBIT": 30.0,
        "OKX": 35.0,
        "DERIBIT": 40.0,
        "IB": 60.0,
    }


def test_quantity_units(reference: InstrumentReference) -> None:
    okx = reference.get("OKX:PERPETUAL:BTC-USDT@LIN")
    assert okx.base_quantity(Decimal(100), Decimal(60000)) == Decimal(1)
    assert okx.notional(Decimal(100), Decimal(60000)) == Decimal(60000)
    deribit = reference.get("DERIBIT:PERPETUAL:BTC-USD@INV")
    assert deribit.notional(Decimal(60000), Decimal(60000)) == Decimal(60000)
    assert deribit.base_quantity(Decimal(60000), Decimal(60000)) == Decimal(1)


def test_venues_listing_any(reference: InstrumentReference) -> None:
    listing = reference.venues_listing(CanonicalId.parse("ANY:PERPETUAL:BTC-USDT@LIN"))
    assert [spec.venue for spec in listing] == ["BINANCE-FUTURES", "BYBIT", "OKX"]
    assert [spec.key for spec in listing] == [
        "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
        "BYBIT:PERPETUAL:BTC-USDT@LIN",
        "OKX:PERPETUAL:BTC-USDT@LIN",
    ]
    inverse = reference.venues_listing(CanonicalId.parse("ANY:PERPETUAL:ETH-USD@INV"))
    assert [spec.key for spec in inverse] == ["DERIBIT:PERPETUAL:ETH-USD@INV"]
    assert reference.venues_listing(CanonicalId.parse("ANY:PERPETUAL:BTC-USDT@INV")) == []
    assert reference.venues_listing(CanonicalId.parse("ANY:SPOT_PAIR:BTC-USDT@LIN")) == []


def test_venues_listing_concrete(reference: InstrumentReference) -> None:
    cid = CanonicalId.parse("BYBIT:PERPETUAL:ETH-USDT@LIN")
    assert reference.venues_listing(cid) == [reference.get(cid)]
    with pytest.raises(UnknownInstrumentError, match="BYBIT:PERPETUAL:SOL-USDT@LIN"):
        reference.venues_listing(CanonicalId.parse("BYBIT:PERPETUAL:SOL-USDT@LIN"))


def test_unknown_key_lists_close_matches(reference: InstrumentReference) -> None:
    with pytest.raises(UnknownInstrumentError) as info:
        reference.get("BINANCE-FUTURES:PERPETUAL:BTC-USDT")
    message = str(info.value)
    assert message.startswith("unknown instrument 'BINANCE-FUTURES:PERPETUAL:BTC-USDT'")
    assert "close matches: BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN" in message
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownInstrumentError, match="known venues: BINANCE-FUTURES"):
        reference.get("XYZ")
    assert "XYZ" not in reference and 42 not in reference


def test_custom_file_loads(tmp_path: Path) -> None:
    reference = load_reference(_write(tmp_path, _spec_dict()))
    assert reference.keys() == ["BINANCE-SPOT:SPOT_PAIR:BTC-USDT"]
    assert reference.get("BINANCE-SPOT:SPOT_PAIR:BTC-USDT").multiplier == Decimal(1)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        (
            {"price_increment": "0.1"},
            "price_increment 0.1 has 1 decimals, but price_precision is 2",
        ),
        ({"size_precision": 4}, "size_increment 0.00001 has 5 decimals, but size_precision is 4"),
        ({"lot_size": "0.000015"}, "lot_size 0.000015 is not a multiple of size_increment"),
        ({"max_quantity": "0.000001"}, "max_quantity 0.000001 < min_quantity"),
        ({"maker_fee": "-0.002"}, "maker_fee -0.002 outside"),
        ({"maker_fee": "0.002"}, "maker_fee 0.002 > taker_fee 0.001"),
        ({"taker_fee": "0.05"}, "taker_fee 0.05 outside"),
        ({"base": "ETH"}, "base/quote ETH/USDT differ from the key's BTC/USDT"),
        ({"is_inverse": True, "settlement": "BTC"}, "is_inverse=True contradicts"),
        ({"settlement": "BTC"}, "settlement BTC should be USDT"),
        ({"latency_ms": 0}, "latency_ms: Input should be greater than 0"),
        ({"size_increment": "0"}, "size_increment: Input should be greater than 0"),
        ({"extra": 1}, "extra: Extra inputs are not permitted"),
    ],
)
def test_bad_spec_error_names_the_key(
    tmp_path: Path, overrides: dict[str, Any], fragment: str
) -> None:
    path = _write(
        tmp_path, _spec_dict(key="BINANCE-SPOT:SPOT_PAIR:ETH-USDT", base="ETH"), _spec_dict()
    )
    document = json.loads(path.read_text())
    document["instruments"][1].update(overrides)
    path.write_text(json.dumps(document))
    with pytest.raises(DataError) as info:
        load_reference(path)
    message = str(info.value)
    assert message.startswith(f"{path}: instruments[1] (BINANCE-SPOT:SPOT_PAIR:BTC-USDT): ")
    assert fragment in message


def test_bad_key_and_duplicates(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"instruments\[0\] \(binance:x\): key: .*invalid canon"):
        load_reference(_write(tmp_path, _spec_dict(key="binance:x")))
    with pytest.raises(DataError, match="needs a concrete venue, not ANY"):
        load_reference(_write(tmp_path, _spec_dict(key="ANY:SPOT_PAIR:BTC-USDT")))
    with pytest.raises(DataError, match="BINANCE-SPOT:SPOT_PAIR:BTC-USDT is listed twice"):
        load_reference(_write(tmp_path, _spec_dict(), _spec_dict()))


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cannot read instrument reference .*missing\.json"):
        load_reference(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"instruments": [\n  {"key": }\n]}')
    with pytest.raises(DataError, match=r"broken.json: invalid JSON at line 2, column 11"):
        load_reference(broken)
    broken.write_text('{"specs": []}')
    with pytest.raises(DataError, match="expected an object with an 'instruments' list"):
        load_reference(broken)


def test_spec_is_frozen_and_validates_directly() -> None:
    spec = InstrumentSpec.model_validate(_spec_dict())
    with pytest.raises(ValidationError):
        spec.base = "ETH"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="instrument BINANCE-SPOT:SPOT_PAIR:BTC-USDT"):
        InstrumentSpec.model_validate(_spec_dict(price_precision=3))


def test_ib_stocks_are_live_only_with_a_per_share_commission(
    reference: InstrumentReference,
) -> None:
    """The backtest has no market for IB: its listings are routable live, and the backtest
    neither lists them for a signal nor opens an account at IB."""
    for key in IB_STOCKS:
        spec = reference.get(key)
        assert (spec.backtest, spec.fee_per_unit, spec.taker_fee) == (False, Decimal("0.005"), 0)
        assert spec.size_increment == spec.min_quantity == 1  # whole shares
    any_aapl = CanonicalId.parse("ANY:SPOT_PAIR:AAPL-USD")
    assert [s.key for s in reference.venues_listing(any_aapl)] == [IB_STOCKS[0]]
    assert reference.backtest_listing(any_aapl) == []
    any_btc = CanonicalId.parse("ANY:PERPETUAL:BTC-USDT@LIN")
    assert reference.backtest_listing(any_btc) == reference.venues_listing(any_btc)


@pytest.mark.parametrize("fee", ["-0.001", "2"])
def test_fee_per_unit_out_of_range_is_refused(fee: str) -> None:
    with pytest.raises(ValidationError, match="fee_per_unit"):
        InstrumentSpec.model_validate(_spec_dict(fee_per_unit=fee))
