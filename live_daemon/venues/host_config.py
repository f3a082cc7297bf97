"""What the paper venue process (``exec-venue paper``, :mod:`live_daemon.venues.cli`) runs
with: where it listens, where it keeps its record, what it replays. Its own module so that
the daemon, which builds it (and passes it as ``--config-json`` when it starts the venue
itself), imports nothing of the venue (nor NautilusTrader)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, Field

from live_daemon.settings import DaemonMode

DEFAULT_VENUE_PORT = 8101


class VenueHostConfig(BaseModel):
    """The paper venue's settings (JSON on its command line when the daemon starts it)."""

    mode: DaemonMode = Field(
        default=DaemonMode.PAPER,
        description="paper: sandbox venues over replayed ticks; live: the real Binance/Bybit/"
        "OKX clients, keys from the environment (ticks_store_url, day and speed unused)",
    )
    ticks_store_url: str
    instruments: list[str] = Field(min_length=1)
    day: dt.date
    speed: float = Field(default=1.0, gt=0)
    start_offset_secs: float = 0.0
    log_level: str = "INFO"
    nautilus_log_level: str = "WARNING"
    start_timeout_secs: float = Field(
        default=30.0, gt=0, description="how long the node may take to connect its clients"
    )
    # The paper venue stands in for a venue across the network: on a shared machine it
    # yields the CPU to the daemon and PostgreSQL, whose order path it must not slow down.
    nice: int = Field(default=10, ge=0, le=19)
    host: str = Field(default="127.0.0.1", description="the address the venue listens on")
    port: int = Field(default=DEFAULT_VENUE_PORT, ge=1, le=65535)
    state_dir: Path = Field(
        default=Path("runtime/venues/paper"),
        description="the venue's record, key, lock, pid file and log "
        "(live_daemon.venues.state_dir)",
    )

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"
