"""The venue handshake (:mod:`live_daemon.venues.auth`) on real sockets: both ends prove
they hold the key, and a peer that does not is refused before anything it sent is parsed."""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
import stat
from pathlib import Path

import pytest

from live_daemon.venues.auth import (
    MAGIC,
    AuthenticationError,
    load_or_create_key,
    prove_client,
    prove_venue,
    read_key,
)
from live_daemon.venues.wire import encode


class CreatesFile:
    """Unpickling this creates a file: the proof that a frame was (not) loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.mkdir, (str(self.path),))


def test_the_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "venue" / "venue.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key == read_key(path)
    with pytest.raises(AuthenticationError, match="no venue key"):
        read_key(tmp_path / "missing.key")


async def _handshake(venue_key: bytes, client_key: bytes) -> tuple[object, object]:
    venue_side, client_side = socket.socketpair()
    for sock in (venue_side, client_side):
        sock.setblocking(False)

    async def venue() -> None:
        try:
            await prove_venue(venue_side, venue_key)
        except AuthenticationError:
            venue_side.close()  # as the venue's server does
            raise

    try:
        return tuple(  # type: ignore[return-value]
            await asyncio.gather(
                venue(), prove_client(client_side, client_key), return_exceptions=True
            )
        )
    finally:
        venue_side.close()
        client_side.close()


def test_the_same_key_on_both_ends_passes() -> None:
    key = os.urandom(32)
    assert asyncio.run(_handshake(key, key)) == (None, None)


def test_a_wrong_key_is_refused_on_both_ends() -> None:
    venue, client = asyncio.run(_handshake(os.urandom(32), os.urandom(32)))
    assert isinstance(venue, AuthenticationError) and "does not match" in str(venue)
    # the venue refused and hung up: the client never got a proof
    assert isinstance(client, AuthenticationError) and "key is not ours" in str(client)


def test_a_peer_that_skips_the_handshake_is_never_unpickled(tmp_path: Path) -> None:
    """It sends a frame at once; the venue reads it as a (wrong) answer and closes."""
    marker = tmp_path / "unpickled"
    frame = encode(("submit", CreatesFile(marker)))
    assert len(frame) > 64  # more than the answer the venue reads

    async def body() -> bytes:
        venue_side, attacker = socket.socketpair()
        venue_side.setblocking(False)
        attacker.sendall(frame)
        with pytest.raises(AuthenticationError):
            await prove_venue(venue_side, os.urandom(32))
        venue_side.close()
        attacker.settimeout(5)
        return attacker.recv(1024)

    greeting = asyncio.run(body())
    assert greeting.startswith(MAGIC)  # the challenge, and nothing else
    assert not marker.exists()
    pickle.loads(frame[4:])  # the payload was live: loading it does create the file
    assert marker.exists()
