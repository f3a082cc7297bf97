"""The daemon's client of the paper venue process (``exec-venue paper``,
:mod:`live_daemon.venues.host`): :class:`VenueProcessGateway`.

The venue is a long-running process of its own, listening on TCP, with its own record; the
daemon is its client, and a client that comes and goes. So the gateway:

- **connects** in :meth:`~VenueProcessGateway.start`: authenticates (both ends prove they
  hold ``<state_dir>/venue.key``, :mod:`live_daemon.venues.auth`) and waits until the venue
  is ready with a quote for every instrument. If nothing listens and ``autostart`` is on,
  it starts the venue itself, detached, so that it outlives the daemon
  (:mod:`live_daemon.venues.launch`). How long it waits is ``start_timeout_secs``
  (``EXEC_DAEMON_VENUE_START_TIMEOUT_SECS``); the error says what it was waiting for;
- **watches** the connection: on loss, :meth:`~VenueProcessGateway.is_connected` is false,
  ``on_connection(False)`` is called, every request waiting for an answer fails with
  :class:`~live_daemon.venues.gateway.VenueUnavailable` (never ``None``, which means "the
  venue has no such order"), orders are answered with a ``rejected`` event naming the
  venue; then it reconnects with exponential backoff (tenacity, at most
  ``reconnect_max_secs`` apart, until :meth:`~VenueProcessGateway.stop`), starting the
  venue again if it is gone and ``autostart`` is on. Back: ``on_connection(True)``, so the
  daemon can read what it missed from the venue's record. Only if the venue says another
  client replaced this one (``replaced``) does it stay away;
- **trades**: ``submit``/``cancel`` write one frame and return (the venue answers with
  events, handed to ``on_event`` in the venue's order); ``last_quote`` reads the daemon's
  copy of the quotes the venue pushes when they change;
- **asks the record**: ``order_record``, ``open_orders``, ``fills_since``, ``positions``,
  ``venue_state`` (and ``order_state``, derived), coroutines with a deadline
  (``request_timeout_secs``). The answers come packed (:mod:`~live_daemon.venues.record_codec`);
  the whole record is decoded in a worker thread, off the daemon's loop.

:meth:`~VenueProcessGateway.stop` closes the connection only: venues outlive the daemon
(``exec-venue stop`` stops one).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import socket
import subprocess
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from live_daemon.domain import Fill
from live_daemon.operations import NAUTILUS_CAPABILITIES, VenueCapabilities
from live_daemon.venues.auth import AuthenticationError, prove_client, read_key
from live_daemon.venues.gateway import (
    Quote,
    VenueError,
    VenueEvent,
    VenueEventKind,
    VenueOrder,
    VenueOrderRecord,
    VenueState,
    VenueUnavailable,
    unbound_event_sink,
)
from live_daemon.venues.host_config import VenueHostConfig
from live_daemon.venues.launch import launch, log_tail
from live_daemon.venues.record_codec import (
    unpack_fills,
    unpack_orders_with_fills,
    unpack_positions,
    unpack_state,
)
from live_daemon.venues.state_dir import VenueDir
from live_daemon.venues.wire import FrameProtocol

log = logging.getLogger(__name__)

START_TIMEOUT_SETTING = "EXEC_DAEMON_VENUE_START_TIMEOUT_SECS"
CONNECT_TIMEOUT_SECS = 5.0
REQUEST_TIMEOUT_SECS = 120.0  # the whole record of a busy day, on a busy machine
RECONNECT_FIRST_SECS = 0.1
START_POLL_MAX_SECS = 0.5


class VenueProcessGateway:
    """The paper venue across a connection (module docstring)."""

    def __init__(
        self,
        config: VenueHostConfig,
        on_event: Callable[[VenueEvent], None] | None = None,
        *,
        on_connection: Callable[[bool], None] | None = None,
        autostart: bool = True,
        start_timeout_secs: float = 300.0,
        reconnect_max_secs: float = 5.0,
        request_timeout_secs: float = REQUEST_TIMEOUT_SECS,
    ) -> None:
        self.config = config
        self.instrument_keys = list(dict.fromkeys(config.instruments))
        self.endpoint = config.endpoint
        self.venue_dir = VenueDir(config.state_dir.resolve())
        self.autostart = autostart
        self.start_timeout_secs = start_timeout_secs
        self.reconnect_max_secs = reconnect_max_secs
        self.request_timeout_secs = request_timeout_secs
        self.reconnects = 0
        self.last_connected_at: dt.datetime | None = None
        self.replaced_by: str | None = None  # another client took the venue over
        self._on_event = on_event or unbound_event_sink
        self._on_connection = on_connection
        self._channel: FrameProtocol | None = None
        self._connected = False  # the channel is open and the venue was ready on it
        self._hello: dict[str, Any] = {}
        self._venue_health: dict[str, Any] = {}
        self._quotes: dict[str, Quote] = {}
        self._ready: asyncio.Future[None] | None = None
        self._answers: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self._request_ids = itertools.count(1)
        self._supervisor: asyncio.Task[None] | None = None
        self._launched: subprocess.Popen[bytes] | None = None
        self._phase = f"a connection to {self.endpoint}"  # what an attempt waits for now

    # -- state -------------------------------------------------------------------------------

    def is_connected(self, venue_key: str | None = None) -> bool:
        """Connected to a ready venue (that trades ``venue_key``, if given)."""
        channel = self._channel
        if not (self._connected and channel is not None and channel.is_open):
            return False
        return venue_key is None or venue_key in self._hello.get("instruments", ())

    def unavailable_reason(self, venue_key: str) -> str | None:
        if self.is_connected(venue_key):
            return None
        return f"not connected to the paper venue at {self.endpoint}"

    @property
    def is_running(self) -> bool:
        return self.is_connected()

    @property
    def pid(self) -> int | None:
        """The venue process's pid, as it said in its greeting."""
        pid = self._hello.get("pid")
        return pid if isinstance(pid, int) else None

    def health(self) -> dict[str, Any]:
        now = time.time_ns()
        connected = self.is_connected()
        return {
            "connected": connected,
            "running": connected,
            "endpoint": self.endpoint,
            "pid": self.pid,
            "reconnects": self.reconnects,
            "last_connected_at": None
            if self.last_connected_at is None
            else self.last_connected_at.isoformat(),
            "last_quote_age_ms": {
                key: None
                if key not in self._quotes
                else round((now - self._quotes[key][4]) / 1e6, 1)
                for key in self.instrument_keys
            },
            "replaced_by": self.replaced_by,
            "state_dir": str(self.venue_dir.path),
            "log": str(self.venue_dir.log),
            "venue": self._venue_health,
        }

    def venues_health(self) -> dict[str, dict[str, Any]]:
        return {"paper": {**self.health(), "venue_keys": list(self.instrument_keys)}}

    # -- lifecycle ---------------------------------------------------------------------------

    def bind(
        self,
        on_event: Callable[[VenueEvent], None],
        on_connection: Callable[[bool], None] | None = None,
    ) -> None:
        """Where events and connection changes go, when the consumer is built after the
        gateway (the daemon's orchestrator needs the gateway first). Before :meth:`start`."""
        self._on_event, self._on_connection = on_event, on_connection

    async def start(self) -> None:
        """Connect to the venue (starting it if ``autostart`` and nothing runs) and return
        once it is ready with a quote per instrument; then keep the connection up.

        Raises :class:`VenueError`: the venue could not start (its reason), trades other
        instruments, does not hold our key, exited, or was not ready within
        ``start_timeout_secs`` (the message says what was awaited, the setting to change
        and where the venue's log is)."""
        if self._supervisor is not None:
            raise VenueError("venue gateway: already started")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout_secs
        delay = RECONNECT_FIRST_SECS / 2
        last_error: BaseException | None = None
        while True:
            self._launch_if_gone(starting=True)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._start_timed_out(last_error)
            try:
                channel = await asyncio.wait_for(self._open(), remaining)
                break
            except AuthenticationError as exc:
                raise VenueError(
                    f"the paper venue at {self.endpoint} and this daemon do not share a key "
                    f"({self.venue_dir.key}): {exc}. Is another venue listening on that port?"
                ) from exc
            except OSError as exc:  # nothing listens yet, or the connection dropped
                if loop.time() >= deadline:
                    raise self._start_timed_out(last_error) from None
                last_error = exc
            await asyncio.sleep(min(delay, max(deadline - loop.time(), 0)))
            delay = min(delay * 2, START_POLL_MAX_SECS)
        self._connected_on(channel)
        self._supervisor = asyncio.create_task(self._supervise(), name="venue-connection")

    async def stop(self) -> None:
        """Close the connection (the venue keeps running). Idempotent."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        channel, self._channel = self._channel, None
        self._connected = False
        if channel is not None:
            channel.close()
        self._fail_requests("the venue gateway was stopped")

    # -- connecting --------------------------------------------------------------------------

    async def _open(self) -> FrameProtocol:
        """One attempt: connect, authenticate, wait until the venue is ready. Raises
        ``OSError`` (nothing listens, connection lost), :class:`AuthenticationError`, or
        :class:`VenueError` (the venue could not start, or trades other instruments)."""
        loop = asyncio.get_running_loop()
        self._phase = f"a connection to {self.endpoint}"
        self._hello = {}
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECS):
                await loop.sock_connect(sock, (self.config.host, self.config.port))
            self._phase = f"the handshake with {self.endpoint}"
            await prove_client(sock, read_key(self.venue_dir.key))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            sock.close()
            raise
        self._phase = f"the greeting of the venue at {self.endpoint}"
        ready = self._ready = loop.create_future()
        _, channel = await loop.create_connection(lambda: FrameProtocol(self._on_frame), sock=sock)
        self._channel = channel
        try:
            waits: set[asyncio.Future[Any]] = {ready, channel.closed}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if not ready.done():
                raise ConnectionError(
                    f"the venue at {self.endpoint} closed the connection before it was ready "
                    f"({channel.closed.result() or 'no error'})"
                )
            ready.result()  # raises the venue's VenueError
        except BaseException:
            self._channel = None
            channel.close()
            raise
        finally:
            self._ready = None
        return channel

    def _launch_if_gone(self, *, starting: bool = False) -> None:
        """Start the venue if ``autostart`` and no venue runs on its directory. At start, a
        venue we launched that exited already is an error (its reason is in its log)."""
        if not self.autostart or self.venue_dir.is_locked():
            return
        launched = self._launched
        if launched is not None and launched.poll() is None:
            return  # ours, still starting (it takes the directory's lock first thing)
        if launched is not None:
            tail = log_tail(self.venue_dir.log)
            message = (
                f"the paper venue process (pid {launched.pid}) exited with code "
                f"{launched.returncode}; its log {self.venue_dir.log} ends with:\n{tail}"
            )
            if starting:
                raise VenueError(message)
            log.error("venue_process_exited pid=%d code=%s", launched.pid, launched.returncode)
        self._launched = launch(self.config)

    def _describe_wait(self) -> str:
        if not self._hello:
            if self._phase.startswith("a connection"):
                launched = self._launched
                if launched is not None and launched.poll() is None:
                    return f"{self._phase} (the venue started as pid {launched.pid} is not up yet)"
                if not self.autostart:
                    return f"{self._phase} (autostart is off: start it with `exec-venue paper`)"
            return self._phase
        missing = [k for k in self.instrument_keys if k not in self._quotes]
        return (
            f"the paper venue (pid {self.pid}) at {self.endpoint} to be ready: it is "
            f"{self._hello.get('state')}, with no quote yet for {len(missing)} of "
            f"{len(self.instrument_keys)} instruments"
        )

    def _start_timed_out(self, last_error: BaseException | None) -> VenueError:
        detail = f" (last error: {last_error})" if last_error is not None else ""
        return VenueError(
            f"the paper venue was not ready after {self.start_timeout_secs:g}s: waited for "
            f"{self._describe_wait()}{detail}. Set {START_TIMEOUT_SETTING} to wait longer (a "
            f"busy machine may need minutes); the venue's log is {self.venue_dir.log}"
        )

    # -- keeping the connection ------------------------------------------------------------

    async def _supervise(self) -> None:
        """Wait for the connection to end, say so, reconnect; until cancelled by stop()."""
        while True:
            channel = self._channel
            assert channel is not None
            error = await asyncio.shield(channel.closed)
            self._lost(error)
            if self.replaced_by is not None:
                log.error(
                    "venue_taken_over endpoint=%s by=%s: another client connected to the venue; "
                    "this one no longer reconnects (one client per venue)",
                    self.endpoint,
                    self.replaced_by,
                )
                return
            self._connected_on(await self._reconnect())

    async def _reconnect(self) -> FrameProtocol:
        retrying = AsyncRetrying(
            wait=wait_exponential(multiplier=RECONNECT_FIRST_SECS, max=self.reconnect_max_secs),
            retry=retry_if_exception_type((OSError, VenueError)),
            before_sleep=self._log_reconnect_failure,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                self._launch_if_gone()
                return await asyncio.wait_for(self._open(), self.start_timeout_secs)
        raise AssertionError("tenacity retries forever")  # pragma: no cover

    def _log_reconnect_failure(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "venue_reconnect_failed endpoint=%s attempt=%d next_in_s=%.2f waited_for=%r error=%s",
            self.endpoint,
            state.attempt_number,
            state.upcoming_sleep,
            self._describe_wait(),
            error,
        )

    def _connected_on(self, channel: FrameProtocol) -> None:
        if self.last_connected_at is not None:
            self.reconnects += 1
        self._channel, self._connected = channel, True
        self.last_connected_at = dt.datetime.now(dt.UTC)
        log.info(
            "venue_connected endpoint=%s pid=%d reconnects=%d",
            self.endpoint,
            self.pid or 0,
            self.reconnects,
        )
        self._notify(True)

    def _lost(self, error: BaseException | None) -> None:
        self._connected, self._channel = False, None
        log.error(
            "venue_disconnected endpoint=%s pid=%d error=%s: orders are rejected until it is back",
            self.endpoint,
            self.pid or 0,
            error,
        )
        self._fail_requests("the connection was lost")
        self._notify(False)

    def _notify(self, connected: bool) -> None:
        if self._on_connection is None:
            return
        try:
            self._on_connection(connected)
        except Exception:
            log.exception("venue_on_connection_failed connected=%s", connected)

    def _fail_requests(self, why: str) -> None:
        answers, self._answers = self._answers, {}
        for name, answer in answers.values():
            if not answer.done():
                answer.set_exception(
                    VenueUnavailable(
                        f"the paper venue at {self.endpoint} did not answer {name}: {why}"
                    )
                )

    # -- trading -----------------------------------------------------------------------------

    def capabilities(self, venue_key: str) -> VenueCapabilities:
        """A NautilusTrader paper venue takes GTC trades only."""
        return NAUTILUS_CAPABILITIES

    def submit(self, order: VenueOrder) -> None:
        """Send an order; its events come through ``on_event``. Not connected: a
        ``rejected`` event at once, naming the venue."""
        channel = self._channel
        if not self.is_connected() or channel is None:
            reason = (
                f"the paper venue at {self.endpoint} is not connected (the daemon is "
                "reconnecting); the order was not sent"
            )
            self._on_event(
                VenueEvent(
                    VenueEventKind.REJECTED, order.order_id, order.venue_key, {"reason": reason}
                )
            )
            return
        channel.send(("submit", order))

    def cancel(self, order_id: str, venue_key: str | None = None) -> None:
        channel = self._channel
        if not self.is_connected() or channel is None:
            log.warning(
                "venue_cancel_not_sent order_id=%s endpoint=%s: not connected; the venue's "
                "record settles the order once it is back",
                order_id,
                self.endpoint,
            )
            return
        channel.send(("cancel", order_id))

    def last_quote(self, venue_key: str) -> Quote | None:
        return self._quotes.get(venue_key)

    # -- the venue's record ------------------------------------------------------------------

    async def order_record(self, order_id: str) -> VenueOrderRecord | None:
        """The order as the venue's record has it, with its fills; ``None`` only when the
        venue never received it. :class:`VenueUnavailable` if it cannot be asked now."""
        orders = unpack_orders_with_fills(await self._request("order_record", order_id))
        return orders[0] if orders else None

    async def order_state(self, order_id: str) -> str | None:
        """The order's status in the venue's record (``None``: the venue never got it)."""
        record = await self.order_record(order_id)
        return None if record is None else record.status

    async def open_orders(self) -> list[VenueOrderRecord]:
        return unpack_orders_with_fills(await self._request("open_orders"))

    async def fills_since(self, seq: int) -> list[tuple[int, str, Fill]]:
        """``(seq, venue_key, fill)`` of every fill after sequence number ``seq``."""
        return unpack_fills(await self._request("fills_since", seq))

    async def positions(self) -> dict[str, Decimal]:
        """Per venue_key, the signed sum of the fills (venue units)."""
        return unpack_positions(await self._request("positions"))

    async def venue_state(self) -> VenueState:
        """The venue's whole record at one instant (decoded in a worker thread: 100,000
        orders and fills take a few tenths of a second)."""
        return await asyncio.to_thread(unpack_state, await self._request("venue_state"))

    async def _request(self, name: str, *args: Any) -> Any:
        channel = self._channel
        if not self.is_connected() or channel is None:
            raise VenueUnavailable(
                f"the paper venue at {self.endpoint} is not connected; cannot ask it {name}"
            )
        request_id = next(self._request_ids)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._answers[request_id] = (name, answer)
        channel.send(("request", request_id, name, *args))
        try:
            async with asyncio.timeout(self.request_timeout_secs):
                return await answer
        except TimeoutError:
            raise VenueUnavailable(
                f"the paper venue at {self.endpoint} did not answer {name} within "
                f"{self.request_timeout_secs:g}s (request_timeout_secs)"
            ) from None
        finally:
            self._answers.pop(request_id, None)

    # -- frames ------------------------------------------------------------------------------

    def _on_frame(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "event":
            try:
                self._on_event(message[1])
            except Exception:
                log.exception("venue_event_handler_failed order_id=%s", message[1].order_id)
        elif kind == "quotes":
            self._quotes.update(message[1])
        elif kind == "health":
            self._venue_health = message[1]
        elif kind in ("answer", "error"):
            waiting = self._answers.get(message[1])
            if waiting is not None and not waiting[1].done():
                if kind == "answer":
                    waiting[1].set_result(message[2])
                else:
                    waiting[1].set_exception(VenueError(f"the paper venue: {message[2]}"))
        elif kind == "replaced":
            self.replaced_by = message[1]
        elif kind == "hello":
            self._on_hello(message[1])
        elif kind == "ready":
            self._venue_health = message[1]
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
        elif kind == "failed":
            log.error("venue_failed endpoint=%s reason=%s", self.endpoint, message[1])
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(
                    VenueError(f"the paper venue could not start: {message[1]}")
                )
        else:
            log.error("venue_unexpected_frame kind=%r", kind)

    def _on_hello(self, hello: dict[str, Any]) -> None:
        self._hello = hello
        served = set(hello.get("instruments", ()))
        missing = [key for key in self.instrument_keys if key not in served]
        if missing and self._ready is not None and not self._ready.done():
            self._ready.set_exception(
                VenueError(
                    f"the paper venue at {self.endpoint} (pid {hello.get('pid')}) does not "
                    f"trade {', '.join(missing)}: it was started with other instruments. "
                    f"Stop it (`exec-venue stop --dir {self.venue_dir.path}`) and the daemon "
                    "starts one with its own settings"
                )
            )
        elif hello.get("mode", "paper") != self.config.mode and self._ready is not None:
            if not self._ready.done():
                self._ready.set_exception(
                    VenueError(
                        f"the venue at {self.endpoint} (pid {hello.get('pid')}) runs in "
                        f"{hello.get('mode')} mode, the daemon in {self.config.mode} mode: stop "
                        f"it (`exec-venue stop --dir {self.venue_dir.path}`) and the daemon "
                        "starts one in its own mode"
                    )
                )
        elif hello.get("day") != self.config.day.isoformat():
            log.warning(
                "venue_replays_another_day endpoint=%s venue_day=%s daemon_day=%s",
                self.endpoint,
                hello.get("day"),
                self.config.day,
            )
