"""Who may speak to a venue: an HMAC-SHA256 challenge–response on a shared key file, run on
the raw socket *before* any frame is read.

Why: the frames (:mod:`live_daemon.venues.wire`) are pickles, and unpickling bytes runs
code chosen by whoever sent them. A venue listening on a TCP port must therefore know who
is at the other end before it parses anything, and so must the daemon (anything could be
listening on the venue's port while the venue is down). Both ends prove they hold the key
in ``<state_dir>/venue.key`` (32 random bytes, mode 0600, created by the venue), without
sending it:

1. venue → client: :data:`MAGIC` and a random 32-byte nonce ``Nv``;
2. client → venue: its own nonce ``Nc`` and ``HMAC(key, "client" + Nv)``;
3. venue → client: ``HMAC(key, "venue" + Nc)``, once it has checked the client's answer
   (``hmac.compare_digest``); otherwise it closes the socket, having parsed nothing.

The labels keep one side's answer from being replayed as the other's; fresh nonces keep an
old answer from being replayed at all. Every message has a fixed size, and every read a
deadline (:data:`HANDSHAKE_TIMEOUT_SECS`), so a silent peer cannot hold the venue.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import socket
from pathlib import Path

from live_daemon.venues.gateway import VenueError

log = logging.getLogger(__name__)

MAGIC = b"EXEC-VENUE/1\n"
NONCE_BYTES = 32
KEY_BYTES = 32
_MAC_BYTES = hashlib.sha256().digest_size
HANDSHAKE_TIMEOUT_SECS = 5.0


class AuthenticationError(VenueError):
    """The peer did not prove it holds the venue's key (or is not a venue at all)."""


def load_or_create_key(path: Path) -> bytes:
    """The key in ``path``, created (``secrets.token_bytes``, mode 0600) if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key(path)
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(KEY_BYTES))
    log.info("venue_key_created path=%s", path)
    return read_key(path)


def read_key(path: Path) -> bytes:
    """The key in ``path``; :class:`AuthenticationError` says what is wrong with it."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise AuthenticationError(
            f"no venue key at {path}: the venue creates it when it first starts"
        ) from None
    if len(key) < 16:
        raise AuthenticationError(f"the venue key {path} is {len(key)} bytes, too short")
    return key


def _mac(key: bytes, label: bytes, nonce: bytes) -> bytes:
    return hmac.new(key, label + nonce, hashlib.sha256).digest()


async def _read_exactly(sock: socket.socket, size: int, closed: str) -> bytes:
    """``size`` bytes; :class:`AuthenticationError` with ``closed`` if the peer hangs up."""
    loop = asyncio.get_running_loop()
    data = bytearray()
    while len(data) < size:
        chunk = await loop.sock_recv(sock, size - len(data))
        if not chunk:
            raise AuthenticationError(closed)
        data += chunk
    return bytes(data)


async def prove_venue(sock: socket.socket, key: bytes) -> None:
    """The venue's side, on a non-blocking accepted socket: returns once the client has
    proved it holds ``key`` (and has been told the venue does); raises
    :class:`AuthenticationError` otherwise (the caller closes the socket)."""
    loop = asyncio.get_running_loop()
    nonce = secrets.token_bytes(NONCE_BYTES)
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_SECS):
            await loop.sock_sendall(sock, MAGIC + nonce)
            answer = await _read_exactly(
                sock, NONCE_BYTES + _MAC_BYTES, "the client hung up during the handshake"
            )
    except TimeoutError:
        raise AuthenticationError(
            f"the client did not answer the challenge within {HANDSHAKE_TIMEOUT_SECS:g}s"
        ) from None
    client_nonce, mac = answer[:NONCE_BYTES], answer[NONCE_BYTES:]
    if not hmac.compare_digest(mac, _mac(key, b"client", nonce)):
        raise AuthenticationError("the client's answer does not match the venue's key")
    await loop.sock_sendall(sock, _mac(key, b"venue", client_nonce))


async def prove_client(sock: socket.socket, key: bytes) -> None:
    """The client's side, on a non-blocking connected socket: returns once the venue has
    proved it holds ``key``; raises :class:`AuthenticationError` otherwise."""
    loop = asyncio.get_running_loop()
    nonce = secrets.token_bytes(NONCE_BYTES)
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_SECS):
            hello = await _read_exactly(
                sock, len(MAGIC) + NONCE_BYTES, "the peer hung up before greeting us"
            )
            if not hello.startswith(MAGIC):
                raise AuthenticationError("the peer is not a venue (wrong greeting)")
            await loop.sock_sendall(sock, nonce + _mac(key, b"client", hello[len(MAGIC) :]))
            proof = await _read_exactly(
                sock,
                _MAC_BYTES,
                "the venue refused our answer to its challenge: its key is not ours",
            )
    except TimeoutError:
        raise AuthenticationError(
            f"no handshake from the peer within {HANDSHAKE_TIMEOUT_SECS:g}s"
        ) from None
    if not hmac.compare_digest(proof, _mac(key, b"venue", nonce)):
        raise AuthenticationError("the venue's answer does not match our key")
