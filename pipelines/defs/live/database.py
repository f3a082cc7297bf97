"""Dagster's read-only access to the OMS database: one short connection per call.

Dagster code is synchronous; asyncpg (the OMS's own driver) runs under ``asyncio.run``.
Every failure is an :class:`OmsDatabaseError` naming the database (without credentials)
and what was being read.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit

import asyncpg

from execution_core.errors import ExecutionServicesError

T = TypeVar("T")
CONNECT_TIMEOUT_SECS = 30.0


class OmsDatabaseError(ExecutionServicesError):
    """The OMS database could not be reached or read."""


def describe_url(url: str) -> str:
    """The URL without user and password: ``postgresql://db.host:5432/oms``."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{host}{parts.path}{query}"


async def _json_codecs(conn: asyncpg.Connection) -> None:
    for typename in ("jsonb", "json"):
        await conn.set_type_codec(
            typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


def with_connection(url: str, what: str, body: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """``body(connection)`` on a fresh read-only connection (session time zone UTC)."""

    async def run() -> T:
        conn = await asyncpg.connect(
            url,
            timeout=CONNECT_TIMEOUT_SECS,
            server_settings={
                "application_name": "execution-services-dagster",
                "timezone": "UTC",
                "default_transaction_read_only": "on",
            },
        )
        try:
            await _json_codecs(conn)
            return await body(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(run())
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
        raise OmsDatabaseError(
            f"reading {what} from the OMS database {describe_url(url)} failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
