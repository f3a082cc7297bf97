"""Netting position accounting: linear instruments (:func:`apply_fill`) and inverse
contracts (:func:`apply_inverse_fill`).

A fill that adds to a position moves the average entry price; a fill that reduces it
realizes PnL against that price; a fill that crosses zero closes and reopens at the fill
price. Fees are tracked apart from trading PnL.

Linear (``…@LIN``): quantities are signed base units, PnL and fees in the quote
currency (USDT): closing ``q`` of a long realizes ``q × (price − avg)``.

Inverse (``…@INV``, Deribit BTC-PERPETUAL): quantities are signed USD contracts, PnL and
fees in the base coin (BTC). ``q`` USD at price ``p`` is worth ``q / p`` BTC, so:

- the average entry of ``Q`` USD is the contract-weighted *harmonic* mean of the fill
  prices: ``avg = Σ|q_i| / Σ(|q_i| / p_i)``;
- closing ``q`` USD of a long realizes ``q × (1/avg − 1/price)`` BTC (a short: minus
  that), and a position is marked the same way: ``Q × (1/avg − 1/mark)``;
- fees are paid in BTC (NautilusTrader and Deribit charge ``fee rate × q / price``).

That is exactly the linear rule applied to ``−q`` units of "USD" priced ``1/p`` BTC,
which the tests check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

QUANTITY_EPSILON = 1e-12


@dataclass(frozen=True, slots=True)
class Position:
    quantity: float = 0.0
    avg_entry_price: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0

    def unrealized_pnl(self, mark_price: float) -> float:
        return self.quantity * (mark_price - self.avg_entry_price) if self.quantity else 0.0


def _check_fill(signed_quantity: float, price: float, fee: float) -> None:
    finite = math.isfinite(price) and math.isfinite(signed_quantity) and math.isfinite(fee)
    if not finite or price <= 0 or signed_quantity == 0:
        raise ValueError(f"invalid fill: quantity {signed_quantity}, price {price}, fee {fee}")


def apply_fill(
    position: Position, signed_quantity: float, price: float, fee: float = 0.0
) -> Position:
    """The position after a fill of ``signed_quantity`` (+ buy, − sell) at ``price``."""
    _check_fill(signed_quantity, price, fee)
    qty, avg = position.quantity, position.avg_entry_price
    new_qty = qty + signed_quantity
    realized = position.realized_pnl
    if qty == 0 or (qty > 0) == (signed_quantity > 0):  # open or add
        avg = (abs(qty) * avg + abs(signed_quantity) * price) / abs(new_qty)
    else:  # reduce, close or flip
        closed = min(abs(signed_quantity), abs(qty))
        realized += closed * (price - avg) * (1 if qty > 0 else -1)
        if abs(new_qty) <= QUANTITY_EPSILON:
            new_qty, avg = 0.0, 0.0
        elif (new_qty > 0) != (qty > 0):  # flipped: the rest opens at the fill price
            avg = price
    return replace(
        position,
        quantity=new_qty,
        avg_entry_price=avg,
        realized_pnl=realized,
        fees=position.fees + fee,
    )


def apply_inverse_fill(
    position: Position, signed_contracts: float, price: float, fee: float = 0.0
) -> Position:
    """The inverse position after a fill of ``signed_contracts`` USD (+ buy, − sell) at
    ``price`` with ``fee`` in the coin (the rule in the module docstring)."""
    _check_fill(signed_contracts, price, fee)
    qty, avg = position.quantity, position.avg_entry_price
    new_qty = qty + signed_contracts
    realized = position.realized_pnl
    if qty == 0 or (qty > 0) == (signed_contracts > 0):  # open or add: harmonic mean
        coins = (abs(qty) / avg if qty else 0.0) + abs(signed_contracts) / price
        avg = abs(new_qty) / coins
    else:  # reduce, close or flip
        closed = min(abs(signed_contracts), abs(qty))
        realized += closed * (1.0 / avg - 1.0 / price) * (1 if qty > 0 else -1)
        if abs(new_qty) <= QUANTITY_EPSILON:
            new_qty, avg = 0.0, 0.0
        elif (new_qty > 0) != (qty > 0):  # flipped: the rest opens at the fill price
            avg = price
    return replace(
        position,
        quantity=new_qty,
        avg_entry_price=avg,
        realized_pnl=realized,
        fees=position.fees + fee,
    )


def inverse_unrealized_pnl(position: Position, mark_price: float) -> float:
    """The coin PnL of an inverse position marked at ``mark_price``."""
    if not position.quantity:
        return 0.0
    return position.quantity * (1.0 / position.avg_entry_price - 1.0 / mark_price)
