"""The OMS database: an embedded PostgreSQL by default, ``DATABASE_URL`` in production.

* :class:`~execution_core.database.EmbeddedPostgres` and
  :func:`~execution_core.database.resolve_database_url` live in ``execution_core`` (the
  Dagster supervision reads the same database) and are re-exported here.
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
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from execution_core.database import (
    DATABASE_URL_ENV,
    DEFAULT_DATA_DIR,
    EmbeddedPostgres,
    resolve_database_url,
)
from execution_core.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DATA_DIR",
    "EmbeddedPostgres",
    "check_durability",
    "create_pool",
    "json_dumps",
    "resolve_database_url",
]

APPLICATION_NAME = "execution-services-oms"

# Startup parameters of every pooled session. ``synchronous_commit`` is the durability
# promise of the write-ahead OMS; ``jit`` only slows the OMS's small indexed statements.
SESSION_SETTINGS: dict[str, str] = {
    "synchronous_commit": "on",
    "jit": "off",
    "application_name": APPLICATION_NAME,
    "timezone": "UTC",
}


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
