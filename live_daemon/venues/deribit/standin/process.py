"""The stand-in as a process of its own (``exec-venue deribit run``; ``start`` launches it
detached), with the paper venue's directory conventions (:mod:`live_daemon.venues.state_dir`:
lock, pid file, log) plus ``record.sqlite`` (:mod:`.record`) and ``client_secret``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
from pathlib import Path

from live_daemon.venues.deribit.standin.config import StandinConfig
from live_daemon.venues.launch import exec_venue_program, launch_detached
from live_daemon.venues.state_dir import VenueDir

log = logging.getLogger(__name__)

EXIT_REFUSED = 2


def secret_path(state_dir: Path) -> Path:
    return state_dir / "client_secret"


def run(config: StandinConfig) -> int:
    """Serve until SIGTERM/SIGINT: 0 stopped, 2 refused (directory or port taken)."""
    from live_daemon.logs import configure_logging

    configure_logging(config.log_level)
    venue_dir = VenueDir(config.state_dir.resolve())
    lock = venue_dir.acquire()
    if lock is None:
        log.error("deribit_standin_refused another venue runs on %s", venue_dir.path)
        return EXIT_REFUSED
    try:
        return asyncio.run(_serve(config, venue_dir))
    finally:
        venue_dir.remove_pid()
        os.close(lock)


async def _serve(config: StandinConfig, venue_dir: VenueDir) -> int:
    from execution_core.instruments.reference import load_reference
    from execution_core.stores import open_store
    from live_daemon.venues.deribit.standin.auth import Sessions, load_or_create_secret
    from live_daemon.venues.deribit.standin.engine import Exchange
    from live_daemon.venues.deribit.standin.instruments import listings
    from live_daemon.venues.deribit.standin.model import Touch
    from live_daemon.venues.deribit.standin.record import StandinRecord
    from live_daemon.venues.deribit.standin.replay import load_streams, replay
    from live_daemon.venues.deribit.standin.server import StandinServer

    found = listings(load_reference(), config.instruments)
    streams = load_streams(open_store(config.ticks_store_url), list(found.values()), config.day)
    secret = config.client_secret or load_or_create_secret(secret_path(venue_dir.path))
    sessions = Sessions(
        config.client_id, secret, config.token_expires_in, config.refresh_expires_in
    )
    record = StandinRecord(venue_dir.record)
    exchange = Exchange(found, record, lambda channel, data: None)
    server = StandinServer(config, exchange, sessions)

    def on_touch(name: str, touch: Touch) -> None:
        exchange.set_touch(name, touch)  # resting orders it crosses fill now

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        port = await server.start()
    except OSError as exc:
        log.error("deribit_standin_cannot_listen endpoint=%s: %s", config.endpoint, exc)
        record.close()
        return EXIT_REFUSED
    venue_dir.write_pid(config.host, port)
    replaying = loop.create_task(replay(streams, on_touch, config.speed, config.start_offset_secs))
    publishing = loop.create_task(server.publish_every(config.book_interval_s))
    log.info(
        "deribit_standin_ready port=%d orders=%d trades=%d", port, len(exchange.orders),
        len(exchange.trades),
    )  # fmt: skip
    try:
        await stop.wait()
    finally:
        for task in (replaying, publishing):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await server.close()
        record.close()
    return 0


def command(config: StandinConfig) -> list[str]:
    absolute = config.model_copy(update={"state_dir": config.state_dir.resolve()})
    return [*exec_venue_program(), "deribit", "run", "--config-json", absolute.model_dump_json()]


def launch(config: StandinConfig) -> subprocess.Popen[bytes]:
    """Detached, as the paper venue is (:mod:`live_daemon.venues.launch`): its own session,
    output appended to ``<state_dir>/venue.log``."""
    process = launch_detached(command(config), config.state_dir)
    log.info("deribit_standin_launched pid=%d dir=%s", process.pid, config.state_dir.resolve())
    return process
