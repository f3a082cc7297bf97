"""Frames between the daemon (:mod:`live_daemon.venues.process`) and its venue
(:mod:`live_daemon.venues.host`), over TCP.

A frame is a 4-byte big-endian length and a pickled tuple ``(kind, *fields)``. Pickle runs
code chosen by the sender, so a frame is parsed only from a peer that has proved it holds
the venue's key (:mod:`live_daemon.venues.auth`), on both ends: the handshake runs on the
raw socket before a :class:`FrameProtocol` is attached to it. :class:`FrameProtocol` is an
asyncio protocol: it buffers what arrives and hands every complete frame to ``on_frame``,
so a burst of events costs one read, not two awaits per event; what is sent in one turn of
the loop leaves in one write.

Messages, daemon → venue:

- ``("submit", VenueOrder)`` (:class:`~live_daemon.venues.gateway.VenueOrder`):
  answered by events. An order id the venue already knows is not traded again; the venue
  answers with the order's state as events (``detail["replayed"]``);
- ``("cancel", order_id)``: answered by a ``canceled`` event (or the order's state, if the
  venue no longer trades it);
- ``("request", request_id, name, *args)``, answered by ``("answer", request_id, value)``
  or ``("error", request_id, message)``, from the venue's record. The values are in the
  packed form of :mod:`live_daemon.venues.record_codec` (the daemon decodes them):

  - ``order_record(order_id)`` → ``(orders, fills)`` (no order row: the venue never got it);
  - ``open_orders()`` → ``(orders, fills)``;
  - ``fills_since(seq)`` → ``fills`` (with their sequence numbers);
  - ``positions()`` → ``[(venue_key, quantity)]``;
  - ``venue_state()`` → ``(read_at_ns, orders, fills, positions, last_fill_seq)``.

venue → daemon:

- ``("hello", info)`` right after the handshake: ``pid``, ``state``
  (``starting``/``ready``/``failed``), ``instruments``, ``day``, ``speed``, ``record``;
- ``("ready", health)`` once the node is up, right after a ``quotes`` frame holding every
  book (at once, for a daemon that connects to a venue already up), or ``("failed",
  message)`` if the node could not start (the venue then exits);
- ``("event", VenueEvent)`` per order event, in the node's order, each one already in the
  venue's record (a fill's ``detail["fill_seq"]`` is its sequence number there);
- ``("quotes", {venue_key: (bid, bid_size, ask, ask_size, ts_ns)})``: the quotes that
  changed since the last such frame (sizes in venue units);
- ``("health", dict)`` every half second;
- ``("answer", ...)`` / ``("error", ...)`` as above;
- ``("replaced", peer)`` just before the venue closes this connection because another
  client connected (the newest wins): the client stops reconnecting.
"""

from __future__ import annotations

import asyncio
import pickle
import struct
from collections.abc import Callable
from typing import Any, cast

_HEADER = struct.Struct(">I")
# The venue's whole record crosses as one frame (a reconciliation run reads it): about
# 190 MB at 1,000,000 orders and fills. Anything larger than this is not a frame of ours.
MAX_FRAME_BYTES = 1024 * 1024 * 1024


class FrameError(RuntimeError):
    """The peer sent something that is not a frame of this protocol."""


def encode(message: tuple[Any, ...]) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


class FrameProtocol(asyncio.Protocol):
    """Both ends of the channel: ``send`` writes a frame, ``on_frame`` receives each one,
    ``closed`` resolves when the connection ends, to the error if there was one."""

    def __init__(self, on_frame: Callable[[tuple[Any, ...]], None]) -> None:
        self._on_frame = on_frame
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._outgoing: list[bytes] = []
        self.closed: asyncio.Future[BaseException | None] = (
            asyncio.get_running_loop().create_future()
        )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        while len(buffer) - start >= _HEADER.size:
            (size,) = _HEADER.unpack_from(buffer, start)
            if size > MAX_FRAME_BYTES:
                self._fail(FrameError(f"frame of {size} bytes is above {MAX_FRAME_BYTES}"))
                return
            end = start + _HEADER.size + size
            if len(buffer) < end:
                break
            message = pickle.loads(buffer[start + _HEADER.size : end])
            start = end
            self._on_frame(message)
        del buffer[:start]

    def send(self, message: tuple[Any, ...]) -> None:
        """Queue a frame; the frames queued during one turn of the event loop leave in one
        write (a burst of orders or fills costs one system call, not one each)."""
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("the venue channel is closed")
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(encode(message))

    def _flush(self) -> None:
        frames, self._outgoing = self._outgoing, []
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(frames))

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def close(self) -> None:
        """Close once the frames already queued have been written."""
        if self._outgoing:
            self._flush()
        if self._transport is not None:
            self._transport.close()

    def _fail(self, exc: Exception) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(exc)
