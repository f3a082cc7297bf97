"""What the daemon writes for its supervisors, read from the OMS database (migration 0003):
its newest ``daemon_heartbeat`` row and its ``daemon_events`` log.

Ages are computed with the database's clock, the clock the daemon's ``last_beat`` is
written with. A database without these tables (no daemon ever ran on it) reads as no
heartbeat and no events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import asyncpg

from pipelines.defs.live.database import with_connection

_NEWEST_HEARTBEAT = """
SELECT instance_id, pid, host, version, api_url, started_at, last_beat, stopped_at, venues,
       extract(epoch FROM now() - last_beat)::float8 AS age_s,
       extract(epoch FROM coalesce(stopped_at, now()) - started_at)::float8 AS uptime_s
FROM daemon_heartbeat
ORDER BY last_beat DESC, started_at DESC
LIMIT 1
"""
_EVENTS_AFTER = """
SELECT event_id, ts, instance_id, kind, venue
FROM daemon_events
WHERE event_id > $1 AND kind = ANY($2::text[])
ORDER BY event_id
LIMIT $3
"""
_LAST_EVENT = "SELECT coalesce(max(event_id), 0) FROM daemon_events"
_NEWEST_OF_KINDS = """
SELECT event_id, ts, instance_id, kind, venue
FROM daemon_events
WHERE kind = ANY($1::text[])
ORDER BY event_id DESC
LIMIT 1
"""


@dataclass(frozen=True)
class Heartbeat:
    """The newest ``daemon_heartbeat`` row."""

    instance_id: str
    pid: int
    host: str
    version: str
    api_url: str | None
    started_at: dt.datetime
    last_beat: dt.datetime
    stopped_at: dt.datetime | None
    venues: dict[str, Any]
    age_s: float  # now() - last_beat, on the database's clock
    uptime_s: float  # until now, or until the clean stop

    @property
    def key(self) -> str:
        """Identifies this beat: the same instance that has not beaten since has the same key."""
        return f"{self.instance_id}-{self.last_beat.astimezone(dt.UTC):%Y%m%dT%H%M%S.%fZ}"


@dataclass(frozen=True)
class DaemonEvent:
    event_id: int
    ts: dt.datetime
    instance_id: str
    kind: str
    venue: str | None


def newest_heartbeat(url: str) -> Heartbeat | None:
    async def body(conn: asyncpg.Connection) -> Heartbeat | None:
        try:
            row = await conn.fetchrow(_NEWEST_HEARTBEAT)
        except asyncpg.UndefinedTableError:
            return None
        return None if row is None else Heartbeat(**dict(row))

    return with_connection(url, "the daemon heartbeat", body)


def events_after(url: str, event_id: int, kinds: list[str], limit: int) -> list[DaemonEvent]:
    """At most ``limit`` events of ``kinds`` with ids above ``event_id``, oldest first."""

    async def body(conn: asyncpg.Connection) -> list[DaemonEvent]:
        try:
            rows = await conn.fetch(_EVENTS_AFTER, event_id, kinds, limit)
        except asyncpg.UndefinedTableError:
            return []
        return [DaemonEvent(**dict(row)) for row in rows]

    return with_connection(url, "the daemon events", body)


def last_event_id(url: str) -> int:
    """The newest event id (0 when there is none)."""

    async def body(conn: asyncpg.Connection) -> int:
        try:
            return int(await conn.fetchval(_LAST_EVENT))
        except asyncpg.UndefinedTableError:
            return 0

    return with_connection(url, "the daemon events", body)


def newest_event(url: str, kinds: list[str]) -> DaemonEvent | None:
    """The newest event of ``kinds``, if any."""

    async def body(conn: asyncpg.Connection) -> DaemonEvent | None:
        try:
            row = await conn.fetchrow(_NEWEST_OF_KINDS, kinds)
        except asyncpg.UndefinedTableError:
            return None
        return None if row is None else DaemonEvent(**dict(row))

    return with_connection(url, "the daemon events", body)
