"""One daemon per database, the heartbeat row and the daemon event log, on a real PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from live_daemon.supervision import (
    DaemonAlreadyRunning,
    DaemonIdentity,
    DatabaseOwnership,
    Heartbeat,
)


def _heartbeat(pool: asyncpg.Pool, ownership: DatabaseOwnership) -> Heartbeat:
    identity = DaemonIdentity(version="9.9.9", api_url="http://127.0.0.1:1")
    return Heartbeat(
        pool, identity, ownership, venues=lambda: {"paper": {"connected": True}}, interval_secs=60
    )


def test_a_second_owner_is_refused_and_named(oms_database_url: str, oms_pool, run) -> None:
    async def body() -> None:
        first = DatabaseOwnership(oms_database_url)
        await first.acquire()
        heartbeat = _heartbeat(oms_pool, first)
        await heartbeat.beat()
        second = DatabaseOwnership(oms_database_url)
        with pytest.raises(DaemonAlreadyRunning) as refused:
            await second.acquire()
        message = str(refused.value)
        assert "another daemon owns this database" in message
        assert heartbeat.identity.instance_id in message and "pid" in message
        await first.release()
        await second.acquire()  # once the first is gone, the lock is free
        await second.release()

    run(body())


def test_heartbeat_row_beats_and_a_clean_stop_is_marked(oms_database_url, oms_pool, run) -> None:
    async def body() -> None:
        ownership = DatabaseOwnership(oms_database_url)
        await ownership.acquire()
        heartbeat = _heartbeat(oms_pool, ownership)
        await heartbeat.beat()
        first = await oms_pool.fetchrow("SELECT * FROM daemon_heartbeat")
        assert first["instance_id"] == heartbeat.identity.instance_id
        assert first["version"] == "9.9.9" and first["stopped_at"] is None
        assert first["venues"] == {"paper": {"connected": True}}
        await heartbeat.beat()
        second = await oms_pool.fetchrow("SELECT * FROM daemon_heartbeat")
        assert second["last_beat"] >= first["last_beat"]
        assert await oms_pool.fetchval("SELECT count(*) FROM daemon_heartbeat") == 1
        await heartbeat.record_event("daemon_started")
        await heartbeat.stop()
        stopped = await oms_pool.fetchrow("SELECT * FROM daemon_heartbeat")
        assert stopped["stopped_at"] is not None
        kinds = [r["kind"] for r in await oms_pool.fetch("SELECT kind FROM daemon_events")]
        assert kinds == ["daemon_started", "daemon_stopped"]
        await ownership.release()

    run(body())


def test_a_lost_lock_is_taken_again_unless_another_daemon_took_it(
    oms_database_url: str, oms_pool, run
) -> None:
    async def terminate_lock_session() -> None:
        await oms_pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'exec-live'"
        )

    async def body() -> None:
        ownership = DatabaseOwnership(oms_database_url)
        await ownership.acquire()
        heartbeat = _heartbeat(oms_pool, ownership)
        await terminate_lock_session()  # e.g. the database restarted under the daemon
        await heartbeat.beat()  # takes the lock again
        assert ownership.held and not ownership.lost_to_another
        await terminate_lock_session()
        intruder = DatabaseOwnership(oms_database_url)
        for _ in range(100):  # the terminated session's lock goes when its backend exits
            try:
                await intruder.acquire()
                break
            except DaemonAlreadyRunning:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the terminated session never released its lock")
        await heartbeat.beat()
        assert ownership.lost_to_another  # this daemon must stop taking orders
        assert heartbeat.as_dict()["owns_database"] is False
        await intruder.release()

    run(body())
