"""``exec-venue ib``: the local TWS / IB Gateway stand-in as a process of its own.

    exec-venue ib start --port 7497 --dir runtime/venues/ib --price AAPL=190.5
    exec-venue ib status --dir runtime/venues/ib
    exec-venue ib stop --dir runtime/venues/ib

``run`` serves in the foreground until SIGTERM, with the paper venue's directory conventions
(:mod:`live_daemon.venues.state_dir`: ``venue.lock`` held for its life, ``venue.pid``,
``venue.log``) beside the stand-in's own journal; ``start`` launches ``run`` detached
(:func:`launch`, as the daemon does in paper mode) and waits until it listens. Options
default to the daemon's ``EXEC_DAEMON_INTERACTIVE_BROKERS__*`` settings (host, port,
``standin_dir``, ``standin_prices``, ``account``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from live_daemon.venues.state_dir import VenueDir

if TYPE_CHECKING:
    from live_daemon.settings import InteractiveBrokersVenueSettings

log = logging.getLogger(__name__)

EXIT_REFUSED = 2  # another stand-in on the directory, or the port taken

app = typer.Typer(help="The local TWS / IB Gateway stand-in.", no_args_is_help=True)

Host = Annotated[str | None, typer.Option(help="Address to listen on [settings: 127.0.0.1].")]
Port = Annotated[int | None, typer.Option(help="Port [settings: 7497].")]
Dir = Annotated[Path | None, typer.Option("--dir", "--state-dir", help="Journal, pid, log.")]
Prices = Annotated[
    list[str] | None,
    typer.Option("--price", help="KEY=PRICE, repeatable (AAPL=190.5, ES:20250321=6000)."),
]
Account = Annotated[str | None, typer.Option(help="The managed account [DU1234567].")]
LogLevel = Annotated[str, typer.Option(help="Log level.")]


def _settings() -> InteractiveBrokersVenueSettings:
    from live_daemon.settings import DaemonSettings

    return DaemonSettings().interactive_brokers


def _prices(given: list[str] | None) -> dict[str, Decimal]:
    prices: dict[str, Decimal] = {}
    for text in given or []:
        key, sep, value = text.partition("=")
        try:
            if not sep or not key:
                raise InvalidOperation
            prices[key] = Decimal(value)
        except InvalidOperation:
            raise typer.BadParameter(
                f"{text!r}: expected KEY=PRICE (AAPL=190.5)", param_hint="--price"
            ) from None
    return prices


def _resolve(
    host: str | None, port: int | None, state_dir: Path | None, prices: list[str] | None,
    account: str | None,
) -> tuple[str, int, Path, dict[str, Decimal], str]:  # fmt: skip
    """The options given, else the daemon's IB settings."""
    s = _settings()
    return (
        host or s.host,
        port if port is not None else s.port,
        (state_dir or s.standin_dir).resolve(),
        {**s.standin_prices, **_prices(prices)},
        account if account is not None else s.account,
    )


def command(
    host: str, port: int, state_dir: Path, prices: dict[str, Decimal], account: str = "",
    log_level: str = "INFO",
) -> list[str]:  # fmt: skip
    """``exec-venue ib run …`` (the script beside this interpreter, else ``python -m``)."""
    from live_daemon.venues.launch import exec_venue_program

    program = exec_venue_program()
    args = ["ib", "run", "--host", host, "--port", str(port), "--dir", str(state_dir.resolve())]
    args += [f"--price={key}={price}" for key, price in prices.items()]
    if account:
        args += ["--account", account]
    return [*program, *args, "--log-level", log_level]


def launch(
    host: str, port: int, state_dir: Path, prices: dict[str, Decimal], account: str = "",
    log_level: str = "INFO",
) -> subprocess.Popen[bytes]:  # fmt: skip
    """The stand-in, detached as the paper venue is (:mod:`live_daemon.venues.launch`): its
    own session, output appended to ``<state_dir>/venue.log``, stdin from /dev/null."""
    from live_daemon.venues.launch import launch_detached

    venue_dir = VenueDir(state_dir.resolve())
    process = launch_detached(command(host, port, state_dir, prices, account, log_level), state_dir)
    log.info("ib_standin_launched pid=%d port=%d dir=%s", process.pid, port, venue_dir.path)
    return process


@app.command()
def run(
    host: Host = None, port: Port = None, state_dir: Dir = None, price: Prices = None,
    account: Account = None, log_level: LogLevel = "INFO",
) -> None:  # fmt: skip
    """Serve in the foreground until SIGTERM (exit 2: directory or port taken)."""
    from live_daemon.logs import configure_logging

    where, at, directory, prices, acct = _resolve(host, port, state_dir, price, account)
    configure_logging(log_level)
    venue_dir = VenueDir(directory)
    lock = venue_dir.acquire()
    if lock is None:
        log.error("ib_standin_refused another stand-in runs on %s", venue_dir.path)
        raise typer.Exit(EXIT_REFUSED)
    try:
        code = asyncio.run(_serve(venue_dir, where, at, prices, acct))
    finally:
        venue_dir.remove_pid()
        os.close(lock)
    raise typer.Exit(code)


async def _serve(
    venue_dir: VenueDir, host: str, port: int, prices: dict[str, Decimal], account: str
) -> int:
    from live_daemon.venues.interactive_brokers.standin.record import StateDirBusy
    from live_daemon.venues.interactive_brokers.standin.server import StandInServer

    server = StandInServer(
        venue_dir.path, prices, host=host, port=port, accounts=(account or "DU1234567",)
    )
    try:
        await server.start()
    except (OSError, StateDirBusy) as exc:
        log.error("ib_standin_cannot_start endpoint=%s:%d: %s", host, port, exc)
        await server.stop()
        return EXIT_REFUSED
    venue_dir.write_pid(host, server.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    serving = loop.create_task(server.serve_forever())
    try:
        await stop.wait()
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await server.stop()
    log.info("ib_standin_stopped")
    return 0


@app.command()
def start(
    host: Host = None, port: Port = None, state_dir: Dir = None, price: Prices = None,
    account: Account = None, log_level: LogLevel = "INFO",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to listen.")] = 120.0,
) -> None:  # fmt: skip
    """Launch the stand-in detached and wait until it listens."""
    from live_daemon.venues.launch import wait_until_running

    where, at, directory, prices, acct = _resolve(host, port, state_dir, price, account)
    venue_dir = VenueDir(directory)
    if (pid := venue_dir.running_pid()) is not None:
        typer.echo(f"exec-venue ib: already running on {venue_dir.path} (pid {pid})", err=True)
        raise typer.Exit(EXIT_REFUSED)
    process = launch(where, at, directory, prices, acct, log_level)
    if (failure := wait_until_running(process, venue_dir, timeout)) is not None:
        typer.echo(f"exec-venue ib: {failure}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(venue_dir.read_pid()))


@app.command()
def status(state_dir: Dir = None) -> None:
    """Print the running stand-in's pid, host and port as JSON (exit 1 if none runs)."""
    venue_dir = VenueDir((state_dir or _settings().standin_dir).resolve())
    if venue_dir.running_pid() is None:
        typer.echo(f"exec-venue ib: no stand-in runs on {venue_dir.path}")
        raise typer.Exit(1)
    typer.echo(json.dumps(venue_dir.read_pid()))


@app.command()
def stop(
    state_dir: Dir = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to stop.")] = 120.0,
) -> None:
    """SIGTERM the stand-in on --dir and wait until it has stopped."""
    from live_daemon.venues.cli import stop as stop_venue

    stop_venue(state_dir=state_dir or _settings().standin_dir, timeout=timeout)
