"""The Deribit adapter a daemon's settings ask for: :func:`build_deribit_adapter`.

Live mode: the adapter trades on ``settings.deribit.url`` (Deribit's production endpoint
unless set) with ``DERIBIT_CLIENT_ID`` / ``DERIBIT_CLIENT_SECRET`` from the environment (the
missing ones are named). Paper mode: it trades on the local Deribit venue
(``exec-venue deribit``, :mod:`live_daemon.venues.deribit.standin`) on 127.0.0.1, which the
daemon starts detached if nothing runs on its directory (``autostart``), replaying the
daemon's tick store and day. The client secret is the venue's own (``<dir>/client_secret``,
created here first if missing so that both sides read the same one) unless
``DERIBIT_CLIENT_SECRET`` is set.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from live_daemon.venues.deribit.adapter import DeribitAdapter
from live_daemon.venues.deribit.config import (
    CLIENT_SECRET_ENV,
    DeribitAdapterConfig,
)
from live_daemon.venues.deribit.standin.auth import load_or_create_secret
from live_daemon.venues.deribit.standin.config import StandinConfig
from live_daemon.venues.deribit.standin.process import launch, secret_path
from live_daemon.venues.state_dir import VenueDir

if TYPE_CHECKING:
    from live_daemon.settings import DaemonSettings

log = logging.getLogger(__name__)

DERIBIT_PRODUCTION_URL = "wss://www.deribit.com/ws/api/v2"


def build_deribit_adapter(settings: DaemonSettings) -> DeribitAdapter | None:
    """The adapter of ``settings.deribit`` (``None`` while it lists no instrument); in
    paper mode the local venue is started first if it is not running."""
    deribit = settings.deribit
    if not deribit.instruments:
        return None
    limits: dict[str, Any] = {
        name: limit
        for name, limit in (
            ("matching_engine_limit", deribit.matching_engine_limit),
            ("non_matching_limit", deribit.non_matching_limit),
        )
        if limit is not None
    }
    if settings.mode == "live":
        config = DeribitAdapterConfig.from_env(
            url=deribit.url or DERIBIT_PRODUCTION_URL,
            instruments=deribit.instruments,
            mode="live",
            **limits,
        )
        return DeribitAdapter(config)
    standin = standin_config(settings)
    environ = dict(os.environ)
    environ.setdefault(CLIENT_SECRET_ENV, load_or_create_secret(secret_path(standin.state_dir)))
    if deribit.autostart and deribit.url is None:
        ensure_standin(standin)
    config = DeribitAdapterConfig.from_env(
        url=deribit.url or standin.url,
        instruments=deribit.instruments,
        mode="paper",
        environ=environ,
        # the local venue may be loading its ticks on a busy machine: wait as for the paper one
        start_timeout_s=settings.venue_start_timeout_secs,
        reconnect_max_backoff_s=settings.venue_reconnect_max_secs,
        **limits,
    )
    return DeribitAdapter(config)


def standin_config(settings: DaemonSettings) -> StandinConfig:
    """The local Deribit venue the paper daemon trades on: the daemon's tick store, day,
    replay speed and Deribit instruments."""
    deribit = settings.deribit
    return StandinConfig(
        host="127.0.0.1",
        port=deribit.port,
        state_dir=deribit.state_dir.resolve(),
        ticks_store_url=settings.ticks_store_url,
        day=settings.replay_day,
        speed=settings.replay_speed,
        instruments=deribit.instruments,
        client_secret=os.environ.get(CLIENT_SECRET_ENV) or None,
        log_level=settings.log_level,
    )


def ensure_standin(config: StandinConfig) -> None:
    """Launch the local Deribit venue detached unless one runs on its directory (it then
    outlives the daemon, as the paper venue does; the adapter connects once it listens)."""
    venue_dir = VenueDir(config.state_dir)
    if (pid := venue_dir.running_pid()) is not None:
        log.info("deribit_standin_running pid=%d dir=%s", pid, venue_dir.path)
        return
    process = launch(config)
    # reap it when it exits (killed, stopped), so that it leaves no zombie behind
    threading.Thread(target=process.wait, name="deribit-standin-reaper", daemon=True).start()
