"""``exec-live``: run the daemon (paper mode on 127.0.0.1:8001 by default)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from execution_core.errors import ConfigError
from live_daemon.settings import DaemonMode, load_settings

app = typer.Typer(help="The live execution daemon.", no_args_is_help=False)


@app.command()
def run(
    config: Annotated[Path | None, typer.Option(help="JSON config (${ENV} expanded).")] = None,
    port: Annotated[int | None, typer.Option(help="Override the port.")] = None,
    mode: Annotated[
        DaemonMode | None, typer.Option(help="Overrides EXEC_DAEMON_MODE and the config.")
    ] = None,
) -> None:
    """Start the daemon; SIGINT/SIGTERM stop it cleanly (orders in flight are resolved on
    the next start)."""
    from live_daemon.logs import configure_logging
    from live_daemon.service import build_app

    settings = load_settings(config)
    overrides = {"port": port, "mode": mode}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level)
    try:
        daemon = build_app(settings)
    except ConfigError as exc:  # e.g. live mode without the venues' keys: say which
        typer.echo(f"exec-live: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        daemon,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,  # served directly on the loopback; no proxy to trust
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
