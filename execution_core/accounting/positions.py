"""Netting position accounting for linear instruments (PnL in the quote currency).

A fill that adds to a position moves the average entry price; a fill that reduces it
realizes PnL against that price; a fill that crosses zero closes and reopens at the fill
price. Fees are tracked apart from trading PnL. Quantities are signed base units.
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


def apply_fill(
    position: Position, signed_quantity: float, price: float, fee: float = 0.0
) -> Position:
    """The position after a fill of ``signed_quantity`` (+ buy, − sell) at ``price``."""
    finite = math.isfinite(price) and math.isfinite(signed_quantity) and math.isfinite(fee)
    if not finite or price <= 0 or signed_quantity == 0:
        raise ValueError(f"invalid fill: quantity {signed_quantity}, price {price}, fee {fee}")
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
