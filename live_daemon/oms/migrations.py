"""Versioned plain-SQL migrations of the OMS schema.

Migrations are the files ``live_daemon/oms/migrations/NNNN_name.sql`` (package data, read
through :mod:`importlib.resources`, so they work from a wheel too). :func:`migrate` applies
each one not yet recorded in ``schema_migrations``, in version order, each in its own
transaction together with its ``schema_migrations`` row, so a failing migration leaves no
trace. Every transaction first takes a transaction-scoped advisory lock, so daemons started
together apply each migration exactly once (the others wait, then see it recorded).

Never edit an applied migration; add the next number. A database holding versions this
code does not know (a newer daemon migrated it) is reported, not touched.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from execution_core.errors import ConfigError, ExecutionServicesError

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "live_daemon.oms"
MIGRATIONS_DIR = "migrations"
# pg_advisory_xact_lock key of OMS migrations (any fixed bigint; this one spells "OMS-MIGR").
ADVISORY_LOCK_KEY = 0x4F4D_532D_4D49_4752

_FILE_RE = re.compile(r"(?P<version>[0-9]{4})_(?P<name>[a-z0-9_]+)\.sql")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(ExecutionServicesError):
    """A migration failed to apply (its transaction was rolled back)."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


def load_migrations() -> list[Migration]:
    """The packaged migrations in version order; rejects badly named or duplicate files."""
    folder = resources.files(MIGRATIONS_PACKAGE).joinpath(MIGRATIONS_DIR)
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_RE.fullmatch(entry.name)
        if match is None:
            raise ConfigError(
                f"migration file {entry.name!r} in {MIGRATIONS_PACKAGE}/{MIGRATIONS_DIR} "
                "must be named NNNN_lowercase_name.sql"
            )
        version = int(match["version"])
        if version in found:
            raise ConfigError(
                f"two migrations with version {version:04d}: "
                f"{found[version].label}.sql and {entry.name}"
            )
        found[version] = Migration(version, match["name"], entry.read_text(encoding="utf-8"))
    if not found:
        raise ConfigError(f"no migrations found in {MIGRATIONS_PACKAGE}/{MIGRATIONS_DIR}")
    return [found[v] for v in sorted(found)]


async def _lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", ADVISORY_LOCK_KEY)


async def applied_versions(conn: asyncpg.Connection) -> dict[int, str]:
    """``{version: name}`` recorded in ``schema_migrations`` (empty if it does not exist)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    return {row["version"]: row["name"] for row in rows}


async def migrate(pool: asyncpg.Pool | asyncpg.Connection) -> list[str]:
    """Apply the pending migrations; return their labels (``["0001_initial", ...]``).

    Idempotent, and safe to run from several processes at once.
    """
    migrations = load_migrations()
    applied: list[str] = []
    if isinstance(pool, asyncpg.Connection):
        await _migrate(pool, migrations, applied)
    else:
        async with pool.acquire() as conn:
            await _migrate(conn, migrations, applied)
    return applied


async def _migrate(
    conn: asyncpg.Connection, migrations: list[Migration], applied: list[str]
) -> None:
    async with conn.transaction():
        await _lock(conn)
        await conn.execute(_CREATE_TABLE)
        done = await applied_versions(conn)
    known = {m.version for m in migrations}
    unknown = sorted(set(done) - known)
    if unknown:
        log.warning(
            "the OMS database has migrations this code does not know: %s "
            "(a newer version migrated it)",
            ", ".join(f"{v:04d}_{done[v]}" for v in unknown),
        )
    for migration in migrations:
        if migration.version in done:
            continue
        async with conn.transaction():
            await _lock(conn)
            recorded = await conn.fetchval(
                "SELECT true FROM schema_migrations WHERE version = $1", migration.version
            )
            if recorded:  # another process applied it while we waited for the lock
                continue
            try:
                await conn.execute(migration.sql)
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"OMS migration {migration.label}.sql failed: {type(exc).__name__}: {exc}"
                ) from exc
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
        log.info("applied OMS migration %s", migration.label)
        applied.append(migration.label)
