"""``VenueEventConsumer``: what the venues report (accepted, filled, canceled, rejected),
applied to the OMS, the positions, the risk book and the metrics.

One task applies the events in arrival order, as many as have queued up in one
transaction: acknowledgements in one statement, fills in one statement per round (at most
one fill per order in a statement, :mod:`live_daemon.oms.fill_batch`), every position row
written once. A cancel or a rejection is applied where it arrived, after what came before
it. Only once the transaction has committed do the risk book and the metrics hear of it.
If any event fails, the batch is rolled back and its events applied one at a time, so one
bad event costs only itself. If the database cannot be reached (down, restarting), nothing
is dropped: the batch stays in hand and is tried again, with backoff, until it commits
(every statement of a batch is safe to repeat: fills are keyed by venue and fill id,
statuses only move forward).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from functools import partial
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

from execution_core.instruments.reference import InstrumentReference
from execution_core.risk.engine import RiskBook
from live_daemon.domain import EventKind, Fill, OrderStatus
from live_daemon.metrics import Metrics
from live_daemon.oms.errors import is_database_unavailable
from live_daemon.oms.fill_batch import VenueFill
from live_daemon.oms.orders import UnifiedOrderManager
from live_daemon.oms.positions import PositionBatch
from live_daemon.venues.gateway import CLOSING_KINDS, VenueEvent, VenueEventKind

log = logging.getLogger(__name__)

MAX_EVENT_BATCH = 500  # venue events committed together at most
DATABASE_RETRY_MAX_SECS = 2.0  # the longest pause between two tries while the database is down

Effect = Callable[[], None]
"""What to do in memory once a batch has committed."""


class VenueEventConsumer:
    """Applies venue events (see the module docstring); :meth:`put` is called on the
    daemon's loop by the venue gateway."""

    def __init__(
        self,
        oms: UnifiedOrderManager,
        risk_book: RiskBook,
        reference: InstrumentReference,
        metrics: Metrics,
    ) -> None:
        self.oms, self.risk_book, self.reference, self.metrics = oms, risk_book, reference, metrics
        self._queue: asyncio.Queue[VenueEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._consume(), name="venue-events")

    async def stop(self) -> None:
        """Apply what has arrived, then stop."""
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()

    def put(self, event: VenueEvent) -> None:
        self._queue.put_nowait(event)

    def pending(self) -> int:
        return self._queue.qsize()

    async def drain(self) -> None:
        """Return once every event put so far has been applied (committed or given up)."""
        await self._queue.join()

    async def _consume(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_EVENT_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self.apply_batch(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    # --- one batch ---------------------------------------------------------------------------
    async def apply_batch(self, batch: list[VenueEvent]) -> None:
        """Commit the batch's changes together, then update the in-memory books."""
        try:
            effects = await self._commit_when_reachable(batch)
        except Exception:
            if len(batch) > 1:
                for event in batch:
                    await self.apply_batch([event])
                return
            self.metrics.error("venue_event")
            log.exception(
                "venue_event_failed order_id=%s kind=%s", batch[0].order_id, batch[0].kind
            )
            return
        for effect in effects:  # only what is committed reaches the risk book and metrics
            effect()
        if any(event.kind == VenueEventKind.FILLED for event in batch):
            self._update_exposure()

    async def _commit_when_reachable(self, batch: list[VenueEvent]) -> list[Effect]:
        """:meth:`_commit`, tried again for as long as the database cannot be reached."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_database_unavailable),
            wait=wait_exponential(multiplier=0.05, max=DATABASE_RETRY_MAX_SECS),
            before_sleep=self._log_waiting,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._commit(batch)
        raise AssertionError("unreachable: AsyncRetrying either returns or raises")

    def _log_waiting(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "venue_events_waiting_for_database attempt=%d kept=%d error=%s",
            state.attempt_number,
            self._queue.qsize() + 1,
            type(error).__name__,
        )

    async def _commit(self, batch: list[VenueEvent]) -> list[Effect]:
        effects: list[Effect] = []
        acks: list[tuple[str, EventKind, dict[str, Any]]] = []
        fills: list[VenueFill] = []
        positions = PositionBatch()  # the batch's position changes, written together
        async with self.oms.transaction() as conn:

            async def flush() -> None:
                """Acknowledgements, then fills: what came before the next cancel."""
                await self.oms.append_events(acks, conn=conn)
                acks.clear()
                new = await self.oms.add_fills(fills, conn=conn, positions=positions)
                fills.clear()
                effects.extend(
                    partial(
                        self._on_new_fill,
                        n.strategy_id,
                        n.venue_key,
                        n.signed_quantity,
                        n.fill.price,
                        n.order_id,
                    )
                    for n in new
                )

            for event in batch:
                if event.kind == VenueEventKind.ACCEPTED:
                    acks.append((event.order_id, EventKind.ACKNOWLEDGED, event.detail))
                    effects.append(partial(self.metrics.order_accepted, event.venue_key))
                elif event.kind == VenueEventKind.FILLED and event.fill is not None:
                    fills.append((event.venue_key, self._in_base_units(event)))
                elif event.kind in CLOSING_KINDS:
                    await flush()
                    effects.extend(await self._close(event, conn))
                elif event.kind == VenueEventKind.COMPLETED:
                    await flush()
                    effects.extend(await self._complete(event, conn))
            await flush()
            if self.oms.positions is not None:
                await self.oms.positions.apply_batch(conn, positions)
        return effects

    def _in_base_units(self, event: VenueEvent) -> Fill:
        """The venue's fill with its quantity in base units (OKX contracts, Deribit USD)."""
        assert event.fill is not None
        spec = self.reference.get(event.venue_key)
        quantity = spec.base_quantity(event.fill.quantity, event.fill.price)
        return replace(event.fill, quantity=quantity)

    async def _complete(self, event: VenueEvent, conn: Any) -> list[Effect]:
        """The venue filled its order in full: the order is FILLED, also when its fills in
        base units add up to less than it asked (the remainder, below one of the venue's
        contracts, was rounded away before the send and never traded)."""
        current = await self.oms.get_order(event.order_id, with_fills=False, conn=conn)
        # from a reconciliation: only when the OMS holds exactly the venue's fills
        venue_filled = event.detail.get("venue_filled")
        agrees = venue_filled is None or (
            current is not None and current.filled_quantity == Decimal(venue_filled)
        )
        if (
            current is not None
            and not current.status.is_final
            and current.filled_quantity > 0
            and agrees
        ):
            detail = {**event.detail, "unsent": str(current.quantity - current.filled_quantity)}
            await self.oms.transition(
                event.order_id, OrderStatus.FILLED, EventKind.FILLED, detail, conn=conn
            )
        return [partial(self.risk_book.on_order_closed, event.order_id)]

    async def _close(self, event: VenueEvent, conn: Any) -> list[Effect]:
        """A cancel or a rejection: the order's final status, unless it already has one."""
        effects: list[Effect] = [partial(self.risk_book.on_order_closed, event.order_id)]
        if event.kind == VenueEventKind.CANCELED:
            status, kind = OrderStatus.CANCELED, EventKind.CANCELLED
            reason = event.detail.get("reason") if event.detail.get("reconciled") else None
        else:
            effects.append(partial(self.metrics.order_rejected, "VENUE"))
            status, kind = OrderStatus.REJECTED, EventKind.REJECTED
            reason = str(event.detail.get("reason", "rejected by the venue"))
        current = await self.oms.get_order(event.order_id, with_fills=False, conn=conn)
        if current is not None and not current.status.is_final:
            await self.oms.transition(
                event.order_id, status, kind, event.detail, rejection_reason=reason, conn=conn
            )
        return effects

    # --- in memory ---------------------------------------------------------------------------
    def _on_new_fill(
        self, strategy_id: str, venue_key: str, signed: Decimal, price: Decimal, order_id: str
    ) -> None:
        self.risk_book.on_fill(strategy_id, venue_key, signed, price, order_id)
        self.metrics.fill(venue_key)

    def _update_exposure(self) -> None:
        """Exposure gauges from the risk book (in memory; no query per fill)."""
        state = self.risk_book.view()
        totals: dict[str, Decimal] = {}
        for (_, family), quantity in state.positions.items():
            totals[family] = totals.get(family, Decimal(0)) + quantity
        for family, quantity in totals.items():
            price = state.last_prices.get(family)
            if price is not None:
                self.metrics.set_exposure(family, abs(quantity) * price)


__all__ = ["MAX_EVENT_BATCH", "VenueEventConsumer"]
