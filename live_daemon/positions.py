"""``UnifiedPositionTracker``: positions per strategy and venue instrument, persisted, and
aggregated across venues per canonical instrument (``PERPETUAL:BTC-USDT@LIN``).

Fills move positions inside the OMS's fill transaction (``UnifiedOrderManager(positions=)``),
so a fill reported twice moves nothing twice; this class is the read side.

Each row names its ``settlement_currency``, the currency its ``realized_pnl`` and ``fees``
are in (:func:`~execution_core.accounting.settlement.settlement_currency`): the quote
currency (USDT) for a linear instrument, the coin (BTC) for an inverse one, whose
``quantity`` is in USD contracts (see :mod:`live_daemon.oms.positions`)."""

from __future__ import annotations

from typing import Any

from execution_core.accounting.settlement import settlement_currency
from live_daemon.oms.positions import PositionStore


class UnifiedPositionTracker:
    def __init__(self, store: PositionStore) -> None:
        self.store = store

    async def rows(self) -> list[dict[str, Any]]:
        """Per strategy and venue instrument, then the cross-venue aggregate per instrument."""
        return [
            *[
                {
                    "scope": "venue",
                    **row,
                    "settlement_currency": settlement_currency(row["instrument_key"]),
                }
                for row in await self.store.all()
            ],
            *[
                {
                    "scope": "aggregate",
                    **row,
                    # every leg of a family settles alike: the suffix and the pair are in it
                    "settlement_currency": settlement_currency(row["instruments"][0]),
                }
                for row in await self.store.by_instrument()
            ],
        ]
