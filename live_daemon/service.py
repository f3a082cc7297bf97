"""Assemble the daemon: database (embedded or ``DATABASE_URL``), migrations, paper venues,
risk, router, orchestrator and the FastAPI app, all started and stopped in the app's
lifespan so one command runs it and SIGTERM stops it cleanly."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from execution_core.accounting.settlement import is_inverse
from execution_core.errors import ConfigError
from execution_core.instruments.ids import instrument_family
from execution_core.instruments.reference import load_reference
from execution_core.risk.engine import PreTradeRiskEngine, RiskBook
from execution_core.routing.router import SmartRouter
from live_daemon.api.app import create_app, package_version
from live_daemon.collector import settle_collector
from live_daemon.metrics import Metrics
from live_daemon.oms.database import create_pool, resolve_database_url
from live_daemon.oms.migrations import migrate
from live_daemon.oms.orders import UnifiedOrderManager
from live_daemon.oms.positions import PositionStore
from live_daemon.orchestrator import LiveExecutionOrchestrator, venue_is_up
from live_daemon.positions import UnifiedPositionTracker
from live_daemon.settings import DaemonSettings
from live_daemon.supervision import (
    DaemonAlreadyRunning,
    DaemonIdentity,
    DatabaseOwnership,
    Heartbeat,
)
from live_daemon.venues.composite import CompositeGateway
from live_daemon.venues.external.factories import build_adapters
from live_daemon.venues.external.registry import AdapterRegistry
from live_daemon.venues.host_config import VenueHostConfig
from live_daemon.venues.process import VenueProcessGateway

log = logging.getLogger(__name__)

# The paper venues' accounts: 1,000,000 USDT on each of Binance, Bybit and OKX.
PAPER_BALANCE = Decimal(3_000_000)


def base_units(row: Mapping[str, Any]) -> Decimal:
    """A stored position in the risk book's base units: an inverse one is kept in USD
    contracts, worth ``USD ÷ average entry`` coins as held (the harmonic average entry
    makes this the sum of what its fills bought)."""
    quantity = Decimal(row["quantity"])
    if not is_inverse(row["instrument_key"]) or not quantity:
        return quantity
    return quantity / Decimal(row["avg_entry_price"])


async def load_positions(risk_book: RiskBook, store: PositionStore) -> None:
    """Start the risk book from the persisted positions, summed over venues."""
    totals: dict[tuple[str, str], Decimal] = {}
    contracts: dict[tuple[str, str], Decimal] = {}  # inverse families' USD contracts
    for row in await store.all():
        key = (row["strategy_id"], instrument_family(row["instrument_key"]))
        totals[key] = totals.get(key, Decimal(0)) + base_units(row)
        if is_inverse(row["instrument_key"]):
            contracts[key] = contracts.get(key, Decimal(0)) + Decimal(row["quantity"])
    for (strategy_id, family), quantity in totals.items():
        risk_book.set_position(strategy_id, family, quantity, contracts.get((strategy_id, family)))


def refuse_live_without_keys(settings: DaemonSettings) -> None:
    """Live mode needs every real venue's keys: refuse before anything starts, naming
    every missing variable (the NautilusTrader venues' and Deribit's)."""
    if settings.mode != "live":
        return
    from live_daemon.venues.deribit.config import CLIENT_ID_ENV, CLIENT_SECRET_ENV
    from live_daemon.venues.nautilus.credentials import refusal_message

    refusals = [refusal_message(settings.instruments)]
    if settings.deribit.instruments:
        missing = [n for n in (CLIENT_ID_ENV, CLIENT_SECRET_ENV) if not os.environ.get(n)]
        if missing:
            refusals.append(
                f"live mode refuses to start: Deribit needs the environment variables "
                f"{', '.join(missing)}"
            )
    if refusal := "; ".join(r for r in refusals if r):
        log.error("daemon_refused reason=%s", refusal)
        raise ConfigError(refusal)


def build_app(settings: DaemonSettings) -> FastAPI:
    refuse_live_without_keys(settings)
    reference = load_reference()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each part is stopped in reverse order of its start, also when a later one fails.
        async with contextlib.AsyncExitStack() as stack:
            env = {"DATABASE_URL": settings.database_url} if settings.database_url else {}
            url, embedded = resolve_database_url(env, data_dir=settings.pg_data_dir)
            if embedded is not None:
                stack.callback(embedded.stop)
            # Before anything touches the book: one daemon per database (the lock is held
            # on a connection of its own until the daemon stops).
            ownership = DatabaseOwnership(url)
            try:
                await ownership.acquire()
            except DaemonAlreadyRunning as exc:
                log.error("daemon_refused reason=%s", exc)
                raise
            stack.push_async_callback(ownership.release)
            pool = await create_pool(url, max_size=settings.db_pool_size)
            stack.push_async_callback(pool.close)
            applied = await migrate(pool)
            log.info(
                "database_ready embedded=%s migrations_applied=%s", embedded is not None, applied
            )
            identity = DaemonIdentity(
                version=package_version(), api_url=f"http://{settings.host}:{settings.port}"
            )
            # The NautilusTrader venues run in a process of its own (live_daemon.venues.host):
            # paper sandboxes, or in live mode the real Binance/Bybit/OKX clients.
            # It listens on venue_host:venue_port and outlives the daemon; the daemon is its
            # client: starts it if nothing listens (venue_autostart), reconnects when the
            # connection is lost, and hears of it through on_venue_connection.
            paper = VenueProcessGateway(
                VenueHostConfig(
                    ticks_store_url=settings.ticks_store_url,
                    instruments=settings.instruments,
                    day=settings.replay_day,
                    speed=settings.replay_speed,
                    log_level=settings.log_level,
                    host=settings.venue_host,
                    port=settings.venue_port,
                    state_dir=settings.venue_dir,
                    mode=settings.mode,
                ),
                autostart=settings.venue_autostart,
                start_timeout_secs=settings.venue_start_timeout_secs,
                reconnect_max_secs=settings.venue_reconnect_max_secs,
            )
            # The external venues' adapters (Deribit, Interactive Brokers), and one gateway
            # over them and the paper venue (live_daemon.venues.composite). Both are bound
            # to the orchestrator once it exists, before they start.
            gateway = CompositeGateway(
                paper,
                AdapterRegistry(build_adapters(settings)),
                breaker_failures=settings.venue_breaker_failures,
                breaker_cooldown_secs=settings.venue_breaker_cooldown_secs,
                lookup_secs=settings.venue_lookup_secs,
                reference=reference,
            )
            heartbeat = Heartbeat(
                pool,
                identity,
                ownership,
                venues=gateway.venues_health,
                interval_secs=settings.heartbeat_secs,
            )
            await heartbeat.beat()  # the row exists (and beats) while the venues start
            heartbeat.start()
            stack.push_async_callback(heartbeat.stop)
            metrics.watch_heartbeat(lambda: heartbeat.last_beat)
            metrics.watch_venues(
                lambda: {name: venue_is_up(v) for name, v in gateway.venues_health().items()}
            )
            position_store = PositionStore(pool)
            oms = UnifiedOrderManager(pool, positions=position_store)
            positions = UnifiedPositionTracker(position_store)
            risk_book = RiskBook(balance=PAPER_BALANCE if settings.mode == "paper" else None)
            await load_positions(risk_book, position_store)
            orchestrator = LiveExecutionOrchestrator(
                oms,
                positions,
                PreTradeRiskEngine(settings.risk, reference),
                risk_book,
                SmartRouter(reference),
                gateway,
                reference,
                metrics,
                heartbeat=heartbeat,
            )
            paper.bind(
                orchestrator.on_venue_event,
                lambda up: orchestrator.on_venue_connection(up, "paper"),
            )
            gateway.bind(orchestrator.on_venue_event, orchestrator.on_venue_connection)
            stack.push_async_callback(paper.stop)  # the connection; the venue runs on
            await paper.start()
            stack.push_async_callback(gateway.stop)  # the external adapters
            await gateway.start()
            stack.push_async_callback(orchestrator.stop)
            await orchestrator.start()
            app.state.orchestrator = orchestrator  # the API serves orders from now on
            stack.callback(setattr, app.state, "orchestrator", None)
            settle_collector()  # startup is done: see live_daemon.collector
            await heartbeat.record_event("daemon_started", detail=identity.as_dict())
            log.info(
                "daemon_started host=%s port=%d mode=%s instance=%s",
                settings.host,
                settings.port,
                settings.mode,
                identity.instance_id,
            )
            yield
        log.info("daemon_stopped instance=%s", identity.instance_id)

    return create_app(
        token=settings.token, lifespan=lifespan, metrics=metrics, instruments=reference
    )
