"""Daemon settings, from the environment (``EXEC_DAEMON_*``, ``DATABASE_URL``) or a JSON
config file loaded with ``execution_core.config.load_config`` (``--config``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from execution_core.config.loader import load_config
from execution_core.risk.config import RiskLimits
from live_daemon.venues.deribit.config import CreditLimit
from live_daemon.venues.interactive_brokers.config import IBInstrument

DEMO_INSTRUMENTS = [
    "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
    "BYBIT:PERPETUAL:BTC-USDT@LIN",
    "OKX:PERPETUAL:BTC-USDT@LIN",
    "BINANCE-FUTURES:PERPETUAL:ETH-USDT@LIN",
    "BYBIT:PERPETUAL:ETH-USDT@LIN",
    "OKX:PERPETUAL:ETH-USDT@LIN",
]


class DaemonMode(StrEnum):
    """paper: the local venues replay the tick store; live: the real venues (keys from
    the environment; the daemon refuses to start without them)."""

    PAPER = "paper"
    LIVE = "live"


class DeribitVenueSettings(BaseModel):
    """Deribit, through our adapter (``live_daemon.venues.deribit``). Off while
    ``instruments`` is empty. In paper mode the adapter trades on the local Deribit venue
    (``exec-venue deribit``), started by the daemon if nothing listens on ``port``; in live
    mode on ``url`` with ``DERIBIT_CLIENT_ID`` / ``DERIBIT_CLIENT_SECRET``."""

    model_config = ConfigDict(extra="forbid")

    instruments: list[str] = Field(
        default_factory=list, description="canonical DERIBIT keys; empty: Deribit is off"
    )
    url: str | None = Field(
        default=None,
        description="the venue's WebSocket URL; unset: wss://www.deribit.com/ws/api/v2 "
        "in live mode, the local Deribit venue on 127.0.0.1:port in paper mode",
    )
    port: int = Field(default=8102, ge=1, le=65535, description="the local Deribit venue's")
    state_dir: Path = Field(
        default=Path("runtime/venues/deribit"),
        description="the local Deribit venue's record, client secret, pid file and log",
    )
    autostart: bool = Field(
        default=True,
        description="paper mode: start the local Deribit venue detached if nothing listens "
        "on its port (it then outlives the daemon)",
    )
    matching_engine_limit: CreditLimit | None = Field(
        default=None,
        description="the adapter's credit bucket for buy/sell/cancel; unset: Deribit's "
        "default (5 per second, burst 20); raise it with the sub-account's tier",
    )
    non_matching_limit: CreditLimit | None = Field(
        default=None,
        description="the adapter's bucket for other requests; unset: Deribit's default "
        "(20 per second, burst 100)",
    )


class InteractiveBrokersVenueSettings(BaseModel):
    """Interactive Brokers, through our adapter (``live_daemon.venues.interactive_brokers``)
    and TWS / IB Gateway on ``host:port``. Off while ``instruments`` is empty. In paper mode
    the daemon starts the local TWS stand-in (``exec-venue ib``) detached if nothing listens
    on ``host:port`` (``standin_autostart``); it fills at the fixed ``standin_prices``."""

    model_config = ConfigDict(extra="forbid")

    instruments: list[IBInstrument] = Field(
        default_factory=list,
        description="IB instruments ({key, exchange, con_id…}); empty: IB is off",
    )
    host: str = Field(default="127.0.0.1", description="where TWS / IB Gateway listens")
    port: int = Field(default=7497, ge=1, le=65535, description="7497 TWS paper, 4002 Gateway")
    client_id: int = Field(default=1, ge=0, description="the adapter's API client id")
    account: str = Field(default="", description="empty: the login's only account")
    standin_autostart: bool = Field(
        default=True,
        description="paper mode: start the stand-in detached if nothing listens on "
        "host:port (it then outlives the daemon)",
    )
    standin_dir: Path = Field(
        default=Path("runtime/venues/ib"),
        description="the stand-in's journal, lock, pid file and log",
    )
    standin_prices: dict[str, Decimal] = Field(
        default_factory=dict,
        description="the stand-in's fixed prices by its price key: AAPL (stock), "
        "ES:20250321 (future), AAPL:20250117:150:C (option); an order on an instrument "
        "without one is rejected (IB error 201)",
    )


class DaemonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="EXEC_DAEMON_", env_nested_delimiter="__", extra="forbid"
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=1, le=65535)
    token: str = Field(
        default="paper-token", min_length=8, description="bearer token of the order API"
    )
    mode: DaemonMode = DaemonMode.PAPER
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    pg_data_dir: Path = Path("runtime/pg")
    db_pool_size: int = Field(
        default=20, ge=2, le=200, description="PostgreSQL connections of the OMS pool"
    )
    ticks_store_url: str = Field(
        default="file://runtime/store/ticks", validation_alias="EXEC_TICKS_STORE_URL"
    )
    replay_day: dt.date = dt.date(2025, 1, 15)
    replay_speed: float = Field(default=1.0, gt=0)
    instruments: list[str] = Field(default_factory=lambda: list(DEMO_INSTRUMENTS))
    risk: RiskLimits = Field(default_factory=RiskLimits)
    log_level: str = "INFO"

    # --- the paper venue process (``exec-venue paper``): its own process and record ------
    venue_host: str = Field(default="127.0.0.1", description="where the paper venue listens")
    venue_port: int = Field(default=8101, ge=1, le=65535)
    venue_dir: Path = Field(
        default=Path("runtime/venues/paper"),
        description="the paper venue's own record (journal), key file, pid file and log",
    )
    venue_autostart: bool = Field(
        default=True,
        description="start the paper venue detached if nothing listens on its port "
        "(it then outlives the daemon)",
    )
    venue_start_timeout_secs: float = Field(
        default=300.0,
        gt=0,
        description="how long the daemon waits for the paper venue to accept its "
        "connection and quote every instrument (a busy 2-core machine needs minutes)",
    )
    venue_reconnect_max_secs: float = Field(
        default=5.0, gt=0, description="the longest pause between two reconnection attempts"
    )

    # --- external venues (our own adapters) ---------------------------------------------
    deribit: DeribitVenueSettings = Field(default_factory=DeribitVenueSettings)
    interactive_brokers: InteractiveBrokersVenueSettings = Field(
        default_factory=InteractiveBrokersVenueSettings
    )

    # --- faults at a venue (external adapters) ------------------------------------------
    venue_breaker_failures: int = Field(
        default=5, ge=1, description="consecutive failed calls that open a venue's circuit"
    )
    venue_breaker_cooldown_secs: float = Field(
        default=30.0, gt=0, description="how long an open circuit waits before a probe order"
    )
    venue_lookup_secs: float = Field(
        default=30.0,
        gt=0,
        description="how long the daemon keeps asking a venue for an order whose submit got "
        "no answer (by our id; never sent again) before leaving it to reconciliation",
    )

    # --- supervision --------------------------------------------------------------------
    heartbeat_secs: float = Field(
        default=2.0, gt=0, description="how often the daemon writes its heartbeat row"
    )


def load_settings(config: Path | None = None) -> DaemonSettings:
    """Settings from a JSON config (``${ENV}`` expanded, errors name file and key), else env."""
    return load_config(config, DaemonSettings) if config is not None else DaemonSettings()
