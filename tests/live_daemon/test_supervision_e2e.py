"""What a new user found with SIGKILLs and outages, end to end: real ``exec-live``
processes, the real paper venue process (``exec-venue paper``, with its own record), real
PostgreSQL, and the Dagster reconciliation assets and sensor.

* fills the venue makes while the daemon is dead are applied once after its restart,
  positions follow, and reconciliation then finds nothing;
* a killed venue: the daemon says so, rejects orders for it with a clear reason,
  reconnects when it is back, and the reconnection triggers a reconciliation run;
* a second daemon on the same database is refused and touches nothing of the first's;
* PostgreSQL down while fills arrive: order endpoints answer 503, no fill is lost, and the
  daemon carries on when the database is back, without a restart.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import dagster as dg
import httpx
import pytest

from execution_core.database import EmbeddedPostgres
from live_daemon.oms import create_pool, migrate
from live_daemon.venues.journal import ReceivedOrder, VenueJournal
from pipelines.defs.live.resources import LiveDaemonResource
from pipelines.defs.live.sensors import live_reconciliation_sensor
from tests.live_daemon.daemon_process import (
    EXEC_VENUE,
    TOKEN,
    VENV_BIN,
    Daemon,
    query,
)
from tests.live_daemon.pg_outage import start_again, stop_immediately
from tests.pipelines.conftest import stores_for
from tests.pipelines.live.test_live_daemon_e2e import reconcile

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 300  # a busy 2-core machine needs minutes to start the venue
FINAL = ("FILLED", "CANCELED", "REJECTED")


def order(operation_id: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "operation_id": operation_id,
        "instrument_key": "ANY:PERPETUAL:BTC-USDT@LIN",
        "side": "BUY",
        "quantity": "0.02",
        "price": None,
        "order_type": "MARKET",
        "strategy_id": "sup",
        "exec_algorithm": "NORMAL",
        "exec_algorithm_params": {},
    }
    return body | overrides


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, OSError, asyncpg.PostgresError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.3)
    raise AssertionError(f"gave up after {timeout}s waiting for {what}; last seen: {last!r}")


def all_final(client: httpx.Client, operation_ids: list[str]) -> list[dict[str, Any]] | None:
    orders = [client.get(f"/api/orders/{op}").json() for op in operation_ids]
    return orders if all(o.get("status") in FINAL for o in orders) else None


def venue_fills(venue_dir: Path) -> dict[str, set[str]]:
    """order id → fill ids, read from the venue's own record."""
    journal = VenueJournal(venue_dir / "record.sqlite")
    try:
        fills: dict[str, set[str]] = {}
        for _, fill in journal.venue_state().fills:
            fills.setdefault(fill.order_id, set()).add(fill.fill_id)
        return fills
    finally:
        journal.close()


def venue_statuses(venue_dir: Path) -> dict[str, str]:
    """order id → status, read from the venue's own record."""
    journal = VenueJournal(venue_dir / "record.sqlite")
    try:
        return {order.order_id: order.status for order in journal.venue_state().orders}
    finally:
        journal.close()


def oms_fills(url: str) -> dict[str, list[str]]:
    fills: dict[str, list[str]] = {}
    for row in query(url, "SELECT order_id, fill_id FROM fills ORDER BY fill_id"):
        fills.setdefault(row["order_id"], []).append(row["fill_id"])
    return fills


def positions_equal_signed_fills(url: str) -> None:
    held = {
        (r["strategy_id"], r["instrument_key"]): r["quantity"]
        for r in query(url, "SELECT strategy_id, instrument_key, quantity FROM unified_positions")
    }
    summed = {
        (r["strategy_id"], r["venue_key"]): r["quantity"]
        for r in query(
            url,
            "SELECT o.strategy_id, f.venue_key, sum(CASE WHEN o.side = 'BUY' THEN f.quantity "
            "ELSE -f.quantity END) AS quantity FROM fills f JOIN unified_orders o USING "
            "(order_id) GROUP BY o.strategy_id, f.venue_key",
        )
    }
    assert {k: v for k, v in held.items() if v != 0} == {k: v for k, v in summed.items() if v}


def test_fills_made_while_the_daemon_is_dead_are_applied_once_after_its_restart(
    oms_database_url: str, ticks: Path, tmp_path: Path
) -> None:
    url = oms_database_url
    daemon = Daemon(url, ticks, tmp_path, EXEC_DAEMON_REPLAY_SPEED="1").start(START_TIMEOUT_S)
    restarted: Daemon | None = None
    try:
        operation_ids = [f"twap-{i}" for i in range(4)]
        with daemon.client() as client:
            # ETH first, so that the restarted daemon holds positions in two instruments
            eth = client.post(
                "/api/orders",
                json=order("eth-0", instrument_key="ANY:PERPETUAL:ETH-USDT@LIN", quantity="0.5"),
            )
            assert eth.status_code == 201, eth.text
            wait_for("the ETH order to be final", lambda: all_final(client, ["eth-0"]))
            for i, operation_id in enumerate(operation_ids):
                params = {"duration_sec": 8, "max_slices": 8}
                response = client.post(
                    "/api/orders",
                    json=order(
                        operation_id,
                        side="BUY" if i % 2 else "SELL",
                        exec_algorithm="TWAP",
                        exec_algorithm_params=params,
                    ),
                )
                assert response.status_code == 201, response.text
        ids = {
            r["operation_id"]: r["order_id"]
            for r in query(url, "SELECT operation_id, order_id FROM unified_orders")
        }
        # the kill comes once the venue has every TWAP (an order still in the daemon's
        # socket buffer dies with it: the crash test in test_daemon_e2e covers that case)
        wait_for(
            "the venue to have received every TWAP",
            lambda: all(ids[op] in venue_statuses(daemon.venue_dir) for op in operation_ids),
        )
        daemon.kill()
        # the venue keeps working the TWAPs while the daemon is dead; wait until its record
        # says each of them is over
        wait_for(
            "the venue to finish every TWAP while the daemon is down",
            lambda: all(
                venue_statuses(daemon.venue_dir).get(ids[op]) in FINAL for op in operation_ids
            ),
        )
        at_kill, in_oms_at_kill = venue_fills(daemon.venue_dir), oms_fills(url)
        missed = {
            fill_id
            for op in operation_ids
            for fill_id in at_kill[ids[op]] - set(in_oms_at_kill.get(ids[op], []))
        }
        assert missed, "no fill happened while the daemon was down: the test proves nothing"

        restarted = Daemon(url, ticks, tmp_path, venue_port=daemon.venue_port)
        restarted.start(START_TIMEOUT_S)
        with restarted.client() as client:
            final = wait_for("every order final", lambda: all_final(client, operation_ids))
            statuses = venue_statuses(daemon.venue_dir)
            assert [o["status"] for o in final] == [statuses[ids[op]] for op in operation_ids]
            # a daemon restarted on BTC and ETH positions prices both at once
            btc = client.post("/api/orders", json=order("after-restart"))
            assert btc.json()["status"] != "REJECTED", btc.json()
        at_venue = venue_fills(daemon.venue_dir)
        in_oms = oms_fills(url)
        for op in operation_ids:
            assert sorted(in_oms[ids[op]]) == sorted(at_venue[ids[op]]), op  # each once
        assert missed <= {f for fills in in_oms.values() for f in fills}  # applied
        not_found = query(
            url,
            "SELECT order_id FROM unified_orders WHERE rejection_reason "
            "LIKE 'not found at the venue%'",
        )
        assert not_found == []
        positions_equal_signed_fills(url)

        live = LiveDaemonResource(api_url=restarted.url, token=TOKEN, database_url=url)
        stores = stores_for(tmp_path / "stores")
        _, tables = reconcile(live, stores)
        assert {name: t.height for name, t in tables.items()} == {
            "orders": 0,
            "fills": 0,
            "positions": 0,
        }
        # an order the venue has and the OMS never saw (written into the running venue's
        # own record, as a fat-fingered order from elsewhere would be)
        journal = VenueJournal(daemon.venue_dir / "record.sqlite")
        try:
            with journal.transaction():
                journal.add_order(
                    ReceivedOrder("ORD-FROM-ELSEWHERE", "BYBIT:PERPETUAL:BTC-USDT@LIN", "BUY",
                                  Decimal("0.01"), "MARKET", None, "NORMAL", {}, time.time_ns())
                )  # fmt: skip
        finally:
            journal.close()
        _, tables = reconcile(live, stores)
        assert tables["orders"].select("break_type", "order_id").rows() == [
            ("missing_in_oms", "ORD-FROM-ELSEWHERE")
        ]
    finally:
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()
        if restarted is not None and restarted.process is not None:
            restarted.stop()
        daemon.stop_venue()


def start_venue_by_hand(daemon: Daemon, ticks: Path) -> subprocess.Popen[bytes]:
    """``exec-venue paper`` on the daemon's venue port and directory, as an operator would."""
    return subprocess.Popen(
        [str(EXEC_VENUE), "paper", "--port", str(daemon.venue_port), "--dir",
         str(daemon.venue_dir), "--ticks-store-url", ticks.as_uri(), "--speed", "10"]
    )  # fmt: skip


def test_a_killed_venue_is_reported_rejected_and_reconciled_when_back(
    oms_database_url: str, ticks: Path, tmp_path: Path
) -> None:
    url = oms_database_url
    daemon = Daemon(url, ticks, tmp_path, EXEC_DAEMON_VENUE_AUTOSTART="false")
    venue: subprocess.Popen[bytes] | None = None
    try:
        venue = start_venue_by_hand(daemon, ticks)
        daemon.start(START_TIMEOUT_S)
        with daemon.client() as client:
            assert client.post("/api/orders", json=order("before")).json()["status"] != "REJECTED"
            daemon.kill_venue()
            down = wait_for(
                "the daemon to report its venue down",
                lambda: (h := client.get("/api/health").json())["status"] == "degraded" and h,
            )
            assert down["venues"]["paper"]["connected"] is False
            rejected = client.post("/api/orders", json=order("while-down")).json()
            assert rejected["status"] == "REJECTED"
            assert rejected["rejection_reason"].startswith("VENUE_DOWN: not connected to ")
            direct = client.post(
                "/api/orders",
                json=order("direct-while-down", instrument_key="OKX:PERPETUAL:BTC-USDT@LIN"),
            ).json()
            assert "OKX:PERPETUAL:BTC-USDT@LIN" in direct["rejection_reason"]

            venue = start_venue_by_hand(daemon, ticks)
            wait_for(
                "the daemon to reconnect to its venue",
                lambda: client.get("/api/health").json()["status"] == "ok",
                timeout=START_TIMEOUT_S,
            )
            after = client.post("/api/orders", json=order("after"))
            assert after.json()["status"] != "REJECTED", after.json()
        events = wait_for(
            "the reconnection in the daemon's event log",
            lambda: query(
                url, "SELECT event_id, kind FROM daemon_events WHERE kind = 'venue_connected'"
            ),
        )
        live = LiveDaemonResource(api_url=daemon.url, token=TOKEN, database_url=url)
        with dg.DagsterInstance.ephemeral() as instance:
            cursor = str(events[0]["event_id"] - 1)  # as if the daemon's start had been seen
            context = dg.build_sensor_context(
                instance=instance, cursor=cursor, resources={"live_daemon": live}
            )
            result = live_reconciliation_sensor(context)
        assert isinstance(result, dg.SensorResult)
        requested = [r.run_key for r in result.run_requests or []]
        assert f"reconcile-after-event-{events[0]['event_id']}" in requested
    finally:
        daemon.stop()
        if venue is not None and venue.poll() is None:
            venue.terminate()
            venue.wait(timeout=60)


def test_a_second_daemon_is_refused_and_touches_nothing(
    oms_database_url: str, ticks: Path, tmp_path: Path
) -> None:
    url = oms_database_url
    first = Daemon(url, ticks, tmp_path, EXEC_DAEMON_REPLAY_SPEED="1").start(START_TIMEOUT_S)
    try:
        with first.client() as client:
            twap = {"duration_sec": 10, "max_slices": 5}
            response = client.post(
                "/api/orders",
                json=order("working", exec_algorithm="TWAP", exec_algorithm_params=twap),
            )
            assert response.status_code == 201
            events_before = query(url, "SELECT count(*) AS n FROM order_events")[0]["n"]
            second = Daemon(url, ticks, tmp_path / "second", venue_port=first.venue_port)
            (tmp_path / "second").mkdir()
            result = subprocess.run(
                [str(VENV_BIN / "exec-live")],
                env=second.env,
                cwd=second.workdir,
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT_S,
            )
            output = result.stdout + result.stderr
            assert result.returncode != 0, output
            assert "another daemon owns this database" in output, output
            first_instance = client.get("/api/health").json()["instance"]["instance_id"]
            assert first_instance in output  # it names the owner
            assert not query(url, "SELECT 1 FROM order_events WHERE kind = 'recovered'")
            working = client.get("/api/orders/working").json()
            assert working["status"] in ("SUBMITTED", "PARTIALLY_FILLED", "FILLED"), working
            assert query(url, "SELECT count(*) AS n FROM order_events")[0]["n"] >= events_before
            final = wait_for(
                "the first daemon's order to fill", lambda: all_final(client, ["working"])
            )
            assert final[0]["status"] == "FILLED"
            assert client.get("/api/health").json()["instance"]["instance_id"] == first_instance
    finally:
        first.stop()
        first.stop_venue()


@pytest.fixture
def own_postgres(pg_data_root: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(pg_data_root / "pg", cleanup_mode="delete")
    server.start()

    async def prepare() -> None:
        pool = await create_pool(server.uri(), min_size=1, max_size=1)
        try:
            await migrate(pool)
        finally:
            await pool.close()

    asyncio.run(prepare())
    try:
        yield server
    finally:
        start_again(server)
        server.stop()


def test_postgres_down_while_fills_arrive_loses_nothing_and_answers_503(
    own_postgres: EmbeddedPostgres, ticks: Path, tmp_path: Path
) -> None:
    url = own_postgres.uri()
    daemon = Daemon(url, ticks, tmp_path, EXEC_DAEMON_REPLAY_SPEED="1").start(START_TIMEOUT_S)
    try:
        operation_ids = [f"during-outage-{i}" for i in range(3)]
        with daemon.client() as client:
            for operation_id in operation_ids:
                twap = {"duration_sec": 6, "max_slices": 6}
                response = client.post(
                    "/api/orders",
                    json=order(operation_id, exec_algorithm="TWAP", exec_algorithm_params=twap),
                )
                assert response.status_code == 201, response.text
            stop_immediately(own_postgres)
            outage = client.post("/api/orders", json=order("in-the-outage"))
            assert outage.status_code == 503, outage.text
            assert "unreachable" in outage.json()["detail"]
            assert client.get("/api/orders/during-outage-0").status_code == 503
            assert client.get("/api/health").status_code == 503
            time.sleep(8)  # the TWAP slices fill at the venue while the database is down
            start_again(own_postgres)
            final = wait_for(
                "every order final once the database is back",
                lambda: all_final(client, operation_ids),
                timeout=START_TIMEOUT_S,
            )
            assert all(o["status"] in ("FILLED", "CANCELED") for o in final), final
            back = wait_for(
                "an order accepted again, without a restart",
                lambda: (
                    (r := client.post("/api/orders", json=order("after-outage"))).status_code == 201
                    and r
                ),
            )
            assert back.json()["status"] != "REJECTED", back.json()
        ids = {
            r["operation_id"]: r["order_id"]
            for r in query(url, "SELECT operation_id, order_id FROM unified_orders")
        }
        assert "in-the-outage" not in ids  # nothing half-recorded
        at_venue = venue_fills(daemon.venue_dir)
        in_oms = oms_fills(url)
        for op in operation_ids:
            assert sorted(in_oms[ids[op]]) == sorted(at_venue[ids[op]]), op
        statuses = venue_statuses(daemon.venue_dir)
        assert [o["status"] for o in final] == [statuses[ids[op]] for op in operation_ids]
        assert sum(len(in_oms[ids[op]]) for op in operation_ids) >= 3  # fills did arrive
        positions_equal_signed_fills(url)
    finally:
        daemon.stop()
        daemon.stop_venue()
