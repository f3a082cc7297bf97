"""The venue's listening side: accept on TCP, authenticate (:mod:`live_daemon.venues.auth`)
before a single frame is parsed, and keep **one** daemon connection: the newest.

Why the newest wins: a daemon that was killed may leave its old connection half-open for a
while (nobody closes it until TCP gives up), and its restart must get in at once; two
daemons never share a venue (only one daemon may own the OMS database anyway). The
replaced connection is told so (``replaced``) and closed: a client still alive at its end
stops reconnecting instead of taking the venue back, and both would fight over it forever.

Frames are handled by the venue host (:mod:`live_daemon.venues.host`) through two
callbacks: ``on_connection(channel)`` for a newly admitted daemon, ``on_frame(channel,
message)`` for each of its frames. :meth:`VenueServer.send` writes to the current daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any

from live_daemon.venues.auth import AuthenticationError, prove_venue
from live_daemon.venues.wire import FrameProtocol

log = logging.getLogger(__name__)

OnFrame = Callable[[FrameProtocol, tuple[Any, ...]], None]


def listen(host: str, port: int) -> socket.socket:
    """A non-blocking listening socket on ``host:port``; ``OSError`` (``EADDRINUSE``) if
    something else listens there. ``SO_REUSEADDR`` only lets a restarted venue bind while
    its previous connections linger in TIME_WAIT; it never shares a port that is in use."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(16)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class VenueServer:
    """Accepts daemons on ``listener`` (module docstring)."""

    def __init__(
        self,
        listener: socket.socket,
        key: bytes,
        on_connection: Callable[[FrameProtocol], None],
        on_frame: OnFrame,
    ) -> None:
        self._listener = listener
        self._key = key
        self._on_connection = on_connection
        self._on_frame = on_frame
        self._current: FrameProtocol | None = None
        self._admissions: set[asyncio.Task[None]] = set()
        self.connections = 0  # admitted since the venue started
        self.refused = 0

    @property
    def current(self) -> FrameProtocol | None:
        """The daemon's connection, if one is open."""
        channel = self._current
        return channel if channel is not None and channel.is_open else None

    def send(self, message: tuple[Any, ...]) -> bool:
        """Write a frame to the current daemon; ``False`` if none is connected (what the
        frame said is in the venue's record: the daemon reads it when it is back)."""
        channel = self.current
        if channel is None:
            return False
        channel.send(message)
        return True

    async def serve(self) -> None:
        """Accept until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            sock, peer = await loop.sock_accept(self._listener)
            task = asyncio.create_task(self._admit(sock, peer), name="venue-admit")
            self._admissions.add(task)
            task.add_done_callback(self._admissions.discard)

    async def _admit(self, sock: socket.socket, peer: Any) -> None:
        sock.setblocking(False)
        try:
            await prove_venue(sock, self._key)
        except (AuthenticationError, OSError) as exc:
            self.refused += 1
            log.warning("venue_peer_refused peer=%s reason=%s", peer, exc)
            sock.close()  # nothing it sent was parsed
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def new_channel() -> FrameProtocol:
            channel = FrameProtocol(lambda message: self._on_frame(channel, message))
            return channel

        loop = asyncio.get_running_loop()
        _, channel = await loop.connect_accepted_socket(new_channel, sock=sock)
        previous, self._current = self._current, channel
        self.connections += 1
        if previous is not None and previous.is_open:
            log.warning("venue_daemon_replaced peer=%s: the newest connection wins", peer)
            previous.send(("replaced", str(peer)))  # a live client then stops reconnecting
            previous.close()
        log.info("venue_daemon_connected peer=%s connections=%d", peer, self.connections)
        channel.closed.add_done_callback(lambda _: self._closed(channel, peer))
        self._on_connection(channel)

    def _closed(self, channel: FrameProtocol, peer: Any) -> None:
        error = channel.closed.result()
        if self._current is channel:
            self._current = None
            log.warning("venue_daemon_disconnected peer=%s error=%s", peer, error)

    async def close(self) -> None:
        """Stop accepting, drop admissions in progress, close the daemon's connection."""
        self._listener.close()
        for task in list(self._admissions):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._admissions, return_exceptions=True)
        channel, self._current = self._current, None
        if channel is not None:
            channel.close()
