"""What the local Deribit venue runs with: where it listens and keeps its record, what it
replays, its credentials, token lifetime, heartbeat floor, rate limits and faults.

:class:`StandinConfig` is the whole configuration (JSON on the command line when
``exec-venue deribit start`` launches the process); :class:`StandinSettings` reads the
defaults from the environment (``EXEC_DERIBIT_*``, the tick store from
``EXEC_TICKS_STORE_URL``). Rate-limit defaults are Deribit's published ones: non-matching
engine requests cost 500 credits of a 50,000 pool refilled at 10,000/s (20/s, burst 100);
matching-engine requests (buy, sell, cancel…) at the lowest tier 5/s with a burst of 20,
modelled as a second pool (cost 1,000, pool 20,000, refill 5,000/s).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORT = 8102
DEFAULT_STATE_DIR = Path("runtime/venues/deribit")
DEFAULT_CLIENT_ID = "paper"
DEFAULT_INSTRUMENTS = ("DERIBIT:PERPETUAL:BTC-USD@INV", "DERIBIT:PERPETUAL:ETH-USD@INV")
WS_PATH = "/ws/api/v2"


class Bucket(BaseModel):
    """One credit pool: each request costs ``cost``; at most ``capacity`` credits are held;
    ``refill_per_s`` drip back every second."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cost: int = Field(gt=0)
    capacity: int = Field(gt=0)
    refill_per_s: float = Field(gt=0)


class RateLimits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    matching_engine: Bucket = Bucket(cost=1000, capacity=20_000, refill_per_s=5_000)
    non_matching_engine: Bucket = Bucket(cost=500, capacity=50_000, refill_per_s=10_000)


class Faults(BaseModel):
    """Faults for tests, counted down as they happen (also settable at run time with the
    ``standin/set_faults`` method, from 127.0.0.1 only)."""

    model_config = ConfigDict(extra="forbid")

    drop_before_order: int = Field(default=0, ge=0, description="close before storing it")
    drop_after_order: int = Field(default=0, ge=0, description="store it, close, no reply")
    no_reply: int = Field(default=0, ge=0, description="handle the request, never reply")
    too_many_requests: int = Field(default=0, ge=0, description="answer 10028 and close")
    duplicate_notifications: int = Field(default=0, ge=0, description="send user.* twice")
    reorder_notifications: int = Field(default=0, ge=0, description="swap user.* pairs")
    expire_tokens: bool = Field(default=False, description="expire every token now (once)")


class StandinConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)  # 0: any free port (tests)
    state_dir: Path = DEFAULT_STATE_DIR
    ticks_store_url: str = "file://runtime/store/ticks"
    day: dt.date = dt.date(2025, 1, 15)
    speed: float = Field(default=1.0, gt=0)
    start_offset_secs: float = Field(default=0.0, ge=0, lt=86_400)
    instruments: list[str] = Field(default_factory=lambda: list(DEFAULT_INSTRUMENTS), min_length=1)
    client_id: str = Field(default=DEFAULT_CLIENT_ID, min_length=1)
    client_secret: str | None = Field(
        default=None, description="None: read (or create) <state_dir>/client_secret"
    )
    token_expires_in: int = Field(default=900, gt=0, description="access token life, s")
    refresh_expires_in: int = Field(default=86_400 * 7, gt=0)
    min_heartbeat_s: float = Field(default=10.0, gt=0, description="Deribit refuses < 10 s")
    cancel_on_disconnect: bool = Field(default=False, description="for every connection")
    book_interval_s: float = Field(default=0.1, gt=0, description="the 100ms channels")
    rate_limits: RateLimits = RateLimits()
    faults: Faults = Faults()
    log_level: str = "INFO"

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}{WS_PATH}"


class StandinSettings(BaseSettings):
    """Defaults of ``exec-venue deribit start`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="EXEC_DERIBIT_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    state_dir: Path = DEFAULT_STATE_DIR
    ticks_store_url: str = Field(
        default="file://runtime/store/ticks", validation_alias="EXEC_TICKS_STORE_URL"
    )
    day: dt.date = dt.date(2025, 1, 15)
    speed: float = Field(default=1.0, gt=0)
    instruments: list[str] = Field(default_factory=lambda: list(DEFAULT_INSTRUMENTS))
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str | None = None
    token_expires_in: int = Field(default=900, gt=0)
    cancel_on_disconnect: bool = False

    def config(self) -> StandinConfig:
        return StandinConfig.model_validate(self.model_dump())
