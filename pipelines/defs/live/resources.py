"""The live daemon as Dagster reaches it, and how Dagster (re)starts it.

``LiveDaemonResource`` — where the daemon's API and its OMS database are. Empty settings
mean the environment, then the embedded defaults:

* ``api_url``: ``EXEC_DAEMON_URL``, else ``http://127.0.0.1:8001``;
* ``token``: ``EXEC_DAEMON_TOKEN``, else ``paper-token``;
* ``database_url``: ``DATABASE_URL``, else the embedded PostgreSQL in ``pg_data_dir``
  (``runtime/pg``), opened with ``cleanup_mode=None`` so that Dagster never stops the
  daemon's server — and never creates one: without an initialised data directory there is
  no OMS database (and so no daemon) to look at.

``LiveDaemonLauncher`` — the restart job's way to start the daemon: by default it starts
``exec-live`` (next to ``sys.executable``) detached, as in :mod:`pipelines.defs.live.launcher`;
with ``command`` set (``["systemctl", "restart", "exec-live"]``) it runs that instead. Both
then wait for ``/api/health`` to answer ``ok``/``degraded`` from a new instance.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
from pydantic import Field

from execution_core.database import DATABASE_URL_ENV, EmbeddedPostgres
from execution_core.errors import ConfigError
from pipelines.defs.live import launcher
from pipelines.defs.live.daemon_api import DaemonApi

DEFAULT_API_URL = "http://127.0.0.1:8001"
DEFAULT_TOKEN = "paper-token"


class LiveDaemonResource(dg.ConfigurableResource):
    """Where the live daemon's API and OMS database are (module docstring)."""

    api_url: str = Field(default="", description="'' = $EXEC_DAEMON_URL or " + DEFAULT_API_URL)
    token: str = Field(default="", description="'' = $EXEC_DAEMON_TOKEN or " + DEFAULT_TOKEN)
    database_url: str = Field(
        default="", description="'' = $DATABASE_URL or the embedded server in pg_data_dir"
    )
    pg_data_dir: str = "runtime/pg"
    stale_after_secs: float = Field(
        default=15.0, gt=0, description="a heartbeat older than this (and no clean stop) is stale"
    )
    health_timeout_secs: float = Field(default=10.0, gt=0)
    reconciliation_timeout_secs: float = Field(
        default=300.0, gt=0, description="how long the daemon may take to read every venue"
    )

    def resolved_api_url(self) -> str:
        return (self.api_url or os.environ.get("EXEC_DAEMON_URL") or DEFAULT_API_URL).rstrip("/")

    def api(self) -> DaemonApi:
        return DaemonApi(
            self.resolved_api_url(),
            self.token or os.environ.get("EXEC_DAEMON_TOKEN") or DEFAULT_TOKEN,
            self.health_timeout_secs,
            self.reconciliation_timeout_secs,
        )

    def oms_url(self) -> str | None:
        """The OMS database's URL; ``None`` when there is none (no ``DATABASE_URL`` and no
        initialised embedded data directory)."""
        url = (self.database_url or os.environ.get(DATABASE_URL_ENV, "")).strip()
        if url:
            if not url.startswith(("postgres://", "postgresql://")):
                raise ConfigError(f"the OMS database URL must be postgresql://, got {url[:20]!r}")
            return url
        data_dir = Path(self.pg_data_dir).expanduser().resolve()
        if not (data_dir / "PG_VERSION").exists():
            return None
        return EmbeddedPostgres(data_dir, cleanup_mode=None).start()

    def describe_database(self) -> str:
        if self.database_url or os.environ.get(DATABASE_URL_ENV):
            return "the configured database URL"
        return f"the embedded PostgreSQL in {Path(self.pg_data_dir).expanduser().resolve()}"


class LiveDaemonLauncher(dg.ConfigurableResource):
    """How the restart job starts the daemon (module docstring)."""

    command: list[str] = Field(
        default_factory=list,
        description="production: a command that (re)starts the daemon, e.g. "
        "['systemctl', 'restart', 'exec-live']; empty = start exec-live detached",
    )
    executable: str = Field(
        default="", description="the embedded start's program; '' = exec-live next to python"
    )
    args: list[str] = Field(default_factory=list, description="e.g. ['--config', 'daemon.json']")
    cwd: str = Field(default="", description="the daemon's working directory; '' = this one")
    runtime_dir: str = Field(
        default="runtime/live", description="daemon.log and daemon.pid, relative to cwd"
    )
    extra_env: dict[str, str] = Field(
        default_factory=dict, description="added to the environment passed through"
    )
    wait_secs: float = Field(
        default=300.0, gt=0, description="how long to wait for a healthy new instance"
    )
    command_timeout_secs: float = Field(default=120.0, gt=0)
    stop_timeout_secs: float = Field(
        default=30.0, gt=0, description="SIGTERM to SIGKILL, for a hung embedded daemon"
    )

    def restart(
        self,
        api: DaemonApi,
        previous: launcher.Previous,
        log: Callable[[str], None],
    ) -> launcher.Started:
        """Restart the daemon and wait until a new instance answers healthy."""
        workdir = Path(self.cwd or os.getcwd()).resolve()
        env = launcher.daemon_environment(os.environ, self.extra_env, api.base_url)
        if self.command:
            launcher.run_command(self.command, workdir, env, self.command_timeout_secs, log=log)
            return launcher.wait_healthy(api, previous, self.wait_secs, log=log)
        executable = self.executable or str(Path(sys.executable).parent / "exec-live")
        runtime = workdir / self.runtime_dir
        launcher.stop_previous(
            executable, runtime / "daemon.pid", previous, self.stop_timeout_secs, log=log
        )
        process = launcher.spawn_detached([executable, *self.args], workdir, env, runtime, log=log)
        return launcher.wait_healthy(
            api, previous, self.wait_secs, process=process, log_path=runtime / "daemon.log", log=log
        )
