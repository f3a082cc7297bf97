"""PostgreSQL for the OMS, shared by the daemon (which writes it) and the Dagster
supervision (which reads its heartbeat and reconciles it): an embedded server by default,
``DATABASE_URL`` in production.

* :class:`EmbeddedPostgres` starts (or reuses) a real PostgreSQL 16 from the ``pgserver``
  wheel in ``runtime/pg`` under the current directory. The server listens on a unix socket
  only. If a server is already running on that data directory (another daemon, or one that
  outlived a crashed daemon) it is reused, not restarted.
* :func:`resolve_database_url` picks ``DATABASE_URL`` when set, else the embedded server.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from execution_core.errors import ConfigError

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DATABASE_URL"
DEFAULT_DATA_DIR = Path("runtime") / "pg"


class EmbeddedPostgres:
    """A PostgreSQL server from the ``pgserver`` wheel, in ``data_dir``.

    ``start()`` initialises the data directory on first use, starts the server, or attaches
    to the one already running there, and returns its URI (a unix-socket URI such as
    ``postgresql://postgres:@/postgres?host=/path/to/socketdir``).

    ``cleanup_mode`` is pgserver's: ``"stop"`` (default) stops the server when the last
    process using it exits normally; ``None`` leaves it running; ``"delete"`` also removes
    the data directory (tests). A daemon killed outright leaves the server running, and
    the next start reuses it.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        cleanup_mode: Literal["stop", "delete"] | None = "stop",
    ) -> None:
        path = Path(data_dir) if data_dir is not None else Path.cwd() / DEFAULT_DATA_DIR
        self.data_dir = path.expanduser().resolve()
        self.cleanup_mode = cleanup_mode
        self._server: Any = None

    def start(self) -> str:
        """Start (or reuse) the server; return the URI of its ``postgres`` database."""
        if self._server is None:
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
                warnings.simplefilter("ignore")
                import pgserver  # heavy (psutil, platformdirs): only the embedded path needs it

                self._server = pgserver.get_server(self.data_dir, cleanup_mode=self.cleanup_mode)
            log.info("embedded PostgreSQL running in %s", self.data_dir)
        return self.uri()

    @property
    def running(self) -> bool:
        return self._server is not None

    def uri(self, database: str | None = None) -> str:
        """The URI of ``database`` (default ``postgres``) on the started server."""
        if self._server is None:
            raise RuntimeError(f"embedded PostgreSQL in {self.data_dir} is not started")
        return str(self._server.get_uri(database))

    def stop(self) -> None:
        """Release this process's handle (pgserver stops the server if it was the last)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedPostgres({str(self.data_dir)!r}, running={self.running})"


def resolve_database_url(
    env: Mapping[str, str] = os.environ,
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[str, EmbeddedPostgres | None]:
    """``(url, None)`` from ``DATABASE_URL`` if set, else ``(url, server)`` of a started
    :class:`EmbeddedPostgres` in ``data_dir`` (default ``runtime/pg`` under the cwd).

    The caller owns the returned server (``stop()`` it on shutdown, or let pgserver stop it
    at exit).
    """
    url = env.get(DATABASE_URL_ENV, "").strip()
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            raise ConfigError(
                f"{DATABASE_URL_ENV} must be a postgresql:// URL, got {url.split('@')[-1]!r}"
            )
        return url, None
    server = EmbeddedPostgres(data_dir)
    return server.start(), server
