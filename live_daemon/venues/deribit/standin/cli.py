"""``exec-venue deribit``: the local Deribit venue.

    exec-venue deribit start --port 8102 --dir runtime/venues/deribit --day 2025-01-15
    exec-venue deribit status --dir runtime/venues/deribit
    exec-venue deribit stop --dir runtime/venues/deribit

``start`` launches ``run`` detached and waits until it listens (or says what it waited
for); ``run`` serves in the foreground until SIGTERM. Options override the
``EXEC_DERIBIT_*`` settings (:class:`~.config.StandinSettings`); the client secret is in
``<dir>/client_secret`` unless given.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from live_daemon.venues.deribit.standin.config import StandinConfig, StandinSettings
from live_daemon.venues.state_dir import VenueDir

app = typer.Typer(help="The local Deribit venue (JSON-RPC over WebSocket).", no_args_is_help=True)

ConfigJson = Annotated[str | None, typer.Option(help="A whole StandinConfig as JSON.")]
Host = Annotated[str | None, typer.Option(help="Address to listen on [127.0.0.1].")]
Port = Annotated[int | None, typer.Option(help="Port [8102].")]
Dir = Annotated[Path | None, typer.Option("--dir", "--state-dir", help="Record, secret, pid, log.")]
Store = Annotated[str | None, typer.Option(help="Tick store to replay.")]
Day = Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Day to replay.")]
Speed = Annotated[float | None, typer.Option(help="Replay speed (x real time).")]
Instruments = Annotated[str | None, typer.Option(help="Canonical keys, comma-separated.")]


def _config(config_json: str | None, **options: Any) -> StandinConfig:
    base = (
        StandinConfig.model_validate_json(config_json).model_dump()
        if config_json
        else StandinSettings().config().model_dump()
    )
    if options.get("day") is not None:
        options["day"] = options["day"].date()
    if options.get("instruments") is not None:
        options["instruments"] = options["instruments"].split(",")
    given = {k: v for k, v in options.items() if v is not None}
    return StandinConfig.model_validate(base | given)


@app.command()
def run(
    config_json: ConfigJson = None, host: Host = None, port: Port = None, state_dir: Dir = None,
    ticks_store_url: Store = None, day: Day = None, speed: Speed = None,
    instruments: Instruments = None,
) -> None:  # fmt: skip
    """Serve in the foreground until SIGTERM."""
    from live_daemon.venues.deribit.standin.process import run as run_process

    config = _config(
        config_json, host=host, port=port, state_dir=state_dir, ticks_store_url=ticks_store_url,
        day=day, speed=speed, instruments=instruments,
    )  # fmt: skip
    raise typer.Exit(run_process(config))


@app.command()
def start(
    config_json: ConfigJson = None, host: Host = None, port: Port = None, state_dir: Dir = None,
    ticks_store_url: Store = None, day: Day = None, speed: Speed = None,
    instruments: Instruments = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to listen.")] = 60.0,
) -> None:  # fmt: skip
    """Launch the venue detached and wait until it listens."""
    from live_daemon.venues.deribit.standin.process import launch
    from live_daemon.venues.launch import wait_until_running

    config = _config(
        config_json, host=host, port=port, state_dir=state_dir, ticks_store_url=ticks_store_url,
        day=day, speed=speed, instruments=instruments,
    )  # fmt: skip
    venue_dir = VenueDir(config.state_dir.resolve())
    if (pid := venue_dir.running_pid()) is not None:
        typer.echo(f"exec-venue deribit: already running on {venue_dir.path} (pid {pid})", err=True)
        raise typer.Exit(2)
    process = launch(config)
    if (failure := wait_until_running(process, venue_dir, timeout)) is not None:
        typer.echo(f"exec-venue deribit: {failure}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(venue_dir.read_pid()))


@app.command()
def status(state_dir: Dir = None) -> None:
    """Print the running venue's pid, host and port as JSON (exit 1 if none runs)."""
    venue_dir = VenueDir((state_dir or StandinSettings().state_dir).resolve())
    if venue_dir.running_pid() is None:
        typer.echo(f"exec-venue deribit: no venue runs on {venue_dir.path}")
        raise typer.Exit(1)
    typer.echo(json.dumps(venue_dir.read_pid()))


@app.command()
def stop(
    state_dir: Dir = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to stop.")] = 60.0,
) -> None:
    """SIGTERM the venue on --dir and wait until it has stopped."""
    from live_daemon.venues.cli import stop as stop_venue

    stop_venue(state_dir=state_dir or StandinSettings().state_dir, timeout=timeout)
