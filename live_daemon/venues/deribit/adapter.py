"""The Deribit adapter: :class:`DeribitAdapter`, our client of Deribit API v2 (JSON-RPC 2.0
over WebSocket) behind the daemon's :class:`ExternalVenueAdapter` contract.

A supervisor task owns the session: connect, ``public/auth``, ``public/set_heartbeat``,
``private/subscribe`` to ``user.orders.*`` and ``user.trades.*`` of every instrument (and
``book.*`` / ``ticker.*`` of those with market data), then wait until the connection ends
(Deribit closed it, a 10028, the network) and start over, with exponential backoff
(tenacity) between failed attempts, until :meth:`DeribitAdapter.disconnect`. Each change
is told through ``tell_connection``. Requests are made on the current session only: there
is no queue of requests waiting for a reconnect, so nothing is sent late or twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from typing import Any

from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from execution_core.instruments.reference import InstrumentReference, load_reference
from live_daemon.domain import Fill
from live_daemon.operations import Operation, TimeInForce, VenueCapabilities, VenueType
from live_daemon.venues.deribit import messages as m
from live_daemon.venues.deribit.auth import Authenticator, call_authenticated
from live_daemon.venues.deribit.config import DeribitAdapterConfig
from live_daemon.venues.deribit.connection import DeribitConnection, RequestBuilder
from live_daemon.venues.deribit.data import QuoteBook
from live_daemon.venues.deribit.errors import DeribitError
from live_daemon.venues.deribit.execution import DeribitExecution
from live_daemon.venues.deribit.instruments import VENUE, instrument
from live_daemon.venues.deribit.rate_limit import RateLimiter
from live_daemon.venues.external.adapter import ExternalVenueAdapter
from live_daemon.venues.gateway import (
    Quote,
    VenueError,
    VenueNotSent,
    VenueOrder,
    VenueOrderRecord,
    VenueUnavailable,
)

log = logging.getLogger(__name__)

CAPABILITIES = VenueCapabilities(
    venue_type=VenueType.EXTERNAL_SDK,
    operations=frozenset({Operation.TRADE}),
    time_in_force=frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
)


class DeribitAdapter(ExternalVenueAdapter):
    """Deribit (module docstring). ``reference``: the instrument reference the rules (tick
    size, contract size) come from; the packaged one by default."""

    venue = VENUE

    def __init__(
        self, config: DeribitAdapterConfig, reference: InstrumentReference | None = None
    ) -> None:
        super().__init__()
        reference = reference if reference is not None else load_reference()
        self.config = config
        self.instrument_keys = list(config.instruments)
        instruments = {key: instrument(reference, key) for key in config.instruments}
        self.limiter = RateLimiter(config.matching_engine_limit, config.non_matching_limit)
        self.auth = Authenticator(
            config.client_id, config.client_secret.get_secret_value(), config.refresh_margin_s
        )
        self.execution = DeribitExecution(instruments, self._call, self.emit)
        self.quotes = QuoteBook(self.execution.key_of)
        self._market_keys: list[str] = list(config.instruments) if config.market_data else []
        self._conn: DeribitConnection | None = None
        self._ready = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.sessions = 0  # sessions established so far
        self.last_error: str | None = None

    # -- lifecycle -----------------------------------------------------------------------

    async def connect(self) -> None:
        if self._supervisor is None or self._supervisor.done():
            self._stopping = False
            self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        try:
            await asyncio.wait_for(self._ready.wait(), self.config.start_timeout_s)
        except TimeoutError:
            raise VenueError(
                f"Deribit at {self.config.url}: no authenticated session within "
                f"{self.config.start_timeout_s} s (last error: {self.last_error}); "
                "still reconnecting in the background"
            ) from None

    async def disconnect(self) -> None:
        self._stopping = True
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close("adapter disconnected")
        if self._ready.is_set():
            self._ready.clear()
            self.tell_connection(False)

    def is_connected(self) -> bool:
        return self._ready.is_set() and self._conn is not None and self._conn.is_open

    def capabilities(self) -> VenueCapabilities:
        return CAPABILITIES

    def health(self) -> dict[str, Any]:
        return {
            **super().health(),
            "sessions": self.sessions,
            "last_error": self.last_error,
            "matching_engine_credits": round(self.limiter.matching_engine.credits),
            "non_matching_credits": round(self.limiter.non_matching.credits),
        }

    # -- the session ---------------------------------------------------------------------

    def _channels(self, market_keys: Iterable[str]) -> list[str]:
        names = [self.execution.instruments[k].name for k in self.instrument_keys]
        channels = [m.user_orders_channel(n) for n in names]
        channels += [m.user_trades_channel(n) for n in names]
        for key in market_keys:
            name = self.execution.instruments[key].name
            channels += [m.book_channel(name), m.ticker_channel(name)]
        return channels

    async def _establish(self) -> DeribitConnection:
        config = self.config
        conn = await DeribitConnection.open(
            config.url,
            on_notification=self._on_notification,
            limiter=self.limiter,
            request_timeout=config.request_timeout_s,
            open_timeout=config.request_timeout_s,
        )
        try:
            await self.auth.login(conn)
            await conn.call(partial(m.set_heartbeat, interval=config.heartbeat_interval_s))
            await conn.call(partial(m.subscribe, channels=self._channels(self._market_keys)))
        except BaseException:
            await conn.close("session setup failed")
            raise
        return conn

    async def _supervise(self) -> None:
        config = self.config
        while not self._stopping:
            retrying = AsyncRetrying(
                wait=wait_exponential(
                    multiplier=config.reconnect_initial_backoff_s,
                    max=config.reconnect_max_backoff_s,
                ),
                retry=retry_if_exception_type(Exception),
                before_sleep=self._log_retry,
            )
            conn: DeribitConnection | None = None
            async for attempt in retrying:
                with attempt:
                    conn = await self._establish()
            assert conn is not None
            self._conn = conn
            self.sessions += 1
            self._ready.set()
            log.info("deribit_session_up url=%s session=%d", config.url, self.sessions)
            self.tell_connection(True)
            refresher = asyncio.get_running_loop().create_task(self.auth.keep_fresh(conn))
            try:
                await conn.closed.wait()
            finally:
                refresher.cancel()
            self.last_error = conn.close_reason
            self._ready.clear()
            self._conn = None
            log.warning("deribit_session_down reason=%s", conn.close_reason)
            self.tell_connection(False)

    def _log_retry(self, state: Any) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        self.last_error = str(error)
        delay = state.next_action.sleep if state.next_action is not None else 0
        log.warning(
            "deribit_connect_failed attempt=%d retry_in_s=%.2f error=%s",
            state.attempt_number,
            delay,
            error,
        )

    async def _call(self, build: RequestBuilder, *, idempotent: bool) -> Any:
        conn = self._conn
        if conn is None or not conn.is_open or not self._ready.is_set():
            method = build(0).method
            raise VenueNotSent(
                f"not connected to Deribit ({self.last_error or 'connecting'}): {method} not sent"
            )
        try:
            return await call_authenticated(conn, self.auth, build, idempotent=idempotent)
        except DeribitError as exc:
            if exc.closes_session:  # Deribit closes the session: reconnecting already
                raise VenueUnavailable(f"Deribit closed the session: {exc}") from exc
            raise

    def _on_notification(self, channel: str, data: Any) -> None:
        if channel.startswith("user.orders."):
            self.execution.on_user_orders(data)
        elif channel.startswith("user.trades."):
            self.execution.on_user_trades(data)
        elif channel.startswith("ticker."):
            self.quotes.on_ticker(data)
        elif channel.startswith("book."):
            if not self.quotes.on_book(data):
                self._spawn(self._resubscribe(channel))
        else:
            log.debug("deribit_unhandled_channel channel=%s", channel)

    async def _resubscribe(self, channel: str) -> None:
        """A book that missed a change: subscribe again for a fresh snapshot."""
        try:
            await self._call(partial(m.unsubscribe, channels=[channel]), idempotent=True)
            await self._call(partial(m.subscribe, channels=[channel]), idempotent=True)
        except (VenueError, DeribitError) as exc:
            log.warning("deribit_resubscribe_failed channel=%s error=%s", channel, exc)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- trading and the record ------------------------------------------------------------

    async def submit_order(self, order: VenueOrder) -> None:
        await self.execution.submit(order)

    async def cancel_order(self, order_id: str) -> None:
        await self.execution.cancel(order_id)

    async def get_order_state(self, order_id: str) -> VenueOrderRecord | None:
        return await self.execution.get_order_state(order_id)

    async def get_open_orders(self) -> list[VenueOrderRecord]:
        return await self.execution.get_open_orders()

    async def get_fills(self, since: dt.datetime | None = None) -> list[tuple[str, Fill]]:
        return await self.execution.get_fills(since)

    async def get_positions(self) -> dict[str, Decimal]:
        return await self.execution.get_positions()

    # -- market data -----------------------------------------------------------------------

    async def subscribe_market_data(self, venue_keys: Iterable[str]) -> None:
        new = [key for key in venue_keys if key not in self._market_keys]
        for key in new:
            if key not in self.execution.instruments:
                raise ValueError(f"venue_keys: {key} is not an instrument this adapter trades")
        if not new:
            return
        self._market_keys += new
        if self.is_connected():  # else the next session subscribes them
            channels = self._channels(new)[2 * len(self.instrument_keys) :]
            await self._call(partial(m.subscribe, channels=channels), idempotent=True)

    def last_quote(self, venue_key: str) -> Quote | None:
        return self.quotes.last_quote(venue_key)
