"""Many fills in one statement: the one path by which fills reach the OMS.

Under load the venues report fills faster than one round trip each: :func:`add_fills`
stores a batch with ``ADD_FILLS_SQL`` (fill once per ``(venue_key, fill_id)``, the order's
totals and status, a ``filled`` event) for every fill at once; ``UnifiedOrderManager.
add_fill`` is a batch of one. One statement cannot apply two fills to the same order, so
the batch is cut into :func:`rounds` with at most one fill per order, kept in arrival
order: usually one round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from execution_core.orders import Side
from live_daemon.domain import Fill
from live_daemon.oms.order_rows import fill_params
from live_daemon.oms.order_sql import ADD_FILLS_SQL
from live_daemon.oms.positions import PositionBatch

VenueFill = tuple[str, Fill]
"""A fill and the concrete instrument (``venue_key``) it was executed on."""


@dataclass(frozen=True)
class NewFill:
    """A fill stored for the first time, with what its order says about it."""

    venue_key: str
    fill: Fill
    order_id: str
    side: str  # as the database row has it: BUY or SELL
    strategy_id: str
    instrument_key: str

    @property
    def signed_quantity(self) -> Decimal:
        return self.fill.quantity if self.side == Side.BUY else -self.fill.quantity


def rounds(fills: Sequence[VenueFill]) -> list[list[VenueFill]]:
    """``fills`` cut, in order, into runs with at most one fill per order."""
    out: list[list[VenueFill]] = []
    current: list[VenueFill] = []
    orders: set[str] = set()
    for venue_fill in fills:
        order_id = venue_fill[1].order_id
        if order_id in orders:
            out.append(current)
            current, orders = [], set()
        current.append(venue_fill)
        orders.add(order_id)
    if current:
        out.append(current)
    return out


async def add_fills(
    conn: asyncpg.Connection, fills: Sequence[VenueFill], positions: PositionBatch | None
) -> list[NewFill]:
    """Store ``fills`` in ``conn``'s transaction (one statement per round); return the new
    ones, in order. A fill already stored is skipped. Each new fill's position change goes
    into ``positions`` (for :meth:`PositionStore.apply_batch` before the commit). A fill of
    an unknown order raises ``asyncpg.ForeignKeyViolationError`` (nothing of the statement
    is kept)."""
    new: list[NewFill] = []
    for group in rounds(fills):
        params = [fill_params(venue_key, fill) for venue_key, fill in group]
        columns = [list(column) for column in zip(*params, strict=True)]
        rows = await conn.fetch(ADD_FILLS_SQL, *columns)
        stored = {(row["venue_key"], row["fill_id"]): row for row in rows}
        for venue_key, fill in group:
            row = stored.get((venue_key, fill.fill_id))
            if row is None:
                continue
            added = NewFill(
                venue_key,
                fill,
                row["order_id"],
                row["side"],
                row["strategy_id"],
                row["instrument_key"],
            )
            if positions is not None:
                positions.add(
                    added.strategy_id,
                    added.instrument_key,
                    venue_key,
                    added.signed_quantity,
                    fill.price,
                    fill.fee,
                )
            new.append(added)
    return new


__all__ = ["NewFill", "VenueFill", "add_fills", "rounds"]
