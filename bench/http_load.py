"""A lean HTTP/1.1 load generator for the benchmarks: keep-alive connections, one request
in flight on each (no pipelining), responses parsed by httptools (the C parser uvicorn
uses). httpx spent about 1 ms of CPU per request here, which capped the measured
throughput at the client's speed on a 2-core machine, not the daemon's."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import httptools


def post_request(host: str, port: int, path: str, token: str, body: dict[str, Any]) -> bytes:
    """One HTTP/1.1 POST with a JSON body, as bytes on the wire."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


class _Connection(asyncio.Protocol):
    """A keep-alive connection; ``request`` sends one request and awaits its status."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._pending: asyncio.Future[int] | None = None
        self._transport: asyncio.Transport | None = None
        self.lost = False  # the server closed it (e.g. idle past its keep-alive timeout)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._parser.feed_data(data)

    def on_message_complete(self) -> None:  # httptools callback
        if self._pending is not None and not self._pending.done():
            self._pending.set_result(self._parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._pending is not None and not self._pending.done():
            self._pending.set_exception(ConnectionError(f"connection lost: {exc}"))

    async def request(self, raw: bytes) -> int:
        assert self._transport is not None
        if self.lost or self._transport.is_closing():
            raise ConnectionError("connection lost")
        self._pending = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await self._pending

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    sent_s: list[float] = field(default_factory=list)  # when each request left (from start)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def count(self, *codes: int) -> int:
        return sum(self.statuses.get(code, 0) for code in codes)


async def run_load(
    host: str,
    port: int,
    requests: Sequence[bytes],
    concurrency: int,
    rate: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Send every request over ``concurrency`` connections. Paced (``rate`` per second),
    request i leaves at start + i / rate, or as soon as a connection is free after that;
    unpaced, each connection sends its next request as soon as the last one is answered."""
    loop = asyncio.get_running_loop()
    # The client's own collector pauses would count as the server's latency.
    gc.collect()
    gc.freeze()

    async def connect() -> _Connection:
        return (await loop.create_connection(_Connection, host, port))[1]

    connections = [await connect() for _ in range(concurrency)]
    result = LoadResult()
    next_index = 0
    start = time.perf_counter()

    async def send(slot: int, raw: bytes) -> int:
        """Send on connection ``slot``; one that the server closed while idle is opened
        again and the request sent once more (safe: the order API is idempotent)."""
        if connections[slot].lost:
            connections[slot] = await connect()
        try:
            return await connections[slot].request(raw)
        except ConnectionError:
            connections[slot] = await connect()
            return await connections[slot].request(raw)

    async def drive(slot: int) -> None:
        nonlocal next_index
        while next_index < len(requests):
            i = next_index
            next_index += 1
            if rate:
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            sent = time.perf_counter()
            status = await send(slot, requests[i])
            result.latencies_ms.append((time.perf_counter() - sent) * 1000)
            result.sent_s.append(sent - start)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if on_progress is not None:
                on_progress(1)

    try:
        await asyncio.gather(*(drive(slot) for slot in range(concurrency)))
    finally:
        result.elapsed_s = time.perf_counter() - start
        for connection in connections:
            connection.close()
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0
