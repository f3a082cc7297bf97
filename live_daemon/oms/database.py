"""The OMS database: an embedded PostgreSQL by default, ``DATABASE_URL`` in production.

* :class:`EmbeddedPostgres` starts (or reuses) a real PostgreSQL 16 from the ``pgserver``
  wheel in ``runtime/pg`` under the current directory. The server listens on a unix socket
  only. If a server is already running on that data directory (another daemon, or one that
  outlived a crashed daemon) it is reused, not restarted.
* :func:`resolve_database_url` picks ``DATABASE_URL`` when set, else the embedded server.
* :func:`create_pool` makes the asyncpg pool the OMS uses.

Durability. The OMS promises that an order is on disk before any venue sees it, so a commit
must wait for the WAL flush: ``synchronous_commit = on`` (PostgreSQL's default). The pool
*forces* it per session (a startup parameter, so no server, database or role default can
turn it off under us) and :func:`check_durability` verifies it, together with ``fsync``
(which a session cannot set: a server running with ``fsync = off`` is reported).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
import warnings
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import asyncpg

from execution_core.errors import ConfigError

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "DATABASE_URL"
DEFAULT_DATA_DIR = Path("runtime") / "pg"
APPLICATION_NAME = "execution-services-oms"

# Startup parameters of every pooled session. ``synchronous_commit`` is the durability
# promise of the write-ahead OMS; ``jit`` only slows the OMS's small indexed statements.
SESSION_SETTINGS: dict[str, str] = {
    "synchronous_commit": "on",
    "jit": "off",
    "application_name": APPLICATION_NAME,
    "timezone": "UTC",
}


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


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # decimals travel as strings, as in the REST API
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


def json_dumps(value: Any) -> str:
    """The JSON encoder of jsonb parameters: compact; Decimal → string, datetime → ISO."""
    return json.dumps(value, default=_json_default, separators=(",", ":"))


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection setup: json/jsonb as Python objects (numeric ↔ Decimal is built in)."""
    for typename in ("jsonb", "json"):
        await conn.set_type_codec(
            typename, encoder=json_dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _rollback_only_reset(conn: asyncpg.Connection) -> None:
    """Pool reset that costs no round trip.

    asyncpg always rolls back a transaction left open before calling this. The default
    reset also runs ``RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()`` on every
    release, one more round trip per OMS call; the OMS keeps no session state (its advisory
    locks are transaction-scoped), so it skips that. Pass ``reset_sessions=True`` to
    :func:`create_pool` if a user of the pool does keep session state.
    """


async def create_pool(
    url: str,
    min_size: int = 2,
    max_size: int = 10,
    *,
    statement_cache_size: int = 256,
    command_timeout: float | None = 30.0,
    reset_sessions: bool = False,
    **kwargs: Any,
) -> asyncpg.Pool:
    """An asyncpg pool for the OMS.

    Prepared statements are cached per connection (``statement_cache_size``; set it to 0
    behind pgbouncer in transaction mode). jsonb/json map to Python objects; numeric maps
    to ``Decimal``; timestamptz to aware UTC datetimes. Every session runs with
    ``synchronous_commit = on`` (see the module docstring).
    """
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        statement_cache_size=statement_cache_size,
        command_timeout=command_timeout,
        server_settings={**SESSION_SETTINGS, **kwargs.pop("server_settings", {})},
        init=init_connection,
        reset=None if reset_sessions else _rollback_only_reset,
        **kwargs,
    )
    assert pool is not None
    try:
        await check_durability(pool)
    except BaseException:
        await pool.close()
        raise
    return pool


async def check_durability(pool: asyncpg.Pool) -> dict[str, str]:
    """Verify a commit is durable on return; return the relevant server settings.

    Raises :class:`ConfigError` if ``synchronous_commit`` is off in our sessions (it never
    is through :func:`create_pool`); logs a warning if the server runs with ``fsync`` off.
    """
    rows = await pool.fetch(
        "SELECT name, setting FROM pg_settings"
        " WHERE name IN ('synchronous_commit', 'fsync', 'full_page_writes', 'wal_level')"
    )
    settings = {row["name"]: row["setting"] for row in rows}
    if settings.get("synchronous_commit") not in ("on", "local", "remote_write", "remote_apply"):
        raise ConfigError(
            "synchronous_commit is "
            f"{settings.get('synchronous_commit')!r} on the OMS database: a committed order "
            "could be lost in a crash; it must be 'on'"
        )
    if settings.get("fsync") != "on":
        log.warning("the OMS database runs with fsync=off: commits are not crash-safe")
    return settings
