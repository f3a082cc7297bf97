"""Fixtures for the live daemon's tests: a real PostgreSQL, one fresh database per test.

* ``pg_server`` (session): a PostgreSQL 16 from pgserver in a temporary directory, deleted
  at the end. Its ``uri(dbname)`` gives a unix-socket URI.
* ``pg_data_root``: an empty directory in which a test may start a PostgreSQL of its own
  (``EmbeddedPostgres(pg_data_root / "pg")``), removed afterwards.

  Why not ``tmp_path``: run as root, pgserver runs PostgreSQL as a separate ``pgserver``
  user and opens up the data directory's parents for it, and every pytest session that
  starts resets ``/tmp/pytest-of-root`` to mode 0700 — so a server under ``tmp_path``
  fails to start whenever another pytest starts at the same moment. These directories
  live directly in the system temp dir instead.
* ``oms_template`` (session): a database migrated once; per-test databases are copied
  from it (``CREATE DATABASE ... TEMPLATE``), which is much faster than migrating each.
* ``database_url``: a fresh *empty* database (no schema) for this test — for migration
  tests. ``oms_database_url``: a fresh *migrated* database — give it to a daemon you start
  as a subprocess (``DATABASE_URL``). Both are dropped ``WITH (FORCE)`` afterwards, so a
  killed daemon's leftover connections do not matter.
* ``run`` / ``event_loop``: pytest-asyncio is not installed. Each test gets its own event
  loop, and ``run(coro)`` runs a coroutine to completion on it. asyncpg pools belong to
  the loop that made them, so fixtures and the test share this loop::

      def test_something(oms, run):
          async def body():
              record, created = await oms.record(request)
              assert created
          run(body())

* ``ticks`` (session): a small demo day in a tick store of its own, what the daemon's paper
  venue replays in the end-to-end tests (read only, so published once for them all; the
  venue tests under ``venues/`` have their own).
* ``oms_pool``: an asyncpg pool (:func:`live_daemon.oms.create_pool`) on a fresh migrated
  database; ``oms``: a ``UnifiedOrderManager`` on it with a ``PositionStore`` attached;
  ``positions``: that ``PositionStore``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

from live_daemon.oms import (
    EmbeddedPostgres,
    PositionStore,
    UnifiedOrderManager,
    create_pool,
    migrate,
)
from tests.live_daemon.daemon_process import publish_ticks

T = TypeVar("T")
Runner = Callable[[Awaitable[T]], T]


async def _admin(server_uri: str, *statements: str) -> None:
    conn = await asyncpg.connect(server_uri)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _pg_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="oms-test-pg-"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    """A real PostgreSQL server for the whole test session (deleted afterwards)."""
    root = _pg_root()
    server = EmbeddedPostgres(root / "data", cleanup_mode="delete")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_data_root() -> Iterator[Path]:
    """An empty directory for a test's own PostgreSQL data dirs (see the module doc)."""
    root = _pg_root()
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def ticks() -> Iterator[Path]:
    """The demo day the paper venue replays in end-to-end tests (see the module doc)."""
    root = Path(tempfile.mkdtemp(prefix="daemon-ticks-"))
    try:
        yield publish_ticks(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def oms_template(pg_server: EmbeddedPostgres) -> str:
    """The name of a database holding the migrated OMS schema, to copy per test."""
    name = f"oms_template_{uuid.uuid4().hex[:12]}"

    async def build() -> None:
        await _admin(pg_server.uri(), f'CREATE DATABASE "{name}"')
        pool = await create_pool(pg_server.uri(name), min_size=1, max_size=1)
        try:
            await migrate(pool)
        finally:
            await pool.close()

    asyncio.run(build())
    return name


@pytest.fixture
def event_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture
def run(event_loop: asyncio.AbstractEventLoop) -> Runner[Any]:
    """``run(coro)``: run a coroutine to completion on this test's event loop."""
    return event_loop.run_until_complete


def _fresh_database(
    pg_server: EmbeddedPostgres, run: Runner[Any], template: str | None
) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex}"
    suffix = f' TEMPLATE "{template}"' if template else ""
    run(_admin(pg_server.uri(), f'CREATE DATABASE "{name}"{suffix}'))
    try:
        yield pg_server.uri(name)
    finally:
        run(_admin(pg_server.uri(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(pg_server: EmbeddedPostgres, run: Runner[Any]) -> Iterator[str]:
    """A fresh, empty database (no OMS schema) for this test."""
    yield from _fresh_database(pg_server, run, None)


@pytest.fixture
def oms_database_url(
    pg_server: EmbeddedPostgres, oms_template: str, run: Runner[Any]
) -> Iterator[str]:
    """A fresh database with the OMS schema migrated, for this test."""
    yield from _fresh_database(pg_server, run, oms_template)


@pytest.fixture
def oms_pool(oms_database_url: str, run: Runner[Any]) -> Iterator[asyncpg.Pool]:
    """An OMS pool (``create_pool``) on a fresh migrated database."""
    pool = run(create_pool(oms_database_url, min_size=1, max_size=10))
    try:
        yield pool
    finally:
        run(pool.close())


@pytest.fixture
def positions(oms_pool: asyncpg.Pool) -> PositionStore:
    return PositionStore(oms_pool)


@pytest.fixture
def oms(oms_pool: asyncpg.Pool, positions: PositionStore) -> UnifiedOrderManager:
    """A ``UnifiedOrderManager`` whose fills also update ``positions``."""
    return UnifiedOrderManager(oms_pool, positions=positions)
