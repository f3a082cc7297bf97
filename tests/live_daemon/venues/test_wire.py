"""The daemon ↔ venue-host frames: order kept, split reads reassembled, bursts coalesced."""

from __future__ import annotations

import asyncio
import socket
import struct
from decimal import Decimal
from typing import Any

from live_daemon.venues.wire import MAX_FRAME_BYTES, FrameError, FrameProtocol, encode


async def _pair() -> tuple[FrameProtocol, FrameProtocol, list[tuple[Any, ...]]]:
    loop = asyncio.get_running_loop()
    left, right = socket.socketpair()
    received: list[tuple[Any, ...]] = []
    _, sender = await loop.create_connection(lambda: FrameProtocol(lambda m: None), sock=left)
    _, receiver = await loop.create_connection(lambda: FrameProtocol(received.append), sock=right)
    return sender, receiver, received


def test_frames_arrive_whole_and_in_order() -> None:
    async def body() -> None:
        sender, receiver, received = await _pair()
        messages = [("submit", f"o-{i}", Decimal("0.001") * i, None) for i in range(2000)]
        for message in messages:  # one burst: written together at the end of this turn
            sender.send(message)
        while len(received) < len(messages):
            await asyncio.sleep(0.01)
        assert received == messages
        sender.close()
        assert await asyncio.wait_for(receiver.closed, 5) is None

    asyncio.run(body())


def test_a_frame_split_at_every_byte_is_reassembled() -> None:
    received: list[tuple[Any, ...]] = []

    async def body() -> None:
        protocol = FrameProtocol(received.append)
        data = encode(("event", {"a": 1})) + encode(("quotes", {"k": (1, 2)}))
        for i in range(len(data)):
            protocol.data_received(data[i : i + 1])

    asyncio.run(body())
    assert received == [("event", {"a": 1}), ("quotes", {"k": (1, 2)})]


def test_an_oversized_length_closes_the_channel_with_the_reason() -> None:
    async def body() -> None:
        sender, receiver, received = await _pair()
        sender._transport.write(struct.pack(">I", MAX_FRAME_BYTES + 1))  # type: ignore[union-attr]
        error = await asyncio.wait_for(receiver.closed, 5)
        assert isinstance(error, FrameError) and "above" in str(error)
        assert received == []
        sender.close()

    asyncio.run(body())
