"""The instruments the stand-in lists: Deribit names (``BTC-PERPETUAL``) for our canonical
keys (``DERIBIT:PERPETUAL:BTC-USD@INV``), with tick size, contract size and fees from the
instrument reference (:mod:`execution_core.instruments.reference`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference


@dataclass(frozen=True)
class Listing:
    """One instrument as the stand-in lists it."""

    key: str  # canonical
    name: str  # Deribit's instrument_name
    currency: str  # the settlement currency: BTC for BTC-PERPETUAL (fees, positions)
    tick_size: Decimal
    contract_size: Decimal  # USD for inverse contracts: amounts are multiples of it
    maker_fee: Decimal
    taker_fee: Decimal
    is_inverse: bool
    kind: str = "future"  # Deribit's kind of a perpetual


def listing(reference: InstrumentReference, key: str) -> Listing:
    """The listing of canonical ``key``; raises ``ValueError`` naming a key that is not a
    Deribit instrument of the reference."""
    cid = CanonicalId.parse(key)
    if cid.venue != "DERIBIT":
        raise ValueError(f"instruments: {key} is not a DERIBIT instrument")
    spec = reference.get(key)
    return Listing(
        key=key,
        name=cid.to_venue_symbol(),
        currency=spec.settlement,
        tick_size=spec.price_increment,
        contract_size=spec.size_increment,
        maker_fee=spec.maker_fee,
        taker_fee=spec.taker_fee,
        is_inverse=spec.is_inverse,
    )


def listings(reference: InstrumentReference, keys: list[str]) -> dict[str, Listing]:
    """By Deribit name."""
    found = [listing(reference, key) for key in keys]
    return {item.name: item for item in found}
