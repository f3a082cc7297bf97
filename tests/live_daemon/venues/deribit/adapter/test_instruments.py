"""Canonical keys ↔ Deribit instrument names, and the rules from the reference."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution_core.instruments.reference import load_reference
from live_daemon.venues.deribit.instruments import (
    UnknownInstrument,
    canonical_key,
    deribit_name,
    instrument,
    settlement_currency,
)

PAIRS = [
    ("DERIBIT:PERPETUAL:BTC-USD@INV", "BTC-PERPETUAL"),
    ("DERIBIT:PERPETUAL:ETH-USD@INV", "ETH-PERPETUAL"),
    ("DERIBIT:PERPETUAL:BTC-USDC@LIN", "BTC_USDC-PERPETUAL"),
    ("DERIBIT:FUTURE:BTC-USD-20241227", "BTC-27DEC24"),
    ("DERIBIT:FUTURE:BTC-USD-20250307", "BTC-7MAR25"),
    ("DERIBIT:OPTION:BTC-USD-50000-20241231-C", "BTC-31DEC24-50000-C"),
    ("DERIBIT:OPTION:XRP-USDC-0.5-20241231-P", "XRP_USDC-31DEC24-0d5-P"),
]


@pytest.mark.parametrize(("key", "name"), PAIRS)
def test_key_and_name_map_both_ways(key: str, name: str) -> None:
    assert deribit_name(key) == name
    assert canonical_key(name) == key


@pytest.mark.parametrize("name", ["BTC-PERP", "BTC-32DEC24", "BTC-07MAR25", "btc-perpetual", ""])
def test_a_name_deribit_does_not_give_is_refused_naming_it(name: str) -> None:
    with pytest.raises(UnknownInstrument, match="instrument_name"):
        canonical_key(name)


def test_a_key_of_another_venue_is_refused() -> None:
    with pytest.raises(UnknownInstrument, match="OKX:PERPETUAL:BTC-USD@INV"):
        deribit_name("OKX:PERPETUAL:BTC-USD@INV")


def test_settlement_currency() -> None:
    assert settlement_currency("BTC-PERPETUAL") == "BTC"
    assert settlement_currency("BTC_USDC-PERPETUAL") == "USDC"


def test_rules_come_from_the_reference() -> None:
    rules = instrument(load_reference(), "DERIBIT:PERPETUAL:BTC-USD@INV")
    assert (rules.name, rules.currency, rules.is_inverse) == ("BTC-PERPETUAL", "BTC", True)
    assert (rules.tick_size, rules.contract_size) == (Decimal("0.5"), Decimal(10))
    with pytest.raises(UnknownInstrument, match="not in the instrument reference"):
        instrument(load_reference(), "DERIBIT:PERPETUAL:SOL-USD@INV")
