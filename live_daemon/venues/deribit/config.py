"""The Deribit adapter's settings: :class:`DeribitAdapterConfig`.

Credentials: in live mode from ``DERIBIT_CLIENT_ID`` / ``DERIBIT_CLIENT_SECRET`` (missing
ones are named in the error); in paper mode, against the local stand-in, the paper
defaults :data:`PAPER_CLIENT_ID` / :data:`PAPER_CLIENT_SECRET` unless the variables are set.

Rate limits: Deribit counts credits per sub-account in leaky buckets (a request costs
credits, credits refill at a fixed rate up to a maximum; a request with no credit left is
answered 10028 and the session is closed). The defaults are Deribit's published defaults:
matching-engine requests (buy, sell, edit, cancel) 5 per second with a burst of 20; other
requests 500 credits each, 50,000 at most, refilled at 10,000 per second (20 per second,
a burst of 100).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from execution_core.errors import ConfigError
from live_daemon.venues.deribit.instruments import UnknownInstrument, deribit_name
from live_daemon.venues.deribit.messages import MIN_HEARTBEAT_S

CLIENT_ID_ENV = "DERIBIT_CLIENT_ID"
CLIENT_SECRET_ENV = "DERIBIT_CLIENT_SECRET"
PAPER_CLIENT_ID = "paper"
PAPER_CLIENT_SECRET = "paper-secret"


class CreditLimit(BaseModel):
    """One of Deribit's credit buckets: ``cost`` per request, at most ``max_credits``,
    refilled at ``refill_per_s``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_credits: int = Field(gt=0)
    refill_per_s: float = Field(gt=0)
    cost: int = Field(gt=0)
    # our bucket stays this many requests below the venue's maximum: a burst our replies
    # delay reaches a venue bucket that has been full (its refill wasted) meanwhile
    headroom_requests: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _one_request_fits(self) -> CreditLimit:
        if self.cost > self.max_credits:
            raise ValueError(
                f"cost {self.cost} exceeds max_credits {self.max_credits}: no request could pass"
            )
        return self

    @property
    def client_max_credits(self) -> int:
        """The maximum our bucket holds: the venue's, less the headroom (one request at
        least fits)."""
        return max(self.cost, self.max_credits - self.headroom_requests * self.cost)

    @property
    def burst(self) -> int:
        return self.max_credits // self.cost


MATCHING_ENGINE_DEFAULT = CreditLimit(max_credits=20_000, refill_per_s=5_000, cost=1_000)
NON_MATCHING_DEFAULT = CreditLimit(max_credits=50_000, refill_per_s=10_000, cost=500)


class DeribitAdapterConfig(BaseModel):
    """Everything the adapter needs (module docstring); times in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(
        description="e.g. wss://www.deribit.com/ws/api/v2, ws://127.0.0.1:PORT/ws/api/v2"
    )
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    instruments: list[str] = Field(min_length=1, description="canonical DERIBIT keys")
    heartbeat_interval_s: int = Field(default=10, ge=MIN_HEARTBEAT_S)
    request_timeout_s: float = Field(default=10.0, gt=0)
    start_timeout_s: float = Field(default=30.0, gt=0)
    reconnect_initial_backoff_s: float = Field(default=0.5, gt=0)
    reconnect_max_backoff_s: float = Field(default=30.0, gt=0)
    # refresh the token this long before it expires (at most half its lifetime early)
    refresh_margin_s: float = Field(default=60.0, ge=0)
    matching_engine_limit: CreditLimit = MATCHING_ENGINE_DEFAULT
    non_matching_limit: CreditLimit = NON_MATCHING_DEFAULT
    market_data: bool = Field(default=True, description="subscribe book and ticker channels")

    @field_validator("url")
    @classmethod
    def _websocket_url(cls, url: str) -> str:
        if not url.startswith(("ws://", "wss://")):
            raise ValueError(f"url must start with ws:// or wss://, got {url!r}")
        return url

    @field_validator("instruments")
    @classmethod
    def _deribit_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            try:
                deribit_name(key)
            except (UnknownInstrument, ValueError) as exc:
                raise ValueError(f"instruments: {exc}") from None
        if len(set(keys)) != len(keys):
            raise ValueError("instruments: a key is listed twice")
        return keys

    @model_validator(mode="after")
    def _backoff_order(self) -> DeribitAdapterConfig:
        if self.reconnect_max_backoff_s < self.reconnect_initial_backoff_s:
            raise ValueError(
                f"reconnect_max_backoff_s {self.reconnect_max_backoff_s} < "
                f"reconnect_initial_backoff_s {self.reconnect_initial_backoff_s}"
            )
        return self

    @classmethod
    def from_env(
        cls,
        *,
        url: str,
        instruments: list[str],
        mode: Literal["live", "paper"],
        environ: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> DeribitAdapterConfig:
        """The config with credentials from the environment (live: required, the missing
        variables named; paper: the paper defaults when unset)."""
        env = os.environ if environ is None else environ
        client_id, secret = env.get(CLIENT_ID_ENV, ""), env.get(CLIENT_SECRET_ENV, "")
        if mode == "live":
            missing = [name for name in (CLIENT_ID_ENV, CLIENT_SECRET_ENV) if not env.get(name)]
            if missing:
                raise ConfigError(
                    f"Deribit live mode needs the environment variables {', '.join(missing)}"
                )
        else:
            client_id = client_id or PAPER_CLIENT_ID
            secret = secret or PAPER_CLIENT_SECRET
        return cls(
            url=url,
            client_id=client_id,
            client_secret=SecretStr(secret),
            instruments=instruments,
            **settings,
        )
