"""One JSON-RPC session with Deribit over a WebSocket: :class:`DeribitConnection`.

- each request gets its own id and a future the reader resolves with the reply's result,
  or fails with the :class:`DeribitError` of an error reply;
- a request with no answer within its timeout, or whose connection is lost before the
  answer, raises :class:`VenueUnavailable` naming the method and what it waited for: its
  outcome is unknown, and nothing here sends it again;
- subscription notifications go to ``on_notification(channel, data)``;
- heartbeats: the server's ``test_request`` is answered with ``public/test`` (else Deribit
  closes the connection);
- an error 10028 too_many_requests means Deribit closes the session: we close it too, so
  the adapter's supervisor reconnects at once instead of waiting for the socket to die.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from live_daemon.venues.deribit.errors import DeribitError
from live_daemon.venues.deribit.messages import public_test
from live_daemon.venues.deribit.protocol import (
    ErrorResponse,
    Heartbeat,
    HeartbeatType,
    Notification,
    ProtocolError,
    Request,
    Response,
    dumps,
    parse_frame,
)
from live_daemon.venues.deribit.rate_limit import RateLimiter
from live_daemon.venues.gateway import VenueNotSent, VenueUnavailable

log = logging.getLogger(__name__)

NotificationSink = Callable[[str, Any], None]
RequestBuilder = Callable[[int], Request]


class DeribitConnection:
    """A connected session (module docstring). Build with :meth:`open`."""

    def __init__(
        self,
        ws: ClientConnection,
        *,
        on_notification: NotificationSink,
        limiter: RateLimiter | None,
        request_timeout: float,
    ) -> None:
        self._ws = ws
        self._on_notification = on_notification
        self._limiter = limiter
        self.request_timeout = request_timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self.closed = asyncio.Event()
        self.close_reason = ""
        self.test_requests_answered = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._kept: set[asyncio.Task[Any]] = set()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        on_notification: NotificationSink,
        limiter: RateLimiter | None,
        request_timeout: float,
        open_timeout: float,
    ) -> DeribitConnection:
        """Connect to ``url``; :class:`VenueUnavailable` naming it if that fails."""
        try:
            ws = await websockets.connect(url, open_timeout=open_timeout, max_size=2**24)
        except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
            raise VenueUnavailable(f"cannot connect to Deribit at {url}: {exc}") from exc
        return cls(
            ws, on_notification=on_notification, limiter=limiter, request_timeout=request_timeout
        )

    @property
    def is_open(self) -> bool:
        return not self.closed.is_set()

    async def call(self, build: RequestBuilder, *, timeout: float | None = None) -> Any:
        """Send the request ``build(id)`` once and return its result (module docstring)."""
        request = build(next(self._ids))
        method, rid = request.method, request.id
        assert isinstance(rid, int)
        wait = self.request_timeout if timeout is None else timeout
        if self._limiter is not None:
            await self._limiter.acquire(method, wait)
        if self.closed.is_set():  # closed while it waited for credits: never sent
            raise VenueNotSent(f"not connected to Deribit ({self.close_reason}): {method} not sent")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = (method, future)
        try:
            try:
                await self._ws.send(dumps(request))
            except websockets.ConnectionClosed as exc:
                raise VenueUnavailable(
                    f"connection to Deribit lost while sending {method} (request {rid}): {exc}"
                ) from exc
            try:
                return await asyncio.wait_for(asyncio.shield(future), wait)
            except TimeoutError:
                raise VenueUnavailable(
                    f"no answer from Deribit to {method} (request {rid}) within {wait} s"
                ) from None
        finally:
            self._pending.pop(rid, None)

    async def close(self, reason: str = "closed by us") -> None:
        if not self.closed.is_set():
            self.close_reason = reason
        await self._ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)

    # -- the reader ----------------------------------------------------------------------

    async def _read(self) -> None:
        reason = "connection closed by Deribit"
        try:
            async for raw in self._ws:
                self._dispatch(raw)
        except websockets.ConnectionClosed as exc:
            reason = f"connection closed: {exc}"
        except Exception as exc:  # a bug in a handler must not leave callers hanging
            log.exception("deribit_reader_failed error=%s", exc)
            reason = f"reader failed: {exc}"
            await self._ws.close()
        finally:
            if not self.close_reason:
                self.close_reason = reason
            self.closed.set()
            for method, future in self._pending.values():
                if not future.done():
                    future.set_exception(
                        VenueUnavailable(
                            f"connection to Deribit lost before the answer to {method} "
                            f"({self.close_reason})"
                        )
                    )
            for task in list(self._tasks):
                task.cancel()

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            frame = parse_frame(raw)
        except ProtocolError as exc:
            log.error("deribit_bad_frame error=%s", exc)
            return
        if isinstance(frame, Response | ErrorResponse):
            self._on_reply(frame)
        elif isinstance(frame, Notification):
            try:
                self._on_notification(frame.params.channel, frame.params.data)
            except Exception:
                log.exception("deribit_notification_failed channel=%s", frame.params.channel)
        elif isinstance(frame, Heartbeat):
            if frame.params.type is HeartbeatType.test_request:
                self._spawn(self._answer_test_request())
        else:
            log.warning("deribit_unexpected_request method=%s", frame.method)

    def _on_reply(self, frame: Response | ErrorResponse) -> None:
        entry = self._pending.get(frame.id) if isinstance(frame.id, int) else None
        if entry is None:
            # a reply after its caller gave up: its effects come through notifications
            log.warning("deribit_late_or_unknown_reply id=%s", frame.id)
            return
        method, future = entry
        if future.done():
            return
        if isinstance(frame, Response):
            future.set_result(frame.result)
            return
        error = frame.exception()
        future.set_exception(error)
        if error.closes_session:
            log.warning("deribit_session_closed_by_venue method=%s error=%s", method, error)
            self.close_reason = f"{error} (on {method})"
            self._spawn(self._ws.close(), keep=True)

    async def _answer_test_request(self) -> None:
        try:
            await self.call(public_test)
            self.test_requests_answered += 1
        except (VenueUnavailable, DeribitError) as exc:
            log.warning("deribit_test_request_unanswered error=%s", exc)

    def _spawn(self, coro: Any, *, keep: bool = False) -> None:
        """Run ``coro`` beside the reader; cancelled when the connection closes unless
        ``keep`` (the close itself)."""
        task = asyncio.get_running_loop().create_task(coro)
        tasks = self._kept if keep else self._tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)
