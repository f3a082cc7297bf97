"""What the daemon tells its supervisors: that it alone owns its database, that it is alive
(a heartbeat row), and what happened to it (the daemon event log).

- :class:`DatabaseOwnership`: a session-level PostgreSQL advisory lock, held on a
  connection of its own for the daemon's whole life. A second daemon started on the same
  database cannot take it and refuses to start (:class:`DaemonAlreadyRunning`, naming the
  owner), *before* it recovers, migrates or routes anything: two daemons never trade, nor
  resolve, the same book. If the lock's connection is lost (the database restarted), the
  heartbeat takes the lock again; if another daemon took it meanwhile, this one stops
  taking orders.
- :class:`Heartbeat`: a task that writes the ``daemon_heartbeat`` row every few seconds
  (instance id, pid, host, version, started_at, last_beat, each venue connection's state).
  ``last_beat`` is the database's clock, which is the clock the Dagster sensor reads it
  with. A clean stop sets ``stopped_at``, so the sensor does not restart a daemon an
  operator stopped.
- :func:`record_daemon_event`: the ``daemon_events`` log (daemon started and stopped, venue
  connections); its ids are the cursor of the sensor that triggers reconciliation runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from execution_core.errors import ExecutionServicesError
from live_daemon.oms.errors import is_database_unavailable

log = logging.getLogger(__name__)

# pg_advisory_lock key of the daemon's ownership of a database (spells "EXECLIVE").
OWNERSHIP_LOCK_KEY = 0x4558_4543_4C49_5645

_UPSERT_BEAT = """
INSERT INTO daemon_heartbeat
    (instance_id, pid, host, version, api_url, started_at, last_beat, venues)
VALUES ($1, $2, $3, $4, $5, $6, now(), $7)
ON CONFLICT (instance_id) DO UPDATE SET last_beat = now(), venues = EXCLUDED.venues
RETURNING last_beat
"""
_STOPPED = (
    "UPDATE daemon_heartbeat SET stopped_at = now(), last_beat = now() WHERE instance_id = $1"
)
_NEWEST_RUNNING = """
SELECT instance_id, pid, host, last_beat, extract(epoch FROM now() - last_beat) AS age_s
FROM daemon_heartbeat WHERE stopped_at IS NULL ORDER BY last_beat DESC LIMIT 1
"""
_EVENT = """
INSERT INTO daemon_events (instance_id, kind, venue, detail) VALUES ($1, $2, $3, $4)
RETURNING event_id
"""


class DaemonAlreadyRunning(ExecutionServicesError):
    """Another daemon owns the database (holds the ownership lock)."""


@dataclass(frozen=True)
class DaemonIdentity:
    """Who this daemon is, for its heartbeat row, its events and ``/api/health``."""

    version: str
    api_url: str
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def as_dict(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "pid": self.pid,
            "host": self.host,
            "version": self.version,
            "api_url": self.api_url,
            "started_at": self.started_at.isoformat(),
        }


class DatabaseOwnership:
    """The daemon's advisory lock on its database (module docstring)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: asyncpg.Connection | None = None
        self.lost_to_another = False

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def acquire(self) -> None:
        """Take the lock or raise :class:`DaemonAlreadyRunning` naming its owner."""
        conn = await asyncpg.connect(self.url, server_settings={"application_name": "exec-live"})
        try:
            taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", OWNERSHIP_LOCK_KEY)
            if not taken:
                raise DaemonAlreadyRunning(await _describe_owner(conn))
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        self.lost_to_another = False
        log.info("database_ownership_taken")

    async def ensure(self) -> bool:
        """Take the lock again if its connection was lost; ``False`` if another daemon
        holds it now (this one must stop taking orders)."""
        if self._conn is not None:
            try:  # a lost session is only noticed by using it
                await self._conn.fetchval("SELECT 1")
                return True
            except Exception as exc:
                log.warning("database_ownership_session_lost error=%s", type(exc).__name__)
                self._conn.terminate()
                self._conn = None
        try:
            await self.acquire()
        except DaemonAlreadyRunning as exc:
            if not self.lost_to_another:
                log.error("database_ownership_lost reason=%s", exc)
            self.lost_to_another = True
            return False
        return True

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()  # a session lock ends with its session


async def _describe_owner(conn: asyncpg.Connection) -> str:
    prefix = "another daemon owns this database (only one daemon may trade one book)"
    try:
        row = await conn.fetchrow(_NEWEST_RUNNING)
    except asyncpg.UndefinedTableError:  # an owner that predates the heartbeat table
        row = None
    if row is None:
        return f"{prefix}; stop it first"
    return (
        f"{prefix}: instance {row['instance_id']} (pid {row['pid']} on {row['host']}, "
        f"last heartbeat {float(row['age_s']):.1f}s ago); stop it first"
    )


async def record_daemon_event(
    pool: asyncpg.Pool,
    identity: DaemonIdentity,
    kind: str,
    *,
    venue: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int | None:
    """Append to ``daemon_events``; ``None`` (logged) when the database is unreachable:
    an event the log misses only costs a reconciliation run its trigger, and the
    schedule runs one anyway."""
    try:
        return int(await pool.fetchval(_EVENT, identity.instance_id, kind, venue, detail or {}))
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        log.warning("daemon_event_not_recorded kind=%s venue=%s error=%s", kind, venue, exc)
        return None


class Heartbeat:
    """Writes the heartbeat row every ``interval_secs`` (module docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        identity: DaemonIdentity,
        ownership: DatabaseOwnership,
        venues: Callable[[], dict[str, Any]],
        *,
        interval_secs: float,
    ) -> None:
        self.pool, self.identity, self.ownership = pool, identity, ownership
        self._venues = venues
        self.interval_secs = interval_secs
        self.last_beat: dt.datetime | None = None
        self._task: asyncio.Task[None] | None = None

    async def beat(self) -> None:
        """Write the row once (and take the ownership lock again if it was lost)."""
        if not await self.ownership.ensure():
            return
        i = self.identity
        self.last_beat = await self.pool.fetchval(
            _UPSERT_BEAT, i.instance_id, i.pid, i.host, i.version, i.api_url, i.started_at,
            self._venues(),
        )  # fmt: skip

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="heartbeat")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_secs)
            try:
                await self.beat()
            except Exception as exc:  # the database is down: beat again next time
                log.warning("heartbeat_failed error=%s: %s", type(exc).__name__, exc)

    async def stop(self) -> None:
        """Stop beating and mark the row stopped (a clean stop: nobody restarts us)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await self.pool.execute(_STOPPED, self.identity.instance_id)
        except Exception as exc:
            log.warning("heartbeat_stop_not_recorded error=%s", exc)
        await self.record_event("daemon_stopped")

    async def record_event(
        self, kind: str, *, venue: str | None = None, detail: dict[str, Any] | None = None
    ) -> int | None:
        """:func:`record_daemon_event` for this daemon."""
        return await record_daemon_event(self.pool, self.identity, kind, venue=venue, detail=detail)

    def as_dict(self) -> dict[str, Any]:
        """For ``/api/health``: the identity, the last beat and whether we own the book."""
        return {
            **self.identity.as_dict(),
            "last_beat": None if self.last_beat is None else self.last_beat.isoformat(),
            "owns_database": not self.ownership.lost_to_another,
        }


__all__ = [
    "OWNERSHIP_LOCK_KEY",
    "DaemonAlreadyRunning",
    "DaemonIdentity",
    "DatabaseOwnership",
    "Heartbeat",
    "record_daemon_event",
]
