"""``exec-venue``: venues as long-running processes of their own.

    exec-venue paper                        # the paper venue on 127.0.0.1:8101,
                                            # its record in runtime/venues/paper
    exec-venue paper --port 8102 --dir /srv/venues/paper --day 2025-01-15 --speed 10 \\
        --instruments BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN,OKX:PERPETUAL:BTC-USDT@LIN
    exec-venue stop --dir runtime/venues/paper

``paper`` runs :class:`~live_daemon.venues.host.VenueHost` until SIGTERM (or Ctrl-C). It
refuses to start, saying why, if another venue runs on the same directory (the directory's
lock, :mod:`live_daemon.venues.state_dir`) or its port is taken. The daemon starts it itself
(``venue_autostart``) with ``--config-json`` (a whole
:class:`~live_daemon.venues.host_config.VenueHostConfig`; options given as well override
its fields), detached, so that it outlives the daemon.

``stop`` sends SIGTERM to the venue running on a directory and waits until it has released
the directory (its record is closed then); if it gives up, it says what it waited for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import os
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from live_daemon.venues.host_config import DEFAULT_VENUE_PORT, VenueHostConfig
from live_daemon.venues.state_dir import VenueDir

DEFAULT_DIR = Path("runtime/venues/paper")
EXIT_REFUSED = 2  # another venue on the directory, or the port taken

app = typer.Typer(help="Venues in processes of their own.", no_args_is_help=True)


def _defaults() -> dict[str, Any]:
    """What ``exec-venue paper`` replays with no options: the daemon's defaults."""
    from live_daemon.settings import DaemonSettings

    settings = DaemonSettings()
    return {
        "ticks_store_url": settings.ticks_store_url,
        "instruments": settings.instruments,
        "day": settings.replay_day,
        "speed": settings.replay_speed,
        "port": DEFAULT_VENUE_PORT,
        "state_dir": DEFAULT_DIR,
    }


@app.command()
def paper(
    config_json: Annotated[
        str | None, typer.Option(help="A whole VenueHostConfig as JSON (the daemon's way).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on [127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(envvar="EXEC_VENUE_PORT", help="Port [8101].")] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--dir", envvar="EXEC_VENUE_DIR", help="Record, key, pid file [runtime/venues/paper]."
        ),
    ] = None,
    ticks_store_url: Annotated[
        str | None, typer.Option(envvar="EXEC_TICKS_STORE_URL", help="Tick store to replay.")
    ] = None,
    day: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], envvar="EXEC_VENUE_DAY", help="Day to replay."),
    ] = None,
    speed: Annotated[
        float | None, typer.Option(envvar="EXEC_VENUE_SPEED", help="Replay speed (x real time).")
    ] = None,
    instruments: Annotated[
        str | None,
        typer.Option(envvar="EXEC_VENUE_INSTRUMENTS", help="Canonical keys, comma-separated."),
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="Log level [INFO].")] = None,
) -> None:
    """Run the paper venue until SIGTERM; refuse (exit 2) if its port is taken or another
    venue runs on its directory."""
    base = (
        VenueHostConfig.model_validate_json(config_json).model_dump()
        if config_json
        else _defaults()
    )
    overrides = {
        "host": host,
        "port": port,
        "state_dir": state_dir,
        "ticks_store_url": ticks_store_url,
        "day": None if day is None else day.date(),
        "speed": speed,
        "instruments": None if instruments is None else instruments.split(","),
        "log_level": log_level,
    }
    config = VenueHostConfig.model_validate(
        base | {k: v for k, v in overrides.items() if v is not None}
    )
    raise typer.Exit(run_paper(config))


def run_paper(config: VenueHostConfig) -> int:
    """The process around the venue host: lock, pid file, port, key, signals, loop."""
    from live_daemon.logs import configure_logging

    configure_logging(config.log_level)
    venue_dir = VenueDir(config.state_dir.resolve())
    lock = venue_dir.acquire()
    if lock is None:
        info = venue_dir.read_pid() or {}
        typer.echo(
            f"exec-venue: another venue runs on {venue_dir.path} (pid {info.get('pid', '?')}, "
            f"port {info.get('port', '?')}); stop it with "
            f"`exec-venue stop --dir {venue_dir.path}` or give this one another --dir",
            err=True,
        )
        return EXIT_REFUSED
    try:
        venue_dir.write_pid(config.host, config.port)
        from live_daemon.venues.auth import load_or_create_key
        from live_daemon.venues.server import listen

        key = load_or_create_key(venue_dir.key)  # before listening: a client reads it then
        try:
            listener = listen(config.host, config.port)
        except OSError as exc:
            taken = exc.errno == errno.EADDRINUSE
            typer.echo(
                f"exec-venue: cannot listen on {config.endpoint}: "
                + ("the port is taken (another venue or program); choose another with --port"
                   if taken else str(exc)),
                err=True,
            )  # fmt: skip
            return EXIT_REFUSED
        return _serve(config, venue_dir, listener, key)
    finally:
        venue_dir.remove_pid()
        os.close(lock)


def _serve(config: VenueHostConfig, venue_dir: VenueDir, listener: Any, key: bytes) -> int:
    import uvloop

    from live_daemon.venues.host import VenueHost
    from live_daemon.venues.journal import VenueJournal
    from live_daemon.venues.server import VenueServer

    journal = VenueJournal(venue_dir.record)
    os.nice(config.nice)

    async def main() -> int:
        host = VenueHost(config, journal)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, host.stop)
        server = VenueServer(listener, key, host.on_connection, host.on_frame)
        return await host.run(server)

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main())
    finally:
        journal.close()
        listener.close()


@app.command()
def stop(
    state_dir: Annotated[Path, typer.Option("--dir", help="The venue's directory.")] = DEFAULT_DIR,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to stop.")] = 60.0,
) -> None:
    """SIGTERM the venue running on --dir and wait until it has stopped."""
    venue_dir = VenueDir(state_dir.resolve())
    pid = venue_dir.running_pid()
    if pid is None:
        if venue_dir.is_locked():
            typer.echo(
                f"exec-venue: a process holds {venue_dir.lock} but {venue_dir.pid_file} does "
                "not name a live one; find it with `fuser` and stop it",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"exec-venue: no venue runs on {venue_dir.path}")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while venue_dir.is_locked() or _alive(pid):
        if time.monotonic() > deadline:
            typer.echo(
                f"exec-venue: the venue (pid {pid}) did not stop within {timeout:g}s: waited "
                f"for it to release {venue_dir.lock} and exit; see {venue_dir.log}, or "
                f"`kill -9 {pid}`",
                err=True,
            )
            raise typer.Exit(1)
        time.sleep(0.05)
    typer.echo(f"exec-venue: stopped the venue on {venue_dir.path} (pid {pid})")


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, exited but not yet reaped, does not)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _add_deribit() -> None:
    # the local Deribit venue: exec-venue deribit start|stop|status|run
    from live_daemon.venues.deribit.standin.cli import app as deribit_app

    app.add_typer(deribit_app, name="deribit")


_add_deribit()


def _add_ib() -> None:
    # the local TWS / IB Gateway stand-in: exec-venue ib start|stop|status|run
    from live_daemon.venues.interactive_brokers.standin.commands import app as ib_app

    app.add_typer(ib_app, name="ib")


_add_ib()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
