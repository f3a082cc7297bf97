"""Authentication of a Deribit session: :class:`Authenticator`.

Over WebSocket, ``public/auth`` authenticates the connection itself: private methods sent
on it afterwards need no token. We log in with ``client_credentials`` on every new
connection, refresh with the ``refresh_token`` grant before the access token expires
(:meth:`Authenticator.keep_fresh`), and when Deribit still answers 13009 (expired or
missing token) we log in again and resend the request once if it is idempotent (reads,
cancel), never an order: an order refused 13009 was not placed, and is not sent again
(:func:`call_authenticated`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from live_daemon.venues.deribit.connection import DeribitConnection, RequestBuilder
from live_daemon.venues.deribit.errors import DeribitError
from live_daemon.venues.deribit.messages import AuthResult, auth_client_credentials, auth_refresh
from live_daemon.venues.gateway import VenueUnavailable

log = logging.getLogger(__name__)


class Authenticator:
    """The credentials and the current token of one adapter (module docstring)."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_margin_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._margin = refresh_margin_s
        self._clock = clock
        self._refresh_token: str | None = None
        self._expires_in = 0.0
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.generation = 0  # counts successful authentications
        self.logins = 0
        self.refreshes = 0

    def _store(self, result: Any) -> None:
        auth = AuthResult.model_validate(result)
        self._refresh_token = auth.refresh_token
        self._expires_in = float(auth.expires_in)
        self._expires_at = self._clock() + auth.expires_in
        self.generation += 1

    async def login(self, conn: DeribitConnection) -> None:
        """``public/auth`` with client credentials (a refusal raises its DeribitError)."""
        async with self._lock:
            await self._login(conn)

    async def _login(self, conn: DeribitConnection) -> None:
        result = await conn.call(
            partial(
                auth_client_credentials,
                client_id=self._client_id,
                client_secret=self._client_secret,
            )
        )
        self._store(result)
        self.logins += 1
        log.info("deribit_authenticated expires_in=%s", self._expires_in)

    async def relogin_after(self, conn: DeribitConnection, seen_generation: int) -> None:
        """Log in again after a 13009, unless another caller already did since
        ``seen_generation`` (one login for a burst of 13009s)."""
        async with self._lock:
            if self.generation == seen_generation:
                await self._login(conn)

    async def refresh(self, conn: DeribitConnection) -> None:
        """The ``refresh_token`` grant; falls back to a login if Deribit refuses it."""
        async with self._lock:
            if self._refresh_token is None:
                await self._login(conn)
                return
            try:
                result = await conn.call(partial(auth_refresh, refresh_token=self._refresh_token))
            except DeribitError as exc:
                log.warning("deribit_refresh_refused error=%s: logging in again", exc)
                await self._login(conn)
                return
            self._store(result)
            self.refreshes += 1
            log.info("deribit_token_refreshed expires_in=%s", self._expires_in)

    def refresh_delay(self) -> float:
        """Seconds until the token should be refreshed: ``refresh_margin_s`` before it
        expires, but no earlier than half its lifetime."""
        margin = min(self._margin, self._expires_in / 2)
        return max(0.0, self._expires_at - margin - self._clock())

    async def keep_fresh(self, conn: DeribitConnection) -> None:
        """Refresh the token before each expiry while ``conn`` is open (run as a task)."""
        while conn.is_open:
            await asyncio.sleep(self.refresh_delay())
            if not conn.is_open:
                return
            try:
                await self.refresh(conn)
            except (VenueUnavailable, DeribitError) as exc:
                # the connection is going or Deribit refused: the supervisor starts over
                log.warning("deribit_refresh_failed error=%s", exc)
                return


async def call_authenticated(
    conn: DeribitConnection,
    auth: Authenticator,
    build: RequestBuilder,
    *,
    idempotent: bool,
) -> Any:
    """``conn.call(build)``; on 13009 log in again, then resend once if ``idempotent``
    (else raise the 13009: the request was refused, not carried out)."""
    generation = auth.generation
    try:
        return await conn.call(build)
    except DeribitError as exc:
        if not exc.needs_reauth:
            raise
        log.warning("deribit_unauthorized error=%s: authenticating again", exc)
        await auth.relogin_after(conn, generation)
        if not idempotent:
            raise
    return await conn.call(build)
