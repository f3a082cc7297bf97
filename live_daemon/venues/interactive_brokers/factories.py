"""The Interactive Brokers adapter a daemon's settings ask for: :func:`build_ib_adapter`.

The adapter connects to TWS / IB Gateway on ``settings.interactive_brokers.host:port`` with
its ``client_id`` and ``account``. In paper mode, :func:`ensure_ib_standin` first starts
the local stand-in (``exec-venue ib``, :mod:`.standin`) detached on that address when
nothing listens there (``standin_autostart``): it then outlives the daemon, as the paper
venue does, and the adapter connects once it listens (it retries until then). In live mode
nothing is started: TWS or IB Gateway must be running.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from live_daemon.venues.interactive_brokers.adapter import InteractiveBrokersAdapter
from live_daemon.venues.interactive_brokers.config import IBAdapterConfig
from live_daemon.venues.state_dir import VenueDir

if TYPE_CHECKING:
    from live_daemon.settings import DaemonSettings

log = logging.getLogger(__name__)

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def build_ib_adapter(settings: DaemonSettings) -> InteractiveBrokersAdapter | None:
    """The adapter of ``settings.interactive_brokers`` (``None`` while it lists no
    instrument); in paper mode the stand-in is started first if nothing listens."""
    ib = settings.interactive_brokers
    if not ib.instruments:
        return None
    ensure_ib_standin(settings)
    config = IBAdapterConfig(
        host=ib.host,
        port=ib.port,
        client_id=ib.client_id,
        account=ib.account,
        instruments=ib.instruments,
        reconnect_max_s=settings.venue_reconnect_max_secs,
    )
    return InteractiveBrokersAdapter(config)


def ensure_ib_standin(settings: DaemonSettings) -> None:
    """Paper mode with ``standin_autostart``: launch the stand-in detached on host:port
    unless something listens there already (a stand-in, or TWS itself). Nothing otherwise."""
    ib = settings.interactive_brokers
    if settings.mode != "paper" or not ib.standin_autostart or not ib.instruments:
        return
    if _listening(ib.host, ib.port):
        log.info("ib_venue_listening host=%s port=%d: not starting the stand-in", ib.host, ib.port)
        return
    if ib.host not in _LOCAL_HOSTS:
        log.warning(
            "ib_standin_not_started host=%s is not this machine; the adapter keeps trying",
            ib.host,
        )
        return
    venue_dir = VenueDir(ib.standin_dir.resolve())
    if (pid := venue_dir.running_pid()) is not None:  # on another port: it would be refused
        log.warning(
            "ib_standin_elsewhere pid=%d dir=%s pid_file=%s, not on port %d",
            pid, venue_dir.path, venue_dir.read_pid(), ib.port,
        )  # fmt: skip
        return
    from live_daemon.venues.interactive_brokers.standin.commands import launch

    launch(ib.host, ib.port, venue_dir.path, ib.standin_prices, ib.account, settings.log_level)


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False
