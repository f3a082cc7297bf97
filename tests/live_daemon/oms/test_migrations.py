"""Schema migrations, database resolution and durability settings, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from execution_core.errors import ConfigError
from live_daemon.oms import EmbeddedPostgres, check_durability, create_pool, migrate
from live_daemon.oms import migrations as migrations_module
from live_daemon.oms.database import resolve_database_url
from live_daemon.oms.migrations import Migration, MigrationError, load_migrations

REPO_ROOT = Path(__file__).resolve().parents[3]
OMS_TABLES = {"unified_orders", "order_events", "fills", "unified_positions"}


async def _tables(pool: asyncpg.Pool) -> set[str]:
    rows = await pool.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


def test_packaged_migrations_are_numbered_from_0001() -> None:
    migrations = load_migrations()
    assert migrations[0].label == "0001_initial"
    versions = [m.version for m in migrations]
    assert versions == list(range(1, len(migrations) + 1))
    assert "CREATE TABLE unified_orders" in migrations[0].sql


def test_migrate_applies_once_and_is_idempotent(database_url, run) -> None:
    async def body() -> None:
        pool = await create_pool(database_url, min_size=1, max_size=2)
        try:
            first = await migrate(pool)
            assert first == [m.label for m in load_migrations()]
            assert await migrate(pool) == []
            assert await migrate(pool) == []
            assert await _tables(pool) >= OMS_TABLES | {"schema_migrations"}
            rows = await pool.fetch("SELECT version, name, applied_at FROM schema_migrations")
            assert [(r["version"], r["name"]) for r in rows] == [(1, "initial")] + [
                (m.version, m.name) for m in load_migrations()[1:]
            ]
            assert all(r["applied_at"] is not None for r in rows)
        finally:
            await pool.close()

    run(body())


def test_concurrent_migrations_do_not_race(database_url, run) -> None:
    """Several daemons starting together: each migration is applied exactly once."""

    async def one_daemon() -> list[str]:
        pool = await create_pool(database_url, min_size=1, max_size=1)
        try:
            return await migrate(pool)
        finally:
            await pool.close()

    async def body() -> None:
        results = await asyncio.gather(*(one_daemon() for _ in range(6)))
        applied = [label for result in results for label in result]
        assert sorted(applied) == [m.label for m in load_migrations()]
        conn = await asyncpg.connect(database_url)
        try:
            count = await conn.fetchval("SELECT count(*) FROM schema_migrations")
            assert count == len(load_migrations())
        finally:
            await conn.close()

    run(body())


def test_a_failing_migration_leaves_no_trace(database_url, run, monkeypatch) -> None:
    good = load_migrations()
    bad = Migration(
        version=len(good) + 1,
        name="broken",
        sql="CREATE TABLE half_done (x int); SELECT * FROM no_such_table;",
    )
    monkeypatch.setattr(migrations_module, "load_migrations", lambda: [*good, bad])

    async def body() -> None:
        pool = await create_pool(database_url, min_size=1, max_size=1)
        try:
            with pytest.raises(MigrationError, match=r"broken.*no_such_table"):
                await migrate(pool)
            tables = await _tables(pool)
            assert tables >= OMS_TABLES  # the good ones were applied and committed
            assert "half_done" not in tables  # the bad one rolled back entirely
            versions = await pool.fetch("SELECT version FROM schema_migrations")
            assert {r["version"] for r in versions} == {m.version for m in good}
        finally:
            await pool.close()

    run(body())


def test_unknown_applied_versions_are_reported_not_touched(
    oms_pool, run, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        await oms_pool.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')"
        )
        with caplog.at_level(logging.WARNING, logger=migrations_module.__name__):
            assert await migrate(oms_pool) == []
        assert "9999_from_the_future" in caplog.text

    run(body())


def test_sessions_commit_synchronously_even_if_the_database_default_is_off(
    database_url, run
) -> None:
    async def body() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            dbname = await conn.fetchval("SELECT current_database()")
            await conn.execute(f'ALTER DATABASE "{dbname}" SET synchronous_commit = off')
        finally:
            await conn.close()
        pool = await create_pool(database_url, min_size=2, max_size=2)
        try:
            settings = await check_durability(pool)
            assert settings["synchronous_commit"] == "on"
            assert settings["fsync"] == "on"
            async with pool.acquire() as c:
                assert await c.fetchval("SHOW synchronous_commit") == "on"
        finally:
            await pool.close()

    run(body())


def test_resolve_database_url_prefers_database_url(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://oms:secret@db.internal:5432/oms"}
    url, server = resolve_database_url(env, data_dir=tmp_path / "unused")
    assert (url, server) == (env["DATABASE_URL"], None)
    assert not (tmp_path / "unused").exists()
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        resolve_database_url({"DATABASE_URL": "mysql://x@y/z"})


def test_resolve_database_url_starts_and_reuses_embedded_postgres(pg_data_root: Path, run) -> None:
    """Without DATABASE_URL: an embedded server; a server already running there (here one
    left behind by another process) is reused, not restarted."""
    data_dir = pg_data_root / "runtime" / "pg"  # parents are created
    script = textwrap.dedent(
        f"""
        from live_daemon.oms import EmbeddedPostgres
        print(EmbeddedPostgres({str(data_dir)!r}, cleanup_mode=None).start())
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    started = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    first_uri = started.stdout.strip().splitlines()[-1]
    pid_before = (data_dir / "postmaster.pid").read_text().split()[0]

    url, server = resolve_database_url({}, data_dir=data_dir)
    assert isinstance(server, EmbeddedPostgres)
    try:
        assert url == first_uri
        assert (data_dir / "postmaster.pid").read_text().split()[0] == pid_before

        async def query() -> int:
            conn = await asyncpg.connect(url)
            try:
                return int(await conn.fetchval("SELECT 41 + 1"))
            finally:
                await conn.close()

        assert run(query()) == 42
    finally:
        server.stop()  # the last handle: stops the server
    assert not (data_dir / "postmaster.pid").exists()


def test_embedded_default_data_dir_is_runtime_pg_under_cwd(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    server = EmbeddedPostgres()
    assert server.data_dir == (tmp_path / "runtime" / "pg").resolve()
    assert not server.running
    with pytest.raises(RuntimeError, match="not started"):
        server.uri()


def test_filled_notional_is_backfilled_from_the_fills(database_url, run, monkeypatch) -> None:
    """An OMS created at version 1 with filled orders gets each order's exact notional."""
    every = load_migrations()
    monkeypatch.setattr(migrations_module, "load_migrations", lambda: every[:1])

    async def body() -> list[tuple[str, object]]:
        pool = await create_pool(database_url, min_size=1, max_size=1)
        try:
            await migrate(pool)  # version 1 only
            for order_id in ("ORD-FILLED", "ORD-OPEN"):
                await pool.execute(
                    "INSERT INTO unified_orders (order_id, operation_id, strategy_id, "
                    "instrument_key, side, order_type, quantity, payload_hash, status) "
                    "VALUES ($1, $1, 's', 'BYBIT:PERPETUAL:BTC-USDT@LIN', 'BUY', 'MARKET', 1, "
                    "'h', 'SUBMITTED')",
                    order_id,
                )
            for fill_id, qty, price in (("F1", "0.25", "100.1"), ("F2", "0.75", "99.7")):
                await pool.execute(
                    "INSERT INTO fills (venue_key, fill_id, order_id, quantity, price, fee, ts) "
                    "VALUES ('BYBIT:PERPETUAL:BTC-USDT@LIN', $1, 'ORD-FILLED', $2::numeric, "
                    "$3::numeric, 0, now())",
                    fill_id,
                    qty,
                    price,
                )
            monkeypatch.setattr(migrations_module, "load_migrations", lambda: every)
            await migrate(pool)
            rows = await pool.fetch(
                "SELECT order_id, filled_notional FROM unified_orders ORDER BY order_id"
            )
            return [(r["order_id"], r["filled_notional"]) for r in rows]
        finally:
            await pool.close()

    assert run(body()) == [("ORD-FILLED", Decimal("99.800")), ("ORD-OPEN", Decimal(0))]
