"""Execution algorithms run by the daemon for an external venue: :class:`AlgorithmRunner`.

The NautilusTrader venues run TWAP, VWAP and ICEBERG inside the venue process; an external
venue (Deribit, Interactive Brokers) takes plain orders only. For those the daemon runs
the algorithm itself, with the backtest's own logic (:mod:`execution_core.algorithms`), as
the NautilusTrader wrappers (:mod:`execution_core.nautilus.exec_algorithms`) do:

- TWAP / VWAP: the pure schedule (:func:`~execution_core.algorithms.schedule_for`) cut on
  the venue's size grid; each slice is a plain NORMAL MARKET child sent at its offset
  from the parent's start;
- ICEBERG: :class:`~execution_core.algorithms.IcebergState`, one LIMIT child at a time
  priced at the touch (:func:`~execution_core.algorithms.child_limit_price`), the next one
  shown once the working one has filled or closed; at ``duration_sec`` the working child
  is cancelled and the rest stays unfilled.

Children are named after their parent, ``{parent}.{n}`` (n = 1, 2, …; numbered without a
gap, so a parent's children are found by probing from ``.1``): the id fits Deribit's label
(:data:`MAX_CHILD_ID` characters) and :func:`parent_order_id` maps it back. The OMS and the
reconciliation only ever see the parent: the runner turns its children's events into the
parent's (:meth:`AlgorithmRunner.on_child_event`):

- ``accepted`` once, at the first child's acceptance (or fill);
- ``filled`` per child fill, the fill's ``order_id`` the parent's (its ``fill_id``, the
  venue's trade id, stays unique); ``detail["child_order_id"]`` names the child;
- ``completed`` once every scheduled quantity is filled;
- ``canceled`` when the horizon ended, the parent was cancelled (:meth:`cancel`: no more
  children, the working one cancelled), a child closed unfilled, or the algorithm could
  not go on; ``detail["reason"]`` says how much was unfilled and why;
- ``rejected`` when the parameters are invalid, or a child was refused (or not sent)
  before anything filled; a refusal after a fill stops the algorithm and ends ``canceled``.

A child's submit is sent once: a :class:`VenueRejected` is the child's refusal; any other
failure (:class:`VenueUnavailable`) makes the outcome unknown and the child is looked up by
its id before anything else happens (found: its record becomes its events and the schedule
goes on; not at the venue: a refusal; the venue cannot be asked: no further child, the
parent stays in flight for the reconciliation).

Time comes from an injectable ``clock`` (seconds, monotonic) and ``sleep``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from execution_core.algorithms import (
    AlgorithmParams,
    AlgorithmParamsError,
    IcebergParams,
    IcebergState,
    IcebergStateError,
    child_limit_price,
    horizon_ns,
    parse_algorithm,
    schedule_for,
    validate_for_order,
)
from execution_core.algorithms.params import parse_algorithm_name
from execution_core.algorithms.schedules import NS_PER_SEC
from execution_core.errors import ExecutionServicesError
from execution_core.signals.schema import ExecAlgorithm
from live_daemon.domain import Fill
from live_daemon.venues.breaker import CircuitBreaker
from live_daemon.venues.external.adapter import ExternalVenueAdapter, VenueRejected
from live_daemon.venues.gateway import (
    VenueError,
    VenueEvent,
    VenueEventKind,
    VenueOrder,
    VenueOrderRecord,
)

log = logging.getLogger(__name__)

MAX_CHILD_ID = 64
"""The longest child id: Deribit's label (the shortest limit of our external venues)."""
MAX_CHILDREN = 99_999
"""The most children of one parent (the id keeps room for this many)."""
_CHILD_ID = re.compile(r"^(?P<parent>.+)\.(?P<n>[1-9][0-9]{0,4})$")
_OPEN = ("SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "UNKNOWN")
_FINAL_STATUS = {
    VenueEventKind.COMPLETED: "FILLED",
    VenueEventKind.CANCELED: "CANCELED",
    VenueEventKind.REJECTED: "REJECTED",
}

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Lookup = Callable[[str], Awaitable[VenueOrderRecord | None]]
Emit = Callable[[VenueEvent], None]


def child_order_id(parent_id: str, n: int) -> str:
    """The id of ``parent_id``'s ``n``-th child (``n`` from 1)."""
    return f"{parent_id}.{n}"


def parent_order_id(order_id: str) -> str | None:
    """The parent of a child id (:func:`child_order_id`), ``None`` for any other id (the
    OMS's ``ORD-…`` ids have no dot)."""
    match = _CHILD_ID.match(order_id)
    return None if match is None else match["parent"]


def runs_in_daemon(order: VenueOrder) -> bool:
    """Whether the daemon runs ``order``'s algorithm for an external venue: any but NORMAL
    (an unknown name too: the runner rejects it saying why). No external venue declares
    that it runs our algorithms itself."""
    try:
        return parse_algorithm_name(order.exec_algorithm) is not ExecAlgorithm.NORMAL
    except AlgorithmParamsError:
        return True


@dataclass
class _Child:
    order: VenueOrder
    status: str = "SUBMITTED"  # an ORDER_STATUSES value, or UNKNOWN (outcome not known)
    filled: Decimal = Decimal(0)
    fill_ids: set[str] = field(default_factory=set)
    reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in _OPEN


class AlgorithmRunner:
    """One parent order's algorithm on one external adapter (module docstring).

    ``lot_size`` and ``tick_size`` are the venue's size and price grids in its units (the
    parent's quantity is in them already); ``emit`` takes the parent's events; ``lookup``
    reads a child's record by id (the adapter's ``get_order_state`` by default; the
    composite gateway passes one that retries); ``breaker`` hears of every child's
    outcome. ``end_grace_secs``: how long after a TWAP/VWAP horizon a working child may
    still fill before it is cancelled; ``close_wait_secs``: how long cancelled children
    may take to close before they are looked up."""

    def __init__(
        self,
        adapter: ExternalVenueAdapter,
        order: VenueOrder,
        *,
        lot_size: Decimal,
        emit: Emit,
        tick_size: Decimal | None = None,
        lookup: Lookup | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        end_grace_secs: float = 5.0,
        close_wait_secs: float = 10.0,
    ) -> None:
        self.adapter, self.order = adapter, order
        self.parent_id = order.order_id
        self.lot, self.tick = lot_size, tick_size
        self._emit = emit
        self._lookup = lookup if lookup is not None else adapter.get_order_state
        self._breaker = breaker
        self._clock, self._sleep = clock, sleep
        self.end_grace_secs, self.close_wait_secs = end_grace_secs, close_wait_secs
        self.algorithm = str(order.exec_algorithm)
        self.children: dict[str, _Child] = {}
        self.total: Decimal | None = None  # the scheduled quantity, once parsed
        self.filled = Decimal(0)
        self.accepted = False
        self.final: VenueEventKind | None = None
        self.final_reason: str | None = None
        self.unsettled = False  # stopped with a child whose state is not known
        self._stop_reason: str | None = None
        self._refused = False  # stopped by a refusal (a child rejected, or not sent)
        self._iceberg: IcebergState | None = None
        self._working: str | None = None  # the ICEBERG's working child
        self._start = 0.0
        self._wake = asyncio.Event()

    # -- what the gateway calls ----------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.final is None

    def owns(self, order_id: str) -> bool:
        return order_id in self.children

    def cancel(self, why: str = "the order was cancelled") -> None:
        """Stop: no further child; the working ones are cancelled, then ``canceled``."""
        if self.final is None:
            self._stop(why, refused=False)

    def on_child_event(self, event: VenueEvent) -> None:
        """An event the adapter told of one of our children (see the module docstring)."""
        child = self.children.get(event.order_id)
        if child is None:
            log.warning("algorithm_event_of_unknown_child order_id=%s", event.order_id)
            return
        kind = event.kind
        if kind is VenueEventKind.ACCEPTED:
            if child.status == "SUBMITTED":
                child.status = "ACCEPTED"
            self._accept(child, event.detail)
        elif kind is VenueEventKind.FILLED and event.fill is not None:
            self._on_fill(child, event.fill, event.detail)
        elif kind is VenueEventKind.COMPLETED:
            self._child_done(child)
        elif kind in (VenueEventKind.CANCELED, VenueEventKind.REJECTED):
            reason = event.detail.get("reason")
            self._child_closed(child, _FINAL_STATUS[kind], None if reason is None else str(reason))
        self._wake.set()

    def view(self) -> VenueOrderRecord:
        """The parent as the runner knows it (without fills)."""
        return VenueOrderRecord(
            order_id=self.parent_id,
            venue_key=self.order.venue_key,
            side=self.order.side,
            quantity=self.order.quantity,
            status=self._status(),
            filled_quantity=self.filled,
            reason=self.final_reason,
        )

    async def venue_record(self) -> VenueOrderRecord:
        """The parent from the venue's record of its children, with their fills (raises
        :class:`VenueUnavailable` if the venue cannot be asked). A runner left unsettled
        (a child's state was not known) settles from it and ends the parent."""
        records: dict[str, VenueOrderRecord] = {}
        for child_id in list(self.children):
            record = await self.adapter.get_order_state(child_id)
            if record is not None:
                records[child_id] = record
        if self.unsettled:
            for child_id, child in self.children.items():
                found = records.get(child_id)
                if found is not None:
                    self._apply_record(child, found)
                elif child.status == "UNKNOWN":
                    self._child_closed(child, "REJECTED", "not at the venue: never placed")
            if not any(c.is_open for c in self.children.values()):
                self.unsettled = False
                self._end_from_state()
        return parent_record(
            self.parent_id,
            self.order.venue_key,
            self.order.side,
            records.values(),
            quantity=self.order.quantity,
            scheduled=self.total,
            status=None if self.unsettled else self._status(),
            reason=self.final_reason if self.final is not None else self._stop_reason,
        )

    # -- the run --------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the algorithm to its end (the parent's final event), or until the venue
        cannot tell what became of a child."""
        try:
            params = self._parse()
            if params is None:
                return
            self._start = self._clock()
            if isinstance(params, IcebergParams):
                await self._run_iceberg(params)
            else:
                await self._run_schedule(params)
        except Exception as exc:  # a bug must still stop the children and end the parent
            log.exception("algorithm_failed order_id=%s", self.parent_id)
            self._stop(f"the {self.algorithm} run failed: {exc!r}", refused=False)
        await self._finish()

    def _parse(self) -> AlgorithmParams | None:
        order = self.order
        try:
            algorithm, params = parse_algorithm(order.exec_algorithm, order.exec_algorithm_params)
            self.algorithm = algorithm.value
            if algorithm is ExecAlgorithm.NORMAL:
                raise AlgorithmParamsError("NORMAL goes to the venue as it is")
            validate_for_order(algorithm, params, float(order.quantity), float(self.lot))
            if len(child_order_id(self.parent_id, MAX_CHILDREN)) > MAX_CHILD_ID:
                raise AlgorithmParamsError(
                    f"order id {self.parent_id!r} leaves no room for child ids of at most "
                    f"{MAX_CHILD_ID} characters"
                )
        except ExecutionServicesError as exc:
            self._end(VenueEventKind.REJECTED, f"{self.algorithm} for {order.venue_key}: {exc}")
            return None
        return params

    async def _run_schedule(self, params: AlgorithmParams) -> None:
        slices = schedule_for(self.algorithm, params, float(self.order.quantity), float(self.lot))
        quantities = [self._on_grid(s.quantity) for s in slices]
        self.total = sum(quantities, Decimal(0))
        for part, quantity in zip(slices, quantities, strict=True):
            due = self._start + part.offset_ns / NS_PER_SEC
            while not self._stopping and self._clock() < due:
                await self._wait(due)
            if self._stopping or not await self._send(quantity, "MARKET", None):
                break
        duration = getattr(params, "duration_sec", 0.0)
        end = self._start + horizon_ns(duration) / NS_PER_SEC + self.end_grace_secs
        while not self._stopping and any(c.is_open for c in self.children.values()):
            if self._clock() >= end:
                self._stop(f"the {self.algorithm} horizon ended", refused=False)
                break
            await self._wait(end)

    async def _run_iceberg(self, params: IcebergParams) -> None:
        state = self._iceberg = IcebergState.start(
            float(self.order.quantity), params, float(self.lot)
        )
        self.total = self._on_grid(state.total)
        deadline = self._start + horizon_ns(params.duration_sec) / NS_PER_SEC
        while not self._stopping and not state.done:
            if self._clock() >= deadline:
                self._stop("the ICEBERG horizon ended", refused=False)
                break
            quantity = state.next_child()
            if quantity is None:
                await self._wait(deadline)
                continue
            price = self._limit_price(params)
            if price is None:
                state.on_child_closed()
                self._stop(
                    f"no quote of {self.order.venue_key} to price the next child", refused=True
                )
                break
            if not await self._send(self._on_grid(quantity), "LIMIT", price, working=True):
                break
        state.cancel()

    async def _send(
        self, quantity: Decimal, order_type: str, price: Decimal | None, *, working: bool = False
    ) -> bool:
        """Send the next child once; ``False`` if the algorithm cannot go on."""
        down = None if self.adapter.is_connected() else f"{self.adapter.venue} not connected"
        if down is None and self._breaker is not None:
            down = self._breaker.unavailable_reason()
        if down is not None:
            if working and self._iceberg is not None:
                self._iceberg.on_child_closed()  # nothing was shown
            self._stop(f"child {len(self.children) + 1} not sent: {down}", refused=True)
            return False
        order = self.order
        child_id = child_order_id(self.parent_id, len(self.children) + 1)
        child = _Child(
            VenueOrder(child_id, order.venue_key, order.side, quantity, order_type, price,
                       terms=order.terms)
        )  # fmt: skip
        self.children[child_id] = child  # before the send: its events may come first
        if working:
            self._working = child_id
        if self._breaker is not None:
            self._breaker.on_send()
        try:
            await self.adapter.submit_order(child.order)
        except VenueRejected as exc:
            if self._breaker is not None:
                self._breaker.record_success()  # a definite answer: the venue is there
            self._child_closed(child, "REJECTED", str(exc))
            return False
        except Exception as exc:  # VenueUnavailable, or an adapter bug: outcome unknown
            if self._breaker is not None:
                self._breaker.record_failure(str(exc))
            log.warning(
                "algorithm_child_outcome_unknown order_id=%s child=%s error=%s: looking the "
                "child up by its id, not sending it again",
                self.parent_id, child_id, exc,
            )  # fmt: skip
            await self._settle_unknown(child, str(exc))
        else:
            if self._breaker is not None:
                self._breaker.record_success()
        return not self._stopping

    async def _settle_unknown(self, child: _Child, why: str) -> None:
        child_id = child.order.order_id
        try:
            record = await self._lookup(child_id)
        except Exception as exc:
            child.status = "UNKNOWN"
            self._stop(
                f"child {child_id}'s submit failed ({why}) and {self.adapter.venue} cannot be "
                f"asked about it ({exc}); no further child is sent",
                refused=False,
            )
            return
        if record is None:
            self._child_closed(
                child,
                "REJECTED",
                f"{self.adapter.venue} has no child {child_id} after its submit failed "
                f"({why}); it was not sent again",
            )
            return
        self._apply_record(child, record)

    async def _finish(self) -> None:
        """Cancel the open children, wait for them to close, and end the parent."""
        if self.final is not None:
            return
        if self._iceberg is not None:
            self._iceberg.cancel()
        open_children = [c for c in self.children.values() if c.is_open]
        for child in open_children:
            try:
                await self.adapter.cancel_order(child.order.order_id)
            except VenueError as exc:
                log.warning(
                    "algorithm_child_cancel_failed child=%s error=%s", child.order.order_id, exc
                )
        if open_children:
            end = self._clock() + self.close_wait_secs
            while any(c.is_open for c in open_children) and self._clock() < end:
                await self._wait(end)
        for child in [c for c in open_children if c.is_open]:
            try:
                record = await self._lookup(child.order.order_id)
            except Exception as exc:
                log.warning("algorithm_child_lookup_failed child=%s error=%s", child, exc)
                continue
            if record is None:
                self._child_closed(child, "CANCELED", "not at the venue")
            else:
                self._apply_record(child, record)
        still_open = [c.order.order_id for c in self.children.values() if c.is_open]
        if still_open:
            self.unsettled = True
            log.error(
                "algorithm_children_unsettled order_id=%s children=%s: the parent stays in "
                "flight; the reconciliation settles it from the venue's record",
                self.parent_id, still_open,
            )  # fmt: skip
            return
        self._end_from_state()

    def _end_from_state(self) -> None:
        total = self.total if self.total is not None else self.order.quantity
        if self.filled > 0 and self.filled >= total:
            self._end(VenueEventKind.COMPLETED, None)
            return
        if self._refused and self.filled == 0:
            self._end(VenueEventKind.REJECTED, self._stop_reason)
            return
        why = self._stop_reason or "; ".join(
            f"child {c.order.order_id} {c.status.lower()}" + (f": {c.reason}" if c.reason else "")
            for c in self.children.values()
            if c.filled < c.order.quantity
        )
        unfilled = max(total - self.filled, Decimal(0))
        self._end(
            VenueEventKind.CANCELED,
            f"{self.algorithm}: {unfilled} of {total} unfilled ({why or 'stopped'})",
        )

    def _end(self, kind: VenueEventKind, reason: str | None) -> None:
        self.final, self.final_reason = kind, reason
        detail: dict[str, Any] = {
            "exec_algorithm": self.algorithm,
            "filled_quantity": str(self.filled),
            "children": len(self.children),
        }
        if self.total is not None:
            detail["scheduled_quantity"] = str(self.total)
            detail["unfilled_quantity"] = str(max(self.total - self.filled, Decimal(0)))
        if reason is not None:
            detail["reason"] = reason
        self._emit(VenueEvent(kind, self.parent_id, self.order.venue_key, detail))
        self._wake.set()

    # -- children's events ---------------------------------------------------------------------

    def _accept(self, child: _Child, detail: Mapping[str, Any]) -> None:
        if self.accepted:
            return
        self.accepted = True
        parent_detail: dict[str, Any] = {
            "exec_algorithm": self.algorithm,
            "child_order_id": child.order.order_id,
        }
        if detail.get("venue_order_id") is not None:
            parent_detail["child_venue_order_id"] = str(detail["venue_order_id"])
        self._emit(
            VenueEvent(VenueEventKind.ACCEPTED, self.parent_id, self.order.venue_key, parent_detail)
        )

    def _on_fill(self, child: _Child, fill: Fill, detail: Mapping[str, Any]) -> None:
        if fill.fill_id in child.fill_ids:
            return
        child.fill_ids.add(fill.fill_id)
        self._accept(child, detail)  # a fill implies acceptance
        child.filled += fill.quantity
        if child.status in ("SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "UNKNOWN"):
            child.status = "FILLED" if child.filled >= child.order.quantity else "PARTIALLY_FILLED"
        self.filled += fill.quantity
        if self._iceberg is not None and self._working == child.order.order_id:
            try:
                self._iceberg.on_fill(float(fill.quantity))
            except IcebergStateError as exc:
                log.error("algorithm_iceberg_fill order_id=%s error=%s", self.parent_id, exc)
                self._iceberg.on_child_closed()
            if not child.is_open:
                self._working = None
        total = self.total if self.total is not None else self.order.quantity
        parent_detail: dict[str, Any] = {
            "trade_id": str(detail.get("trade_id", fill.fill_id)),
            "child_order_id": child.order.order_id,
            "exec_algorithm": self.algorithm,
            "filled_quantity": str(self.filled),
            "leaves_quantity": str(max(total - self.filled, Decimal(0))),
        }
        if detail.get("reconciled") or detail.get("from_record"):
            parent_detail["from_record"] = True
        self._emit(
            VenueEvent(
                VenueEventKind.FILLED,
                self.parent_id,
                self.order.venue_key,
                parent_detail,
                replace(fill, order_id=self.parent_id),
            )
        )

    def _child_done(self, child: _Child) -> None:
        """The venue says the child is filled in full."""
        if not child.is_open:
            return
        child.status = "FILLED"
        self._release(child)

    def _child_closed(self, child: _Child, status: str, reason: str | None) -> None:
        if not child.is_open:
            return
        child.status, child.reason = status, reason
        self._release(child)
        if status == "REJECTED":
            self._stop(f"child {child.order.order_id} rejected: {reason}", refused=True)

    def _release(self, child: _Child) -> None:
        if self._iceberg is not None and self._working == child.order.order_id:
            self._iceberg.on_child_closed()  # its unfilled part goes back to the remainder
            self._working = None

    def _apply_record(self, child: _Child, record: VenueOrderRecord) -> None:
        """A child's record from the venue as its events."""
        if record.status != "REJECTED":
            self._accept(child, {})
            if child.status in ("SUBMITTED", "UNKNOWN"):
                child.status = "ACCEPTED"
        for fill in record.fills:
            self._on_fill(child, fill, {"trade_id": fill.fill_id, "from_record": True})
        if record.status == "FILLED":
            self._child_done(child)
        elif record.status in ("CANCELED", "REJECTED"):
            self._child_closed(child, record.status, record.reason)
        self._wake.set()

    # -- helpers --------------------------------------------------------------------------------

    @property
    def _stopping(self) -> bool:
        return self._stop_reason is not None or self.final is not None

    def _stop(self, reason: str, *, refused: bool) -> None:
        if self._stop_reason is None:
            self._stop_reason, self._refused = reason, refused
        self._wake.set()

    def _status(self) -> str:
        if self.final is not None:
            return _FINAL_STATUS[self.final]
        if self.filled > 0:
            return "PARTIALLY_FILLED"
        return "ACCEPTED" if self.accepted else "SUBMITTED"

    async def _wait(self, until: float) -> None:
        """Until ``until`` on the clock, or sooner when something happens (a child's
        event, a stop)."""
        self._wake.clear()
        delay = until - self._clock()
        if delay <= 0:
            return
        waiters = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(self._sleep(delay)),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    def _on_grid(self, quantity: float) -> Decimal:
        """A schedule's quantity (a float of whole lots) as a decimal on the size grid."""
        lots = (Decimal(repr(float(quantity))) / self.lot).to_integral_value(ROUND_HALF_EVEN)
        return lots * self.lot

    def _limit_price(self, params: IcebergParams) -> Decimal | None:
        quote = self.adapter.last_quote(self.order.venue_key)
        if quote is None:
            return None
        bid, _, ask, _, _ = quote
        tick = None if self.tick is None else float(self.tick)
        try:
            raw = child_limit_price(
                self.order.side, float(bid), float(ask), params.limit_offset_bps, tick
            )
        except AlgorithmParamsError as exc:
            log.warning("algorithm_no_limit_price order_id=%s error=%s", self.parent_id, exc)
            return None
        price = Decimal(repr(raw))
        if self.tick is not None:
            price = (price / self.tick).to_integral_value(ROUND_HALF_EVEN) * self.tick
        return price


# -- the venue's record, in parents ---------------------------------------------------------------


def parent_record(
    parent_id: str,
    venue_key: str,
    side: str,
    children: Iterable[VenueOrderRecord],
    *,
    quantity: Decimal | None = None,
    scheduled: Decimal | None = None,
    status: str | None = None,
    reason: str | None = None,
) -> VenueOrderRecord:
    """A parent as one record from its children's records: their fills (as the parent's)
    and filled quantities summed. ``status`` is the runner's when it knows; without it the
    parent is open while a child is, FILLED once ``scheduled`` (or ``quantity``) is filled,
    and else CANCELED (no runner goes on with it: a previous daemon ran it)."""
    children = list(children)
    filled = sum((c.filled_quantity for c in children), Decimal(0))
    fills = tuple(replace(f, order_id=parent_id) for c in children for f in c.fills)
    if status is None:
        target = scheduled if scheduled is not None else quantity
        if any(c.is_open for c in children):
            status = "PARTIALLY_FILLED" if filled > 0 else "ACCEPTED"
        elif target is not None and filled > 0 and filled >= target:
            status = "FILLED"
        else:
            status = "CANCELED"
            reason = reason or (
                f"{filled} filled by {len(children)} children; the algorithm no longer runs "
                "(the daemon that ran it stopped)"
            )
    return VenueOrderRecord(
        order_id=parent_id,
        venue_key=venue_key,
        side=side,
        quantity=quantity
        if quantity is not None
        else sum((c.quantity for c in children), Decimal(0)),
        status=status,
        filled_quantity=filled,
        reason=reason,
        fills=fills,
        from_children=True,
    )


async def find_children(lookup: Lookup, parent_id: str) -> list[VenueOrderRecord]:
    """The records of ``parent_id``'s children at a venue (probing ``.1``, ``.2``… up to
    the first the venue does not have)."""
    records: list[VenueOrderRecord] = []
    for n in range(1, MAX_CHILDREN + 1):
        record = await lookup(child_order_id(parent_id, n))
        if record is None:
            break
        records.append(record)
    return records


def orphan_child_event(event: VenueEvent) -> VenueEvent | None:
    """An event of a child no runner of this daemon owns (a previous daemon ran its
    parent): its fill, as the parent's (a fill is never dropped); ``None`` for the others
    (the reconciliation settles the parent's state from the record)."""
    parent = parent_order_id(event.order_id)
    if parent is None or event.kind is not VenueEventKind.FILLED or event.fill is None:
        return None
    detail = {**event.detail, "child_order_id": event.order_id}
    return VenueEvent(
        event.kind, parent, event.venue_key, detail, replace(event.fill, order_id=parent)
    )


def parent_view(
    orders: Iterable[VenueOrderRecord],
    fills: Iterable[tuple[str, Fill]],
    runners: Mapping[str, AlgorithmRunner],
    adapter: ExternalVenueAdapter,
) -> tuple[list[VenueOrderRecord], list[tuple[str, Fill]]]:
    """An adapter's open orders and fills with every child shown as its parent: one record
    per parent with an open child or a runner still going, each fill the parent's."""
    plain: list[VenueOrderRecord] = []
    by_parent: dict[str, list[VenueOrderRecord]] = defaultdict(list)
    for record in orders:
        parent = parent_order_id(record.order_id)
        if parent is None:
            plain.append(record)
        else:
            by_parent[parent].append(record)
    for parent, children in by_parent.items():
        runner = runners.get(parent)
        if runner is not None:
            plain.append(runner.view())
        else:
            plain.append(parent_record(parent, children[0].venue_key, children[0].side, children))
    plain += [
        runner.view()
        for parent, runner in runners.items()
        if runner.adapter is adapter and runner.is_open and parent not in by_parent
    ]
    mapped = []
    for key, fill in fills:
        parent = parent_order_id(fill.order_id)
        mapped.append((key, fill if parent is None else replace(fill, order_id=parent)))
    return plain, mapped
