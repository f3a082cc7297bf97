"""``LiveExecutionOrchestrator``: validate → risk → OMS → router → venue, and back.

Risk and routing run in memory on the current books; an order that passes is reserved in
the risk book at once, so concurrent orders count it. Then the order is committed to
PostgreSQL in its decided state (SUBMITTED or REJECTED, with its events; orders of the same
loop turn share the commit), and only then does the venue see it: a crash after the commit
leaves a row to resolve at startup (:meth:`LiveExecutionOrchestrator.recover`). The same
``operation_id`` again returns that row and sends nothing. What the venues report comes
back through :class:`~live_daemon.venue_events.VenueEventConsumer`, in arrival order, so a
fill never overtakes its acknowledgement.

The venue's own record settles what a crash or a lost connection left open
(:class:`~live_daemon.reconciliation.VenueReconciler`): at startup, on every venue
reconnection, and when a reconciliation run asks. While a venue is not connected its orders
are rejected with ``VENUE_DOWN`` (an ``ANY:`` order goes to a connected venue).

An order goes only to a venue that declares it takes the order's operation and time in
force (:meth:`~live_daemon.venues.gateway.VenueGateway.capabilities`); when no connected
venue does, it is recorded REJECTED with ``UNSUPPORTED_OPERATION`` before any venue sees it.
"""

from __future__ import annotations

import asyncio
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
from live_daemon.api.ports import ServiceUnavailable
from live_daemon.domain import EventKind, OrderRecord, OrderRequest, OrderStatus
from live_daemon.metrics import Metrics
from live_daemon.oms.execution_log import ExecutionLog, LogQuery
from live_daemon.oms.order_ids import new_order_id
from live_daemon.oms.orders import UnifiedOrderManager
from live_daemon.operations import OrderTerms
from live_daemon.positions import UnifiedPositionTracker
from live_daemon.reconciliation import Reconciliation, VenueReconciler, venue_state_columns
from live_daemon.supervision import Heartbeat
from live_daemon.venue_events import VenueEventConsumer
from live_daemon.venues.gateway import (
    Quote,
    VenueError,
    VenueEvent,
    VenueGateway,
    VenueOrder,
)

log = logging.getLogger(__name__)

_PLAIN_TRADE = OrderTerms()


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
        *,
        heartbeat: Heartbeat | None = None,
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
        self.reconciler = VenueReconciler(oms, gateway, self.venue_events, reference)
        self.heartbeat = heartbeat
        self._reconciling = asyncio.Lock()  # one reconciliation at a time
        self._background: set[asyncio.Task[None]] = set()
        self._recovered = False
        # per venue: its last quote, as the router's book and its mid (a quote is reused
        # by every order until the next one arrives, every few ms)
        self._quote_books: dict[str, tuple[Quote, TopOfBook, Decimal]] = {}
        self._started = time.monotonic()

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self.venue_events.start()
        await self.recover()

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.venue_events.stop()

    def on_venue_event(self, event: VenueEvent) -> None:
        """Called by the venue gateway (on the daemon's loop)."""
        self.venue_events.put(event)

    def on_venue_connection(self, connected: bool, venue: str = "paper") -> None:
        """Called by the venue gateway (on the daemon's loop) when a venue's connection is
        lost or back. Back: the fills and final states missed meanwhile are settled from the
        venue's record (startup recovery does it for the first connection)."""
        if not self._recovered:
            return
        task = asyncio.create_task(self._after_connection_change(connected, venue))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _after_connection_change(self, connected: bool, venue: str) -> None:
        if not connected:
            log.error(
                "venue_disconnected venue=%s: its orders are rejected until it is back", venue
            )
            await self._record_event("venue_disconnected", venue)
            return
        try:
            result = await self.reconcile("venue_reconnected")
        except Exception as exc:
            log.error("reconnection_reconciliation_failed venue=%s error=%s", venue, exc)
            return
        await self._record_event(
            "venue_connected", venue, {"reconnected": True, "settled": len(result.settled)}
        )

    async def _record_event(
        self, kind: str, venue: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        if self.heartbeat is not None:
            await self.heartbeat.record_event(kind, venue=venue, detail=detail)

    async def reconcile(self, reason: str, *, whole_record: bool = False) -> Reconciliation:
        """Settle the OMS against the venue's record (see :mod:`live_daemon.reconciliation`)."""
        async with self._reconciling:
            return await self.reconciler.reconcile(reason, whole_record=whole_record)

    # --- the order path --------------------------------------------------------------------
    async def submit(self, request: OrderRequest) -> tuple[OrderRecord, bool]:
        """Risk and routing run in memory on the current books; then one commit records the
        order in its decided state with its events; only then does the venue see it. A
        replayed ``operation_id`` returns the stored order and sends nothing.

        An order that passes risk is reserved in the risk book *before* the commit is
        awaited, so the orders checked meanwhile count it (a burst cannot overshoot a
        limit); the reservation is withdrawn if the order turns out not to be recorded."""
        if self.heartbeat is not None and self.heartbeat.ownership.lost_to_another:
            raise ServiceUnavailable(
                "another daemon took this database's ownership lock; this daemon takes no orders"
            )
        started = time.perf_counter()
        order_id = new_order_id()
        risk_order = self._risk_order(request)
        status, events, venue_key, reason, routed = self._decide(request, risk_order)
        venue_type = None
        if routed is not None:
            self.risk_book.on_order_accepted(risk_order, order_id)
            venue_type = self.gateway.capabilities(routed.venue_key).venue_type
        try:
            record, created = await self.oms.record_decided(
                request,
                status,
                events,
                venue_key=venue_key,
                rejection_reason=reason,
                order_id=order_id,
                venue_type=venue_type,
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
        if unsupported := self._unsupported(request):
            reason = f"UNSUPPORTED_OPERATION: {unsupported}"
            refused: dict[str, Any] = {"error": reason, "code": "UNSUPPORTED_OPERATION"}
            return OrderStatus.REJECTED, [(EventKind.ROUTED, refused)], None, reason, None
        books = self._books(request)  # also gives the risk book its last prices
        if not books and (unreachable := self._venues_down(request)):
            reason = f"VENUE_DOWN: {'; '.join(unreachable)}; try again once it is back"
            down: dict[str, Any] = {"error": reason, "code": "VENUE_DOWN"}
            return OrderStatus.REJECTED, [(EventKind.ROUTED, down)], None, reason, None
        self._price_held_instruments()
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
                request.side,
                float(request.quantity),
                books,
                time.time_ns(),
                unavailable=self._unavailable(request),
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
            VenueOrder(
                record.order_id, routed.venue_key, request.side, venue_qty, request.order_type,
                request.price, request.exec_algorithm, request.exec_algorithm_params,
                None if request.terms == _PLAIN_TRADE else request.terms,
            )
        )  # fmt: skip

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
            if not self.gateway.is_connected(spec.key):
                continue  # an ANY: order goes to a venue that is there
            if self.gateway.capabilities(spec.key).refusal(request.terms) is not None:
                continue  # nor to one that does not take its operation
            cached = self._quote_book(spec.key)
            if cached is not None:
                books[spec.key] = cached[1]
        return books

    def _quote_book(self, venue_key: str) -> tuple[Quote, TopOfBook, Decimal] | None:
        """The venue's latest quote as the router's book and its mid, converted once per
        quote; the mid also becomes the risk book's last price of the instrument."""
        quote = self.gateway.last_quote(venue_key)
        if quote is None:
            return None
        cached = self._quote_books.get(venue_key)
        if cached is None or cached[0] is not quote:  # a new quote since the last order
            bid, bid_size, ask, ask_size, ts_ns = quote
            book = TopOfBook.from_venue_units(
                self.reference.get(venue_key),
                float(bid), float(bid_size), float(ask), float(ask_size), ts_ns,
            )  # fmt: skip
            cached = self._quote_books[venue_key] = (quote, book, (bid + ask) / 2)
            self.risk_book.set_last_price(venue_key, cached[2])
        return cached

    def _price_held_instruments(self) -> None:
        """Every quoted instrument's last price for the risk book, not only the ordered
        one's: the exposure rule prices every instrument a strategy holds (a daemon
        restarted on held positions would otherwise reject orders with NO_LAST_PRICE)."""
        for venue_key in self.gateway.instrument_keys:
            self._quote_book(venue_key)

    def _unsupported(self, request: OrderRequest) -> str | None:
        """What no connected venue the order may go to takes (``"no connected venue
        supports operation 'bet'"``), or ``None``: some does, or none is connected (then
        the order is VENUE_DOWN), or the instrument is unknown (the router says so)."""
        try:
            candidates = self.router.candidates(request.instrument_key)
        except ExecutionServicesError:
            return None
        refusals = [
            self.gateway.capabilities(spec.key).refusal(request.terms)
            for spec in candidates
            if self.gateway.is_connected(spec.key)
        ]
        if not refusals or None in refusals:
            return None
        log.info(
            "order_unsupported operation=%s time_in_force=%s instrument=%s refusal=%s",
            request.terms.operation, request.terms.time_in_force, request.instrument_key,
            refusals[0],
        )  # fmt: skip
        return f"no connected venue supports {refusals[0]}"

    def _venues_down(self, request: OrderRequest) -> list[str]:
        """The venues the order could go to that cannot take it now, with the reason."""
        return [f"{reason} ({key})" for key, reason in self._unavailable(request).items()]

    def _unavailable(self, request: OrderRequest) -> dict[str, str]:
        """The venues the order could go to that cannot take an order now (not connected,
        circuit open), with the reason: the routing decision records it."""
        try:
            candidates = self.router.candidates(request.instrument_key)
        except ExecutionServicesError:
            return {}
        return {
            spec.key: self.gateway.unavailable_reason(spec.key) or "not connected"
            for spec in candidates
            if not self.gateway.is_connected(spec.key)
        }

    # --- queries ---------------------------------------------------------------------------
    async def get(self, operation_id: str) -> OrderRecord | None:
        return await self.oms.get(operation_id)

    async def cancel(self, operation_id: str) -> OrderRecord | None:
        record = await self.oms.get(operation_id)
        if record is None or record.status.is_final:
            return record
        self.gateway.cancel(record.order_id, record.venue_key)
        return record

    async def list_orders(self, **filters: Any) -> list[OrderRecord]:
        return await self.oms.list(**filters)

    async def timeline(self, operation_id: str) -> tuple[OrderRecord, list[dict[str, Any]]] | None:
        record = await self.oms.get(operation_id, with_fills=False)
        if record is None:
            return None
        return record, await self.oms.events(record.order_id)

    async def execution_log(self, query: LogQuery) -> list[dict[str, Any]]:
        return await ExecutionLog(self.oms.pool).entries(query)

    async def positions(self) -> list[dict[str, Any]]:
        return await self.position_tracker.rows()

    async def health(self) -> dict[str, Any]:
        counts: tuple[int, int] | tuple[None, None] = (None, None)
        try:
            counts = await self.oms.counts()
            database = "ok"
        except Exception as exc:
            database = f"error: {exc}"
        venues = self.gateway.venues_health()
        # No database: nothing can be recorded (error, 503). A venue down: orders to it are
        # recorded and rejected, positions and queries still work (degraded).
        status = "error" if database != "ok" else "ok"
        if self.heartbeat is not None and self.heartbeat.ownership.lost_to_another:
            status = "error"
        if status == "ok" and any(not venue_is_up(v) for v in venues.values()):
            status = "degraded"
        return {
            "status": status,
            "uptime_s": round(time.monotonic() - self._started, 3),
            "database": database,
            "venues": venues,
            "instance": None if self.heartbeat is None else self.heartbeat.as_dict(),
            "orders": counts[0],
            "fills": counts[1],
            "pending_venue_events": self.venue_events.pending(),
        }

    async def reconciliation_report(self) -> dict[str, Any]:
        """Settle what is certain, then the venue's record as columns in base units, for a
        reconciliation run to compare with the OMS. A venue that cannot be read is listed
        in ``unreachable`` (with the reason in ``errors``), never reported as empty."""
        venues = self.gateway.venues_health()
        report: dict[str, Any] = {
            "venues": {
                name: {
                    "connected": venue_is_up(venue),
                    "endpoint": venue.get("endpoint"),
                    "venue_keys": list(venue.get("venue_keys", ())),
                }
                for name, venue in venues.items()
            },
            "read_at": None,
            "unreachable": [],
            "errors": {},
            "settled": [],
            "orders": {},
            "fills": {},
            "positions": {},
        }
        try:
            result = await self.reconcile("requested", whole_record=True)
        except VenueError as exc:
            down = [name for name, venue in venues.items() if not venue_is_up(venue)] or list(
                venues
            )
            log.error("reconciliation_venue_unreachable venues=%s error=%s", down, exc)
            report.update(unreachable=down, errors={name: str(exc) for name in down})
            return report
        for name in venues:
            await self._record_event("reconciled", name, {"settled": len(result.settled)})
        report.update(
            read_at=result.state.read_at.isoformat(),
            settled=[s.as_dict() for s in result.settled],
            **venue_state_columns(result.state, self.reference),
        )
        return report

    # --- startup recovery ------------------------------------------------------------------
    async def recover(self) -> list[str]:
        """Resolve the orders a crash left in flight from the venue's own record: fills
        missed while the daemon was down are applied once, finished orders closed as the
        venue closed them, and only an order the venue really does not have is closed as
        "not found at the venue". Returns the order ids it settled."""
        result = await self.reconcile("startup")
        self._recovered = True
        resolved = list(dict.fromkeys(s.order_id for s in result.settled))
        if resolved:
            log.warning("recovered_in_flight_orders count=%d", len(resolved))
        return resolved


def venue_is_up(venue: dict[str, Any]) -> bool:
    """A venue's health entry says it is connected (the paper venue also says ``running``)."""
    return bool(venue.get("connected", venue.get("running")))
