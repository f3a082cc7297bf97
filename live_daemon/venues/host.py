"""The venue host: the paper venue (:class:`~live_daemon.venues.nautilus.venue.PaperVenueGateway`, a
NautilusTrader ``TradingNode``) with its own record (:mod:`live_daemon.venues.journal`),
serving one daemon at a time (:mod:`live_daemon.venues.server`). ``exec-venue paper``
(:mod:`live_daemon.venues.cli`) runs it as a process of its own.

Why a process of its own, and one that outlives the daemon: the node's order handling,
matching and replay cost about as much CPU per order as the whole API path (in the daemon's
loop they halved its throughput); and a venue is something across a connection that keeps
running, and keeps its record, whatever happens to its client. A daemon that crashes and
comes back finds the venue as it left it, and asks it what became of its orders.

The record comes first, always:

- an order is committed to the record before the node sees it; an order id the record
  already knows is never sent to the node again (a resubmit after a lost reply): it is
  answered with the order's current state, as events marked ``replayed``;
- an event (accepted, filled, canceled, rejected) is committed before its frame leaves for
  the daemon; a fill's frame carries its sequence number in the record
  (``detail["fill_seq"]``). Events with no daemon connected are not sent later: they are
  in the record, which the daemon reads when it is back;
- writes are grouped: what arrives in one turn of the event loop is committed together
  (one commit per burst, not per event), then acted on in arrival order;
- the requests (order_record, open_orders, fills_since, positions, venue_state) are
  answered from the record, after whatever is pending has been committed and sent: an
  answer includes exactly the events the daemon was sent before it.

If the record cannot be written the venue stops (exit code 1) rather than trade what it
cannot record. On start it closes in the record the orders that were open when it last
stopped (a fresh node cannot resume them).

**Live mode** (``VenueHostConfig.mode == "live"``): the node is the real venues'
(:class:`~live_daemon.venues.nautilus.live_venue.LiveVenueGateway`), keys from the
environment; before anything else :meth:`VenueHost.run` checks them
(:func:`~live_daemon.venues.nautilus.credentials.refusal_message`) and, if any is missing,
logs ``venue_refused`` naming every missing variable and exits 1. Open orders are not
closed in the record on restart (the real venue still has them).

Quotes are pushed to the daemon when they change (at most :data:`QUOTE_PUSH_SECS` old),
and the venue's health every :data:`HEALTH_PUSH_SECS`. The frames are listed in
:mod:`live_daemon.venues.wire`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from execution_core.instruments.reference import load_reference
from execution_core.stores import open_store
from live_daemon.collector import settle_collector
from live_daemon.venues.gateway import VenueEvent, VenueEventKind, VenueOrder, VenueOrderRecord
from live_daemon.venues.host_config import VenueHostConfig
from live_daemon.venues.journal import ReceivedOrder, VenueJournal
from live_daemon.venues.nautilus.credentials import refusal_message
from live_daemon.venues.nautilus.live_venue import LiveVenueGateway
from live_daemon.venues.nautilus.venue import PaperVenueGateway
from live_daemon.venues.record_codec import has_separator
from live_daemon.venues.server import VenueServer
from live_daemon.venues.wire import FrameProtocol

log = logging.getLogger(__name__)

QUOTE_PUSH_SECS = 0.005  # how stale the daemon's copy of a quote may get, at most
HEALTH_PUSH_SECS = 0.5


@dataclass(frozen=True)
class _Reply:
    """Something to send once what was pending before it has been committed."""

    channel: FrameProtocol
    order_id: str


_Pending = ReceivedOrder | VenueEvent | _Reply


class VenueHost:
    """The paper venue, its record and its daemon (module docstring)."""

    def __init__(self, config: VenueHostConfig, journal: VenueJournal) -> None:
        self.config = config
        self.journal = journal
        self.state = "starting"  # starting | ready | failed
        self.failure: str | None = None
        self.server: VenueServer | None = None
        self.gateway: PaperVenueGateway | LiveVenueGateway
        if config.mode == "live":
            self.gateway = LiveVenueGateway(
                load_reference(),
                config.instruments,
                on_event=self._on_node_event,
                log_level=config.nautilus_log_level,
                start_timeout_secs=config.start_timeout_secs,
            )
            self._init_state()
            return
        self.gateway = PaperVenueGateway(
            load_reference(),
            open_store(config.ticks_store_url),
            config.instruments,
            config.day,
            on_event=self._on_node_event,
            speed=config.speed,
            start_offset_secs=config.start_offset_secs,
            log_level=config.nautilus_log_level,
            start_timeout_secs=config.start_timeout_secs,
        )
        self._init_state()

    def _init_state(self) -> None:
        self._pending: list[_Pending] = []
        self._pending_ids: set[str] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._stop = asyncio.Event()
        self._sent_quotes: dict[str, Any] = {}
        self._quotes_channel: FrameProtocol | None = None
        self._started_at = time.time()

    # -- life --------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to stop (SIGTERM)."""
        self._stop.set()

    async def run(self, server: VenueServer) -> int:
        """Serve until :meth:`stop`; the exit code (0 stopped, 1 could not start or could
        not write its record)."""
        self.server = server
        if self.config.mode == "live":
            refusal = refusal_message(self.config.instruments)
            if refusal is not None:  # before anything: no node, no connection served
                self.state, self.failure = "failed", refusal
                log.error("venue_refused reason=%s", refusal)
                await server.close()
                return 1
        else:  # a fresh paper node cannot resume them; a real venue still has them
            closed = self.journal.close_open_orders()
            if closed:
                log.warning("venue_restart_closed_open_orders count=%d", len(closed))
        serving = asyncio.create_task(server.serve(), name="venue-accept")
        try:
            if not await self._start_node():  # it failed, or was asked to stop meanwhile
                return 1 if self.failure is not None else 0
            pusher = asyncio.create_task(self._push_state(), name="venue-push")
            try:
                await self._stop.wait()
            finally:
                pusher.cancel()
            return 1 if self.failure is not None else 0
        finally:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            await self.gateway.stop()
            self._flush()  # what the node said until it stopped
            await server.close()
            log.info("venue_host_stopped state=%s failure=%s", self.state, self.failure)

    async def _start_node(self) -> bool:
        starting = asyncio.create_task(self.gateway.start(), name="venue-node-start")
        stopping = asyncio.create_task(self._stop.wait())
        waits: set[asyncio.Future[Any]] = {starting, stopping}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not starting.done():  # asked to stop while starting
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
            return False
        if (exc := starting.exception()) is not None:
            self.state, self.failure = "failed", f"{type(exc).__name__}: {exc}"
            log.error("venue_start_failed reason=%s", self.failure)
            assert self.server is not None
            self.server.send(("failed", self.failure))
            await asyncio.sleep(0.1)  # let the frame leave before the process exits
            return False
        settle_collector()  # the node is up: see live_daemon.collector
        self.state = "ready"
        log.info(
            "venue_ready instruments=%d day=%s speed=%g",
            len(self.config.instruments),
            self.config.day,
            self.config.speed,
        )
        assert self.server is not None
        if (channel := self.server.current) is not None:
            self._send_ready(channel)
        return True

    # -- the daemon's connection --------------------------------------------------------------

    def on_connection(self, channel: FrameProtocol) -> None:
        """A daemon was admitted: tell it who we are, and give it every book once ready."""
        channel.send(("hello", self._hello()))
        if self.state == "ready":
            self._send_ready(channel)
        elif self.state == "failed":
            channel.send(("failed", self.failure))

    def _hello(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "mode": self.config.mode,
            "state": self.state,
            "instruments": list(self.gateway.instrument_keys),
            "day": self.config.day.isoformat(),
            "speed": self.config.speed,
            "started_at": self._started_at,
            "record": str(self.journal.path),
        }

    def _send_ready(self, channel: FrameProtocol) -> None:
        self._quotes_channel, self._sent_quotes = channel, {}
        self._push_quotes(channel)  # the daemon has every book before it is ready
        channel.send(("ready", self.health()))

    def health(self) -> dict[str, Any]:
        server = self.server
        return {
            **self.gateway.health(),
            "pid": os.getpid(),
            "state": self.state,
            "connections": 0 if server is None else server.connections,
            "refused": 0 if server is None else server.refused,
        }

    def on_frame(self, channel: FrameProtocol, message: tuple[Any, ...]) -> None:
        kind = message[0]
        try:
            if kind == "submit":
                self._submit(channel, message[1])
            elif kind == "cancel":
                self._cancel(channel, message[1])
            elif kind == "request":
                self._answer(channel, message[1], message[2], message[3:])
            else:
                log.error("venue_unknown_frame kind=%r", kind)
        except Exception:  # a malformed frame costs only itself
            log.exception("venue_frame_failed kind=%r", kind)

    # -- orders in ---------------------------------------------------------------------------

    def _submit(self, channel: FrameProtocol, request: VenueOrder) -> None:
        order_id, venue_key, side = request.order_id, request.venue_key, request.side
        if order_id in self._pending_ids or self.journal.knows(order_id):
            log.warning(
                "venue_duplicate_submit order_id=%s: already received, not sent to the node "
                "again; answered with its state",
                order_id,
            )
            self._stage(_Reply(channel, order_id))
            return
        if any(has_separator(str(text)) for text in (order_id, venue_key, side)):
            reason = "the order id, instrument or side holds a control character"
            log.warning("venue_unrecordable_order order_id=%r reason=%s", order_id, reason)
            event = VenueEvent(VenueEventKind.REJECTED, order_id, venue_key, {"reason": reason})
            channel.send(("event", event))
            return
        order = ReceivedOrder.of(request, time.time_ns())
        self._pending_ids.add(order_id)
        self._stage(order)

    def _to_node(self, order: ReceivedOrder) -> None:
        """A recorded order goes to the node (its events come back through
        :meth:`_on_node_event`); a venue not ready rejects it (recorded too)."""
        if not self.gateway.is_running:
            reason = f"the {self.config.mode} venue is {self.state}"
            event = VenueEvent(
                VenueEventKind.REJECTED, order.order_id, order.venue_key, {"reason": reason}
            )
            self._on_node_event(event)
            return
        self.gateway.submit(order.venue_order())

    def _cancel(self, channel: FrameProtocol, order_id: str) -> None:
        """A cancel for the node; for an order the node does not have (closed when the
        venue restarted, or never received) the record's state is the answer."""
        if self.gateway.is_running and self.gateway.order_state(order_id) is not None:
            self.gateway.cancel(order_id)
        else:
            self._stage(_Reply(channel, order_id))

    # -- the record, then the daemon -------------------------------------------------------

    def _on_node_event(self, event: VenueEvent) -> None:
        """Every event of the node: recorded, then sent (module docstring)."""
        self._stage(event)

    def _stage(self, item: _Pending) -> None:
        self._pending.append(item)
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Commit what is pending in one transaction, then act on it in arrival order."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        pending, self._pending = self._pending, []
        self._pending_ids.clear()
        if not pending:
            return
        done: list[_Pending] = []
        try:
            with self.journal.transaction():
                for item in pending:
                    if isinstance(item, ReceivedOrder):
                        self.journal.add_order(item)
                    elif isinstance(item, VenueEvent):
                        seq = self.journal.add_event(item)
                        if seq is not None:
                            item = replace(item, detail={**item.detail, "fill_seq": seq})
                    done.append(item)
        except Exception as exc:
            log.exception("venue_record_write_failed items=%d: the venue stops", len(pending))
            self.failure = f"the venue could not write its record: {exc}"
            self._stop.set()
            return
        server = self.server
        for item in done:
            if isinstance(item, ReceivedOrder):
                self._to_node(item)
            elif isinstance(item, VenueEvent):
                if server is not None:
                    server.send(("event", item))
            elif item.channel.is_open:
                for event in _state_as_events(self.journal.order_record(item.order_id)):
                    item.channel.send(("event", event))

    def _answer(
        self, channel: FrameProtocol, request_id: int, name: str, args: tuple[Any, ...]
    ) -> None:
        self._flush()  # the answer includes every event sent before it
        journal = self.journal
        try:
            if name == "order_record":
                answer: Any = journal.packed_order(str(args[0]))
            elif name == "open_orders":
                answer = journal.packed_open_orders()
            elif name == "fills_since":
                answer = journal.packed_fills_since(int(args[0]))
            elif name == "positions":
                answer = journal.position_rows()
            elif name == "venue_state":
                answer = journal.packed_state()
            else:
                raise ValueError(f"unknown request {name!r}")
        except Exception as exc:
            log.exception("venue_request_failed name=%s", name)
            channel.send(("error", request_id, f"{name}: {type(exc).__name__}: {exc}"))
            return
        channel.send(("answer", request_id, answer))

    # -- quotes and health -----------------------------------------------------------------

    def _push_quotes(self, channel: FrameProtocol) -> None:
        """Send the quotes that changed since the last ones sent on ``channel``."""
        if channel is not self._quotes_channel:
            self._quotes_channel, self._sent_quotes = channel, {}
        sent = self._sent_quotes
        changed = {}
        for key in self.gateway.instrument_keys:
            quote = self.gateway.last_quote(key)
            if quote is not None and quote != sent.get(key):
                changed[key] = sent[key] = quote
        if changed:
            channel.send(("quotes", changed))

    async def _push_state(self) -> None:
        """Quotes that changed, every few milliseconds; health twice a second."""
        next_health = time.monotonic() + HEALTH_PUSH_SECS
        while True:
            channel = None if self.server is None else self.server.current
            if channel is not None:
                self._push_quotes(channel)
                if time.monotonic() >= next_health:
                    channel.send(("health", self.health()))
            if time.monotonic() >= next_health:
                next_health = time.monotonic() + HEALTH_PUSH_SECS
            await asyncio.sleep(QUOTE_PUSH_SECS)


def _state_as_events(record: VenueOrderRecord | None) -> list[VenueEvent]:
    """An order's state in the record as the events that led to it (``replayed``), for a
    daemon that asks again: accepted, each fill, and how it ended."""
    if record is None or record.status == "SUBMITTED":
        return []  # the node has it: its events are still to come
    key, order_id = record.venue_key, record.order_id
    replayed = {"replayed": True}
    if record.status == "REJECTED":
        detail = {**replayed, "reason": record.reason}
        return [VenueEvent(VenueEventKind.REJECTED, order_id, key, detail)]
    events = [VenueEvent(VenueEventKind.ACCEPTED, order_id, key, dict(replayed))]
    filled = Decimal(0)
    for fill in record.fills:
        filled += fill.quantity
        detail = {
            **replayed,
            "trade_id": fill.fill_id,
            "filled_quantity": str(filled),
            "leaves_quantity": str(max(record.quantity - filled, Decimal(0))),
            "final": filled >= record.quantity,
        }
        events.append(VenueEvent(VenueEventKind.FILLED, order_id, key, detail, fill))
    if record.status == "CANCELED":
        detail = {**replayed, "filled_quantity": str(filled)}
        if record.reason is not None:
            detail["reason"] = record.reason
        events.append(VenueEvent(VenueEventKind.CANCELED, order_id, key, detail))
    return events
