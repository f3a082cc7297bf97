"""Which accounting rule a venue instrument follows, and its money in the reporting currency.

The rule is read from the canonical key: ``…@INV`` is an inverse contract (quantity in
USD, PnL and fees in the base coin: :func:`~execution_core.accounting.positions.
apply_inverse_fill`), anything else is linear (quantity in base units, PnL and fees in the
quote currency: :func:`~execution_core.accounting.positions.apply_fill`).

The reporting currency is the linear instruments' quote currency (USDT, taken at par with
USD). A coin amount of an inverse instrument is converted at that instrument's own mark
(its last mid or fill price, i.e. the coin's price in USD on that venue): a BTC PnL of
Deribit BTC-PERPETUAL is worth ``btc × mark`` in the reporting currency. Linear amounts
are returned unchanged (not even multiplied by 1.0), so linear figures stay bit-for-bit
what they were.

Both the backtest ledger and the live daemon apply fills through :func:`apply_fill_for`.
"""

from __future__ import annotations

from functools import lru_cache

from execution_core.accounting.positions import (
    Position,
    apply_fill,
    apply_inverse_fill,
    inverse_unrealized_pnl,
)
from execution_core.instruments.ids import CanonicalId


@lru_cache(maxsize=4096)
def is_inverse(instrument_key: str) -> bool:
    """True for an inverse contract (``DERIBIT:PERPETUAL:BTC-USD@INV``)."""
    return CanonicalId.parse(instrument_key).is_inverse


@lru_cache(maxsize=4096)
def settlement_currency(instrument_key: str) -> str:
    """The currency PnL and fees of ``instrument_key`` are paid in (BTC for ``BTC-USD@INV``,
    USDT for ``BTC-USDT@LIN``)."""
    cid = CanonicalId.parse(instrument_key)
    currency = cid.base if cid.is_inverse else cid.quote
    return currency or ""


def apply_fill_for(
    instrument_key: str, position: Position, signed_quantity: float, price: float, fee: float
) -> Position:
    """The position after a fill, under the rule of ``instrument_key`` (quantity in the
    venue's unit for inverse contracts: USD; in base units for linear ones)."""
    if is_inverse(instrument_key):
        return apply_inverse_fill(position, signed_quantity, price, fee)
    return apply_fill(position, signed_quantity, price, fee)


def unrealized_pnl(instrument_key: str, position: Position, mark_price: float) -> float:
    """The unrealized PnL in the settlement currency."""
    if is_inverse(instrument_key):
        return inverse_unrealized_pnl(position, mark_price)
    return position.unrealized_pnl(mark_price)


def to_reporting(instrument_key: str, amount: float, mark_price: float) -> float:
    """``amount`` in the settlement currency of ``instrument_key``, in the reporting
    currency: linear unchanged, inverse ``× mark_price``."""
    if is_inverse(instrument_key):
        return amount * mark_price
    return amount
