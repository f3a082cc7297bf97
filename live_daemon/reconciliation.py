"""Reconciliation with the venues' own record, on the daemon's side: the daemon is the only
one that repairs the OMS.

The venue's record, not the OMS, is the truth about what happened at a venue.
:meth:`VenueReconciler.reconcile` runs at startup (orders left in flight by a crash), on
every venue reconnection (fills that arrived while the connection was down), and when a
Dagster reconciliation run asks for it (``POST /api/reconciliation/run``). It:

1. takes the OMS's in-flight orders *before* it reads the venue, so an order recorded
   meanwhile is never mistaken for one the venue lost;
2. reads the venue's record: at startup and on a reconnection only the in-flight orders'
   (:meth:`VenueGateway.order_record`, with their fills: what a crash or an outage can have
   left open costs as much as it left, whatever the venue's history), for a requested run
   the whole record once (:meth:`VenueGateway.venue_state`), which the run compares with
   the OMS;
3. settles what is certain, through the same path live venue events take
   (:class:`~live_daemon.venue_events.VenueEventConsumer`: fills stored once, positions
   moved in the same transaction, risk book and metrics after the commit):

   - a fill the venue has and the OMS lacks, when the OMS order's filled quantity plus the
     missing fills is exactly the venue's (anything else is a break for a person to see);
   - the final state of an order the OMS still has in flight (FILLED through its fills,
     CANCELED or REJECTED with the venue's reason);
   - an in-flight order the venue really does not have: CANCELED, "not found at the venue";
   - an order recorded but never sent (RECEIVED): CANCELED, "never sent".

It returns what it settled and the record it read, for the caller to report. If the venue
cannot be reached it raises (:class:`~live_daemon.venues.gateway.VenueError`) and settles
nothing: an unreachable venue is never read as an empty one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from execution_core.instruments.reference import InstrumentReference
from live_daemon.domain import EventKind, Fill, OrderRecord, OrderStatus
from live_daemon.oms.orders import UnifiedOrderManager
from live_daemon.venue_events import VenueEventConsumer
from live_daemon.venues.gateway import (
    VenueEvent,
    VenueEventKind,
    VenueGateway,
    VenueOrderRecord,
    VenueState,
)

log = logging.getLogger(__name__)

NEVER_SENT = "the daemon stopped before processing it; never sent"
RECORD_REQUESTS_AT_ONCE = 200  # order records asked of the venue concurrently
NOT_AT_VENUE = "not found at the venue"

_OMS_ORDERS_SQL = """
SELECT order_id, status, filled_quantity FROM unified_orders WHERE order_id = ANY($1::text[])
"""
_OMS_FILL_IDS_SQL = """
SELECT order_id, venue_key, fill_id FROM fills WHERE order_id = ANY($1::text[])
"""


@dataclass(frozen=True)
class Settlement:
    """One thing reconciliation repaired in the OMS."""

    kind: str  # fill_applied | status_resolved
    order_id: str
    venue_key: str | None
    fill_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "order_id": self.order_id,
            "venue_key": self.venue_key,
            "fill_id": self.fill_id,
            "detail": self.detail,
        }


@dataclass
class Reconciliation:
    """What one run read and settled."""

    reason: str
    state: VenueState
    settled: list[Settlement]


class VenueReconciler:
    """Settles the OMS against the venue's record (module docstring)."""

    def __init__(
        self,
        oms: UnifiedOrderManager,
        gateway: VenueGateway,
        venue_events: VenueEventConsumer,
        reference: InstrumentReference,
    ) -> None:
        self.oms, self.gateway, self.venue_events = oms, gateway, venue_events
        self.reference = reference

    async def reconcile(self, reason: str, *, whole_record: bool = False) -> Reconciliation:
        """Settle the in-flight orders (and, with ``whole_record``, every fill the OMS
        lacks) from the venue's record; see the module docstring."""
        in_flight = await self.oms.in_flight(include_received=True)  # before the venue read
        if whole_record:
            state = await self.gateway.venue_state()  # raises if the venue cannot be read
            state = await self._with_unlisted_external_orders(state)
        else:
            state = await self._in_flight_records(in_flight)
        settled = await self._close_never_sent(in_flight)
        events, fill_settlements = await self._missing_fills(state)
        settled += fill_settlements
        at_venue = {order.order_id: order for order in state.orders}
        if whole_record:  # a venue that lists only its open orders: ask for the rest by id
            unlisted = [
                r
                for r in in_flight
                if r.status is not OrderStatus.RECEIVED and r.order_id not in at_venue
            ]
            if unlisted:
                found = await self._in_flight_records(unlisted)
                at_venue.update((order.order_id, order) for order in found.orders)
        acknowledged = await self.oms.acknowledged([r.order_id for r in in_flight])
        for record in in_flight:
            if record.status is OrderStatus.RECEIVED:
                continue
            venue_order = at_venue.get(record.order_id)
            if venue_order is not None and record.order_id not in acknowledged:
                # the venue has it, its acknowledgement was lost with the connection
                detail = {"reconciled": True, "venue_status": venue_order.status}
                key = venue_order.venue_key
                events.append(VenueEvent(VenueEventKind.ACCEPTED, record.order_id, key, detail))
            if venue_order is None:
                events.append(_closing_event(record, VenueEventKind.CANCELED, NOT_AT_VENUE))
            elif venue_order.status in ("CANCELED", "REJECTED"):
                kind = VenueEventKind(venue_order.status.lower())
                reason_text = venue_order.reason or f"{kind} at the venue"
                events.append(_closing_event(record, kind, reason_text))
            elif venue_order.status == "FILLED":
                # filled in full at the venue (Deribit: sent rounded down to whole contracts,
                # so its fills in base units stay below the OMS quantity): completed, once
                # the OMS holds exactly the venue's fills
                completed = _closing_event(record, VenueEventKind.COMPLETED, "filled at the venue")
                completed.detail["venue_filled"] = str(self._filled_base(state, record.order_id))
                events.append(completed)
                continue  # a no-op when the fills already made it FILLED: not counted
            else:
                continue
            settled.append(
                Settlement(
                    "status_resolved",
                    record.order_id,
                    record.venue_key,
                    detail={"from": record.status.value, "venue_status": events[-1].kind},
                )
            )
        if events:
            for event in events:
                self.venue_events.put(event)
            await self.venue_events.drain()
        if settled:
            log.warning(
                "reconciled reason=%s settled=%d fills=%d statuses=%d",
                reason,
                len(settled),
                sum(s.kind == "fill_applied" for s in settled),
                sum(s.kind == "status_resolved" for s in settled),
            )
        return Reconciliation(reason, state, settled)

    async def _in_flight_records(self, in_flight: list[OrderRecord]) -> VenueState:
        """The venue's record of the in-flight orders it has, with their fills (asked
        :data:`RECORD_REQUESTS_AT_ONCE` at a time)."""
        read_at = dt.datetime.now(dt.UTC)
        sent = [r.order_id for r in in_flight if r.status is not OrderStatus.RECEIVED]
        records = await self._records(sent)
        fills = [(record.venue_key, fill) for record in records for fill in record.fills]
        return VenueState(read_at=read_at, orders=records, fills=fills, positions={})

    async def _records(self, order_ids: list[str]) -> list[VenueOrderRecord]:
        """The venue's record of each of ``order_ids`` it has, with its fills (asked
        :data:`RECORD_REQUESTS_AT_ONCE` at a time)."""
        records: list[VenueOrderRecord] = []
        for start in range(0, len(order_ids), RECORD_REQUESTS_AT_ONCE):
            chunk = order_ids[start : start + RECORD_REQUESTS_AT_ONCE]
            answers = await asyncio.gather(*(self.gateway.order_record(o) for o in chunk))
            records.extend(a for a in answers if a is not None)
        return records

    def _filled_base(self, state: VenueState, order_id: str) -> Decimal:
        """What the venue's record has filled of ``order_id``, in base units."""
        return sum(
            (
                self.reference.get(key).base_quantity(fill.quantity, fill.price)
                for key, fill in state.fills
                if fill.order_id == order_id
            ),
            Decimal(0),
        )

    async def _with_unlisted_external_orders(self, state: VenueState) -> VenueState:
        """A venue reached through an external adapter lists its open orders only (Deribit's
        ``get_open_orders_by_instrument``): the OMS's other orders there (the latest
        :data:`~live_daemon.oms.orders.MAX_LIST_LIMIT`) are asked for by id, so that a
        filled or cancelled order is compared, not reported missing at the venue."""
        listed = {order.order_id for order in state.orders}
        in_oms = await self.oms.external_orders()
        unlisted = [i for i in in_oms if i not in listed]
        records = [
            closed_parent(replace(r, fills=()), in_oms[r.order_id])
            for r in await self._records(unlisted)
        ]
        return replace(state, orders=[*state.orders, *records]) if records else state

    async def _close_never_sent(self, in_flight: list[OrderRecord]) -> list[Settlement]:
        settled = []
        for record in in_flight:
            if record.status is OrderStatus.RECEIVED:  # recorded, never risk-checked nor sent
                await self.oms.transition(
                    record.order_id,
                    OrderStatus.CANCELED,
                    EventKind.RECOVERED,
                    {"venue_state": None},
                    rejection_reason=NEVER_SENT,
                )
                settled.append(
                    Settlement("status_resolved", record.order_id, None, detail={"to": "CANCELED"})
                )
        return settled

    async def _missing_fills(self, state: VenueState) -> tuple[list[VenueEvent], list[Settlement]]:
        """The venue's fills the OMS lacks, for the orders where adding them makes the OMS's
        filled quantity exactly the venue's (settled for certain)."""
        venue_fills: dict[str, list[tuple[str, Fill, Decimal]]] = defaultdict(list)
        for venue_key, fill in state.fills:
            base = self.reference.get(venue_key).base_quantity(fill.quantity, fill.price)
            venue_fills[fill.order_id].append((venue_key, fill, base))
        if not venue_fills:
            return [], []
        order_ids = list(venue_fills)
        rows = await self.oms.pool.fetch(_OMS_ORDERS_SQL, order_ids)
        oms_filled = {row["order_id"]: Decimal(row["filled_quantity"]) for row in rows}
        short = [
            order_id
            for order_id, fills in venue_fills.items()
            if order_id in oms_filled and oms_filled[order_id] < sum(f[2] for f in fills)
        ]
        if not short:
            return [], []
        known = {
            (row["venue_key"], row["fill_id"])
            for row in await self.oms.pool.fetch(_OMS_FILL_IDS_SQL, short)
        }
        events: list[VenueEvent] = []
        settled: list[Settlement] = []
        for order_id in short:
            missing = [f for f in venue_fills[order_id] if (f[0], f[1].fill_id) not in known]
            total = sum((f[2] for f in venue_fills[order_id]), Decimal(0))
            if not missing or oms_filled[order_id] + sum(f[2] for f in missing) != total:
                continue  # not certain: reported as a break, never guessed at
            for venue_key, fill, base in missing:
                detail = {"reconciled": True, "trade_id": fill.fill_id}
                events.append(VenueEvent(VenueEventKind.FILLED, order_id, venue_key, detail, fill))
                settled.append(
                    Settlement(
                        "fill_applied",
                        order_id,
                        venue_key,
                        fill.fill_id,
                        {"quantity": str(base), "price": str(fill.price)},
                    )
                )
        return events, settled


def closed_parent(record: VenueOrderRecord, oms_status: OrderStatus) -> VenueOrderRecord:
    """The venue's view of an algorithm's parent (told from its children) once the OMS has
    closed it. When none of its children is open, the children cannot tell a parent that
    the algorithm finished (FILLED) from one it gave up (CANCELED): only the daemon that
    ran it knew its schedule. So the OMS's final status stands, and what the venue does
    attest (the fills, the filled quantity, no child left open) is compared. Found by
    running ``make demo`` twice: the first run's finished TWAP at Deribit became a
    "status_mismatch" FILLED/CANCELED break in the second run's reconciliation."""
    if not record.from_children or record.is_open or not oms_status.is_final:
        return record
    return replace(record, status=oms_status.value, reason=None)


def venue_state_columns(state: VenueState, reference: InstrumentReference) -> dict[str, Any]:
    """The venue's record as columns (one list per field), quantities converted to base
    units as the OMS keeps them, decimals as strings: what a reconciliation run compares
    with the OMS (``POST /api/reconciliation/run``). Columns, not rows: 100,000 orders
    encode in a fraction of a second."""
    orders: dict[str, list[Any]] = {
        k: [] for k in ("order_id", "venue_key", "status", "quantity", "filled_quantity")
    }
    fills: dict[str, list[Any]] = {
        k: [] for k in ("fill_id", "order_id", "venue_key", "quantity", "price", "fee", "ts")
    }
    filled_base: dict[str, Decimal] = defaultdict(Decimal)
    last_price: dict[str, Decimal] = {}
    for venue_key, fill in state.fills:
        base = reference.get(venue_key).base_quantity(fill.quantity, fill.price)
        filled_base[fill.order_id] += base
        last_price[fill.order_id] = fill.price
        fills["fill_id"].append(fill.fill_id)
        fills["order_id"].append(fill.order_id)
        fills["venue_key"].append(venue_key)
        fills["quantity"].append(str(base))
        fills["price"].append(str(fill.price))
        fills["fee"].append(str(fill.fee))
        fills["ts"].append(fill.ts.isoformat())
    for order in state.orders:
        spec = reference.get(order.venue_key)
        price = last_price.get(order.order_id)
        quantity: Decimal | None = None  # an inverse order never filled: no price to convert at
        if price is not None or not spec.is_inverse:
            quantity = spec.base_quantity(order.quantity, price or Decimal(1))
        orders["order_id"].append(order.order_id)
        orders["venue_key"].append(order.venue_key)
        orders["status"].append(order.status)
        orders["quantity"].append(None if quantity is None else str(quantity))
        orders["filled_quantity"].append(str(filled_base.get(order.order_id, Decimal(0))))
    positions: dict[str, list[Any]] = {"venue_key": [], "quantity": []}
    for venue_key, quantity in sorted(state.positions.items()):
        spec = reference.get(venue_key)
        positions["venue_key"].append(venue_key)
        positions["quantity"].append(str(spec.base_quantity(quantity, Decimal(1))))
    return {"orders": orders, "fills": fills, "positions": positions}


def _closing_event(record: OrderRecord, kind: VenueEventKind, reason: str) -> VenueEvent:
    detail = {"reason": reason, "reconciled": True}
    return VenueEvent(kind, record.order_id, record.venue_key or "", detail)


__all__ = [
    "NEVER_SENT",
    "NOT_AT_VENUE",
    "Reconciliation",
    "Settlement",
    "VenueReconciler",
    "closed_parent",
    "venue_state_columns",
]
