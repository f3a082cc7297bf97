"""The daemon's side of the venue host process (:mod:`live_daemon.venues.host`).

:class:`VenueProcessGateway` has the gateway interface the orchestrator uses
(``submit``, ``cancel``, ``last_quote``, ``order_state``, ``health``), and forwards it to
a paper venue running in a child process over a ``socketpair``
(:mod:`live_daemon.venues.wire`):

- ``submit``/``cancel`` write one frame and return (the venue answers with events);
- ``last_quote`` reads the daemon's copy of the venue's quotes, pushed by the host when
  they change (at most :data:`~live_daemon.venues.host.QUOTE_PUSH_SECS` old);
- ``order_state`` asks the host (a coroutine: it crosses the connection);
- events arrive in the venue's order and are handed to ``on_event`` on the daemon's loop.

If the host dies, the gateway reports it in ``health()`` and every later ``submit`` gives
a ``rejected`` event, so no order waits for a venue that is gone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from live_daemon.venues.gateway import Quote, VenueError, VenueEvent
from live_daemon.venues.host_config import VenueHostConfig
from live_daemon.venues.wire import FrameProtocol

log = logging.getLogger(__name__)


class VenueProcessGateway:
    """A paper venue in a child process (module docstring)."""

    def __init__(
        self,
        ticks_store_url: str,
        instruments: list[str],
        day: dt.date,
        on_event: Callable[[VenueEvent], None],
        *,
        speed: float = 1.0,
        start_offset_secs: float = 0.0,
        log_level: str = "INFO",
        start_timeout_secs: float = 90.0,
    ) -> None:
        self.instrument_keys = list(dict.fromkeys(instruments))
        self.config = VenueHostConfig(
            ticks_store_url=ticks_store_url,
            instruments=self.instrument_keys,
            day=day,
            speed=speed,
            start_offset_secs=start_offset_secs,
            log_level=log_level,
        )
        self.start_timeout_secs = start_timeout_secs
        self._on_event = on_event
        self._process: asyncio.subprocess.Process | None = None
        self._channel: FrameProtocol | None = None
        self._quotes: dict[str, Quote] = {}
        self._health: dict[str, Any] = {}
        self._ready: asyncio.Future[dict[str, Any]] | None = None
        self._answers: dict[int, asyncio.Future[str | None]] = {}
        self._request_ids = itertools.count(1)
        self._running = False
        self._watcher: asyncio.Future[None] | None = None

    @property
    def is_running(self) -> bool:
        return self._running and self._channel is not None and self._channel.is_open

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the host and return once its venue is up with a quote per instrument.
        Raises :class:`VenueError` with the host's reason if it could not start."""
        if self._process is not None:
            raise VenueError("venue process: already started")
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "live_daemon.venues.host",
                "--fd",
                str(theirs.fileno()),
                "--config",
                self.config.model_dump_json(),
                pass_fds=(theirs.fileno(),),
                env=os.environ.copy(),
            )
        finally:
            theirs.close()
        self._ready = loop.create_future()
        _, self._channel = await loop.create_connection(
            lambda: FrameProtocol(self._on_frame), sock=ours
        )
        exited = asyncio.ensure_future(self._process.wait())
        try:
            waits: set[asyncio.Future[Any]] = {self._ready, exited}
            done, _ = await asyncio.wait(
                waits,
                timeout=self.start_timeout_secs,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if self._ready in done:
                self._health = self._ready.result()  # raises VenueError if it failed
            elif exited in done:
                raise VenueError(f"venue process exited with code {exited.result()} at start")
            else:
                raise VenueError(f"venue process not ready after {self.start_timeout_secs:g}s")
        except BaseException:
            exited.cancel()
            await self.stop()
            raise
        exited.cancel()
        self._running = True
        self._watcher = asyncio.ensure_future(self._watch(self._process))
        log.info("venue_process_started pid=%d quotes=%d", self._process.pid, len(self._quotes))

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        """Say so when the venue process ends without being asked to."""
        code = await process.wait()
        if self._running and self._process is process:
            self._running = False
            log.error(
                "venue_process_exited pid=%d code=%s: orders are rejected until the daemon "
                "restarts it",
                process.pid,
                code,
            )

    async def stop(self) -> None:
        """Ask the host to stop its node and exit; kill it if it does not within 15 s.
        Idempotent."""
        self._running = False
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        process, self._process = self._process, None
        channel, self._channel = self._channel, None
        if channel is not None and channel.is_open:
            channel.send(("stop",))
        if process is not None and process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except TimeoutError:
                log.error("venue_process_kill pid=%d reason=no_exit_after_stop", process.pid)
                process.kill()
                await process.wait()
        if channel is not None:
            channel.close()
        for answer in self._answers.values():
            if not answer.done():
                answer.set_result(None)
        self._answers.clear()

    # -- the gateway interface -------------------------------------------------------------

    def submit(
        self,
        order_id: str,
        venue_key: str,
        side: str,
        quantity: Decimal,
        order_type: str,
        price: Decimal | None,
        exec_algorithm: str,
        exec_algorithm_params: dict[str, Any],
    ) -> None:
        """Send an order to the venue; its events come through ``on_event``."""
        request = (order_id, venue_key, side, quantity, order_type, price, exec_algorithm)
        if not self._send(("submit", *request, dict(exec_algorithm_params or {}))):
            reason = "the venue process is not running"
            self._on_event(VenueEvent("rejected", order_id, venue_key, {"reason": reason}))

    def cancel(self, order_id: str) -> None:
        self._send(("cancel", order_id))

    def last_quote(self, venue_key: str) -> Quote | None:
        return self._quotes.get(venue_key)

    async def order_state(self, order_id: str) -> str | None:
        """What the venue knows of the order (see ``PaperVenueGateway.order_state``);
        ``None`` when the venue never saw it or is not running."""
        request_id = next(self._request_ids)
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._answers[request_id] = answer
        if not self._send(("order_state", request_id, order_id)):
            self._answers.pop(request_id, None)
            return None
        try:
            return await asyncio.wait_for(answer, timeout=10)
        finally:
            self._answers.pop(request_id, None)

    def health(self) -> dict[str, Any]:
        now = time.time_ns()
        return {
            **self._health,
            "running": self.is_running,
            "process": {"pid": self.pid, "alive": self._process is not None},
            "last_quote_age_ms": {
                key: None
                if key not in self._quotes
                else round((now - self._quotes[key][4]) / 1e6, 1)
                for key in self.instrument_keys
            },
        }

    # -- the channel -----------------------------------------------------------------------

    def _send(self, message: tuple[Any, ...]) -> bool:
        channel = self._channel
        if channel is None or not channel.is_open:
            return False
        channel.send(message)
        return True

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
            self._health = message[1]
        elif kind == "order_state":
            answer = self._answers.get(message[1])
            if answer is not None and not answer.done():
                answer.set_result(message[2])
        elif kind == "ready" and self._ready is not None and not self._ready.done():
            self._ready.set_result(message[1])
        elif kind == "failed" and self._ready is not None and not self._ready.done():
            self._ready.set_exception(VenueError(f"venue process could not start: {message[1]}"))
        else:
            log.error("venue_process_unexpected_frame kind=%r", kind)
