"""``UnifiedPositionTracker``: positions per strategy and venue instrument, persisted, and
aggregated across venues per canonical instrument (``PERPETUAL:BTC-USDT@LIN``).

Fills move positions inside the OMS's fill transaction (``UnifiedOrderManager(positions=)``),
so a fill reported twice moves nothing twice; this class is the read side."""

from __future__ import annotations

from typing import Any

from live_daemon.oms.positions import PositionStore


class UnifiedPositionTracker:
    def __init__(self, store: PositionStore) -> None:
        self.store = store

    async def rows(self) -> list[dict[str, Any]]:
        """Per strategy and venue instrument, then the cross-venue aggregate per instrument."""
        return [
            *[{"scope": "venue", **row} for row in await self.store.all()],
            *[{"scope": "aggregate", **row} for row in await self.store.by_instrument()],
        ]
