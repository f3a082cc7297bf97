"""``LiveExecutionOrchestrator``: validate → risk → OMS → router → venue, and back.

Risk and routing run in memory on the current books; an order that passes is reserved in
the risk book at once, so concurrent orders count it. Then the order is committed to
PostgreSQL in its decided state (SUBMITTED or REJECTED, with its events; orders of the same
loop turn share the commit), and only then does the venue see it: a crash after the commit
leaves a row to resolve at startup (:meth:`LiveExecutionOrchestrator.recover`). The same
``operation_id`` again returns that row and sends nothing. What the venues report comes
back through :class:`~live_daemon.venue_events.VenueEventConsumer`, in arrival order, so a
fill never overtakes its acknowledgement.
"""

from __future__ import annotations

import inspect
import logging
import time
from decimal import ROUND_DOWN, Decimal
from typing import Any

from execution_core.errors import ExecutionServicesError
from execution_core.instruments.reference import InstrumentReference
from execution_core.risk.engine import PreTradeRiskEngine, RiskBook
from execution_core.risk.rules import RiskOrder
from execution_core.routing.costs import TopOfBook, venue_quantity
from execution_core.routing.router import SmartRouter
from live_daemon.domain import EventKind, OrderRecord, OrderRequest, OrderStatus
from live_daemon.metrics import Metrics
from live_daemon.oms.order_ids import new_order_id
from live_daemon.oms.orders import UnifiedOrderManager
from live_daemon.positions import UnifiedPositionTracker
from live_daemon.venue_events import VenueEventConsumer
from live_daemon.venues.gateway import Quote, VenueEvent, VenueGateway

log = logging.getLogger(__name__)


class LiveExecutionOrchestrator:
    def __init__(
        self,
        oms: UnifiedOrderManager,
        positions: UnifiedPositionTracker,
        risk: PreTradeRiskEngine,
        risk_book: RiskBook,
        router: SmartRouter,
        gateway: VenueGateway,
        reference: InstrumentReference,
        metrics: Metrics,
    ) -> None:
        self.oms, self.position_tracker = oms, positions
        self.risk, self.risk_book = risk, risk_book
        self.router, self.gateway, self.reference, self.metrics = (
            router,
            gateway,
            reference,
            metrics,
        )
        self.venue_events = VenueEventConsumer(oms, risk_book, reference, metrics)
        # per venue: its last quote, as the router's book and its mid (a quote is reused
        # by every order until the next one arrives, every few ms)
        self._quote_books: dict[str, tuple[Quote, TopOfBook, Decimal]] = {}
        self._started = time.monotonic()

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self.venue_events.start()
        await self.recover()

    async def stop(self) -> None:
        await self.venue_events.stop()

    def on_venue_event(self, event: VenueEvent) -> None:
        """Called by the venue gateway (on the daemon's loop)."""
        self.venue_events.put(event)

    # --- the order path --------------------------------------------------------------------
    async def submit(self, request: OrderRequest) -> tuple[OrderRecord, bool]:
        """Risk and routing run in memory on the current books; then one commit records the
        order in its decided state with its events; only then does the venue see it. A
        replayed ``operation_id`` returns the stored order and sends nothing.

        An order that passes risk is reserved in the risk book *before* the commit is
        awaited, so the orders checked meanwhile count it (a burst cannot overshoot a
        limit); the reservation is withdrawn if the order turns out not to be recorded."""
        started = time.perf_counter()
        order_id = new_order_id()
        risk_order = self._risk_order(request)
        status, events, venue_key, reason, routed = self._decide(request, risk_order)
        if routed is not None:
            self.risk_book.on_order_accepted(risk_order, order_id)
        try:
            record, created = await self.oms.record_decided(
                request,
                status,
                events,
                venue_key=venue_key,
                rejection_reason=reason,
                order_id=order_id,
            )
        except Exception:
            if routed is not None:
                self.risk_book.withdraw(risk_order, order_id)
            raise
        if not created:
            if routed is not None:
                self.risk_book.withdraw(risk_order, order_id)
            return record, False
        self.metrics.order_submitted(request.strategy_id)
        if routed is None:
            self.metrics.order_rejected(str(events[-1][1].get("code", "NO_VENUE")))
        else:
            self._send(record, request, routed)
        self.metrics.observe_ack(time.perf_counter() - started)
        return record, True

    def _decide(
        self, request: OrderRequest, risk_order: RiskOrder
    ) -> tuple[OrderStatus, list[tuple[EventKind, dict[str, Any]]], str | None, str | None, Any]:
        """(status, events, venue_key, rejection_reason, routing decision or None)."""
        books = self._books(request)  # also gives the risk book its last prices
        decision = self.risk.check(risk_order, self.risk_book.view())
        if not decision.passed:
            detail = {
                "passed": False,
                "code": decision.rejections[0].code,
                "rejections": [r.__dict__ for r in decision.rejections],
            }
            return OrderStatus.REJECTED, [(EventKind.RISK, detail)], None, decision.reason(), None
        risk_event: tuple[EventKind, dict[str, Any]] = (EventKind.RISK, {"passed": True})
        try:
            routed = self.router.route(
                request.instrument_key,
                "BUY" if request.side == "BUY" else "SELL",
                float(request.quantity),
                books,
                time.time_ns(),
            )
        except ExecutionServicesError as exc:
            failed = [risk_event, (EventKind.ROUTED, {"error": str(exc), "code": "NO_VENUE"})]
            return OrderStatus.REJECTED, failed, None, f"routing: {exc}", None
        events: list[tuple[EventKind, dict[str, Any]]] = [
            risk_event,
            (EventKind.ROUTED, routed.as_dict()),
        ]
        return OrderStatus.SUBMITTED, events, routed.venue_key, None, routed

    def _send(self, record: OrderRecord, request: OrderRequest, routed: Any) -> None:
        """Hand a recorded order to its venue (already reserved in the risk book)."""
        self.metrics.venue_chosen(routed.venue_key)
        spec = self.reference.get(routed.venue_key)
        mid = Decimal(str(routed.chosen.reference_price))
        # The API, risk, router and OMS speak base units; a venue speaks its own (OKX
        # contracts, Deribit USD): convert at the boundary, rounded down to its size grid.
        venue_qty = (
            venue_quantity(spec, float(request.quantity), float(mid)) / spec.size_increment
        ).to_integral_value(ROUND_DOWN) * spec.size_increment
        self.gateway.submit(
            record.order_id,
            routed.venue_key,
            request.side,
            venue_qty,
            request.order_type,
            request.price,
            request.exec_algorithm,
            request.exec_algorithm_params,
        )

    def _risk_order(self, request: OrderRequest) -> RiskOrder:
        return RiskOrder(
            strategy_id=request.strategy_id,
            instrument_key=request.instrument_key,
            side=request.side,
            quantity=request.quantity,
            order_type=request.order_type,
            price=request.price,
            ts_ns=time.time_ns(),
        )

    def _books(self, request: OrderRequest) -> dict[str, TopOfBook]:
        """Latest quote of every venue the order may go to, in base units; each mid also
        becomes the risk book's last price of the instrument."""
        try:
            candidates = self.router.candidates(request.instrument_key)
        except ExecutionServicesError:
            return {}  # the router reports the unknown instrument with its reason
        books = {}
        for spec in candidates:
            quote = self.gateway.last_quote(spec.key)
            if quote is None:
                continue
            cached = self._quote_books.get(spec.key)
            if cached is None or cached[0] is not quote:  # a new quote since the last order
                bid, bid_size, ask, ask_size, ts_ns = quote
                book = TopOfBook.from_venue_units(
                    spec, float(bid), float(bid_size), float(ask), float(ask_size), ts_ns
                )
                cached = self._quote_books[spec.key] = (quote, book, (bid + ask) / 2)
            books[spec.key] = cached[1]
            self.risk_book.set_last_price(spec.key, cached[2])
        return books

    # --- queries ---------------------------------------------------------------------------
    async def get(self, operation_id: str) -> OrderRecord | None:
        return await self.oms.get(operation_id)

    async def cancel(self, operation_id: str) -> OrderRecord | None:
        record = await self.oms.get(operation_id)
        if record is None or record.status.is_final:
            return record
        self.gateway.cancel(record.order_id)
        return record

    async def list_orders(self, **filters: Any) -> list[OrderRecord]:
        return await self.oms.list(**filters)

    async def positions(self) -> list[dict[str, Any]]:
        return await self.position_tracker.rows()

    async def health(self) -> dict[str, Any]:
        try:
            await self.oms.count()
            database = "ok"
        except Exception as exc:
            database = f"error: {exc}"
        venues = self.gateway.health()
        # No database: nothing can be recorded (error, 503). No venue: orders are recorded
        # and rejected, positions and queries still work (degraded).
        status = "error" if database != "ok" else "ok"
        if status == "ok" and venues.get("running") is False:
            status = "degraded"
        return {
            "status": status,
            "uptime_s": round(time.monotonic() - self._started, 3),
            "database": database,
            "venues": venues,
            "pending_venue_events": self.venue_events.pending(),
        }

    # --- startup recovery ------------------------------------------------------------------
    async def recover(self) -> list[str]:
        """Resolve orders left in flight by a crash against what the venue knows."""
        resolved = []
        for record in await self.oms.in_flight(include_received=True):
            if record.status is OrderStatus.RECEIVED:  # recorded, never risk-checked nor sent
                await self.oms.transition(
                    record.order_id,
                    OrderStatus.CANCELED,
                    EventKind.RECOVERED,
                    {"venue_state": None},
                    rejection_reason="the daemon stopped before processing it; never sent",
                )
                resolved.append(record.order_id)
                continue
            state = self.gateway.order_state(record.order_id)
            if inspect.isawaitable(state):  # a venue across a connection
                state = await state
            if state is None:
                # The venue never saw it (or, for the paper venue, whose process ends with
                # the daemon's, forgot it with the crash): nothing can fill any more.
                await self.oms.transition(
                    record.order_id,
                    OrderStatus.CANCELED,
                    EventKind.RECOVERED,
                    {"venue_state": None},
                    rejection_reason="not found at the venue after restart",
                )
            else:
                await self.oms.append_event(
                    record.order_id, EventKind.RECOVERED, {"venue_state": state}
                )
            resolved.append(record.order_id)
        if resolved:
            log.warning("recovered_in_flight_orders count=%d", len(resolved))
        return resolved
