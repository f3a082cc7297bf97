"""The ``book.{inst}.100ms`` channel from the replayed touch: a one-level book per side,
sent as Deribit does: a snapshot (every level ``new``, no ``prev_change_id``), then changes
(``new`` / ``change`` / ``delete`` levels) whose ``prev_change_id`` is the last
``change_id``, so a client sees when it missed one. Plain functions, no I/O."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from live_daemon.venues.deribit.standin.model import Touch

Level = list[Any]  # [action, price, amount]


def _side(price: Decimal | None, amount: Decimal) -> dict[Decimal, Decimal]:
    return {} if price is None else {price: amount}


def levels(touch: Touch) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    return _side(touch.bid, touch.bid_amount), _side(touch.ask, touch.ask_amount)


def side_diff(old: dict[Decimal, Decimal], new: dict[Decimal, Decimal]) -> list[Level]:
    """The levels that turn ``old`` into ``new``: deletes first, then new and changed."""
    out: list[Level] = [["delete", price, 0] for price in old if price not in new]
    for price, amount in new.items():
        if price not in old:
            out.append(["new", price, amount])
        elif old[price] != amount:
            out.append(["change", price, amount])
    return out


def snapshot(name: str, touch: Touch, change_id: int, timestamp: int) -> dict[str, Any]:
    bids, asks = levels(touch)
    return {
        "type": "snapshot",
        "instrument_name": name,
        "timestamp": timestamp,
        "change_id": change_id,
        "bids": side_diff({}, bids),
        "asks": side_diff({}, asks),
    }


def change(
    name: str, old: Touch, new: Touch, prev_change_id: int, timestamp: int
) -> dict[str, Any] | None:
    """The change from ``old`` to ``new`` (``None`` if the book did not change)."""
    old_bids, old_asks = levels(old)
    new_bids, new_asks = levels(new)
    bids, asks = side_diff(old_bids, new_bids), side_diff(old_asks, new_asks)
    if not bids and not asks:
        return None
    return {
        "type": "change",
        "instrument_name": name,
        "timestamp": timestamp,
        "prev_change_id": prev_change_id,
        "change_id": prev_change_id + 1,
        "bids": bids,
        "asks": asks,
    }
