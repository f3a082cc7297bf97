"""What the venue host process (:mod:`live_daemon.venues.host`) is started with: JSON on
its command line. Its own module so that the daemon, which builds it, imports nothing of
the venue itself (nor NautilusTrader)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class VenueHostConfig(BaseModel):
    """What the host needs to build its paper venue (JSON on its command line)."""

    ticks_store_url: str
    instruments: list[str] = Field(min_length=1)
    day: dt.date
    speed: float = Field(default=1.0, gt=0)
    start_offset_secs: float = 0.0
    log_level: str = "INFO"
    nautilus_log_level: str = "WARNING"
    start_timeout_secs: float = Field(default=30.0, gt=0)
    # The paper venue stands in for a venue across the network: on a shared machine it
    # yields the CPU to the daemon and PostgreSQL, whose order path it must not slow down.
    nice: int = Field(default=10, ge=0, le=19)
