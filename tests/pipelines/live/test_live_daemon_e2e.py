"""The live group against the real daemon (``exec-live``, real PostgreSQL, the paper venue):

* killed with SIGKILL, the daemon's heartbeat goes stale; the sensor requests one restart,
  and the restart job (the embedded launcher: ``exec-live`` detached) brings it back
  healthy as a new instance, which the sensor then observes running;
* reconciliation finds no break on a book the daemon traded, then exactly the breaks
  injected into the OMS behind the daemon's back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psutil
import pytest

from execution_core.stores import artifacts
from pipelines.defs.live.assets import live_reconciliation, reconciliation_prefix
from pipelines.defs.live.jobs import restart_live_daemon
from pipelines.defs.live.resources import LiveDaemonLauncher, LiveDaemonResource
from pipelines.defs.live.sensors import live_daemon_sensor, live_reconciliation_sensor
from tests.live_daemon.daemon_process import TOKEN, Daemon, free_port
from tests.pipelines.conftest import stores_for
from tests.pipelines.live.oms_rows import execute

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 300  # a busy 2-core machine needs minutes to start the venue


def _terminate(pid: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process = psutil.Process(pid)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except psutil.TimeoutExpired:
            process.kill()


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """The daemons' working directory; what they left running is stopped afterwards: the
    daemon the launcher started (its pid file) and the paper venue (its own pid file)."""
    yield tmp_path
    pid_file = tmp_path / "runtime" / "live" / "daemon.pid"
    if pid_file.exists():
        _terminate(int(pid_file.read_text()))
    venue_pid = tmp_path / "venue" / "venue.pid"
    if venue_pid.exists():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            _terminate(int(json.loads(venue_pid.read_text())["pid"]))


def start_daemon(database_url: str, ticks: Path, workdir: Path) -> Daemon:
    """A daemon with a venue of its own (port and directory), beating every second."""
    return Daemon(
        database_url,
        ticks,
        workdir,
        EXEC_DAEMON_VENUE_PORT=str(free_port()),
        EXEC_DAEMON_VENUE_DIR=str(workdir / "venue"),
        EXEC_DAEMON_HEARTBEAT_SECS="1",
    ).start(timeout=START_TIMEOUT_S)


def evaluate(sensor: dg.SensorDefinition, daemon: LiveDaemonResource) -> dg.SensorResult:
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"live_daemon": daemon})
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def observed(result: dg.SensorResult) -> dict[str, Any]:
    (event,) = result.asset_events or []
    return {k: getattr(v, "value", v) for k, v in event.metadata.items()}


def test_a_killed_daemon_is_restarted_healthy_by_the_sensor_and_the_job(
    oms_database_url: str, ticks: Path, workdir: Path
) -> None:
    daemon = start_daemon(oms_database_url, ticks, workdir)
    live = LiveDaemonResource(
        api_url=daemon.url, token=TOKEN, database_url=oms_database_url, stale_after_secs=4
    )
    running = evaluate(live_daemon_sensor, live)
    before = observed(running)
    assert before["status"] == "running", before
    assert not running.run_requests
    assert before["health"] in ("ok", "degraded")

    daemon.kill()
    deadline = time.monotonic() + 60
    while True:
        stale = evaluate(live_daemon_sensor, live)
        if observed(stale)["status"] == "stale" or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert observed(stale)["status"] == "stale"
    (request,) = stale.run_requests or []
    assert str(request.run_key).startswith(f"restart-{before['instance_id']}-")
    assert [r.run_key for r in evaluate(live_daemon_sensor, live).run_requests or []] == [
        request.run_key
    ]  # the same outage: the same run, launched once

    extra_env = {k: v for k, v in daemon.env.items() if os.environ.get(k) != v}
    launcher = LiveDaemonLauncher(cwd=str(workdir), extra_env=extra_env, wait_secs=START_TIMEOUT_S)
    result = restart_live_daemon.execute_in_process(
        run_config=request.run_config,
        resources={"live_daemon": live, "live_daemon_launcher": launcher},
    )
    assert result.success
    new_instance = result.output_for_node("restart_daemon")
    assert new_instance != before["instance_id"]
    pid = int((workdir / "runtime" / "live" / "daemon.pid").read_text())
    assert os.getsid(pid) == pid  # detached: outlives the run

    after = observed(evaluate(live_daemon_sensor, live))
    assert (after["status"], after["instance_id"]) == ("running", new_instance)
    assert after["pid"] == pid
    assert after["health"] in ("ok", "degraded")

    # both starts are reconciliation triggers; a first tick reconciles after the newest
    reconcile = evaluate(live_reconciliation_sensor, live)
    (trigger,) = reconcile.run_requests or []
    assert trigger.tags["live/event_kind"] in ("daemon_started", "venue_connected")


def order(operation_id: str, side: str = "BUY") -> dict[str, Any]:
    return {
        "operation_id": operation_id,
        "instrument_key": "ANY:PERPETUAL:BTC-USDT@LIN",
        "side": side,
        "quantity": "0.01",
        "price": None,
        "order_type": "MARKET",
        "strategy_id": "e2e",
        "exec_algorithm": "NORMAL",
        "exec_algorithm_params": {},
    }


def filled_orders(daemon: Daemon, n: int) -> list[dict[str, Any]]:
    with daemon.client() as client:
        for i in range(n):
            response = client.post(
                "/api/orders", json=order(f"rec-{i}", "BUY" if i % 3 else "SELL")
            )
            assert response.status_code == 201, response.text
        deadline = time.monotonic() + 60
        while True:
            final = [client.get(f"/api/orders/rec-{i}").json() for i in range(n)]
            if all(o["status"] in ("FILLED", "CANCELED", "REJECTED") for o in final):
                break
            assert time.monotonic() < deadline, final
            time.sleep(0.2)
    assert all(o["status"] == "FILLED" for o in final), final
    return final


def reconcile(live: LiveDaemonResource, stores: Any) -> tuple[dg.ExecuteInProcessResult, dict]:
    result = dg.materialize(
        [live_reconciliation], resources={"live_daemon": live, "stores": stores}
    )
    assert result.success
    (materialization, *_) = result.asset_materializations_for_node("live_reconciliation")
    read_at = dt.datetime.fromisoformat(str(materialization.metadata["venue_read_at"].value))
    committed = artifacts.open_set(stores.results, reconciliation_prefix(read_at))
    tables = {
        name.removesuffix(".parquet"): artifacts.read_parquet(stores.results, committed, name)
        for name in committed.files
    }
    return result, tables


def test_reconciliation_finds_no_break_then_exactly_the_injected_ones(
    oms_database_url: str, ticks: Path, workdir: Path
) -> None:
    url = oms_database_url
    daemon = start_daemon(url, ticks, workdir)
    try:
        live = LiveDaemonResource(api_url=daemon.url, token=TOKEN, database_url=url)
        stores = stores_for(workdir / "stores")
        final = filled_orders(daemon, 4)

        clean, tables = reconcile(live, stores)
        assert {name: t.height for name, t in tables.items()} == {
            "orders": 0, "fills": 0, "positions": 0,
        }  # fmt: skip
        assert all(e.passed for e in clean.get_asset_check_evaluations())

        # behind the daemon's back: what a bug or an operator could do to the OMS
        a, b, c = (o["order_id"] for o in final[:3])
        key_a = execute(url, "SELECT venue_key FROM unified_orders WHERE order_id = $1", a)
        key_c = execute(url, "SELECT venue_key FROM unified_orders WHERE order_id = $1", c)
        execute(url, "UPDATE unified_orders SET filled_quantity = filled_quantity + 0.001 "
                     "WHERE order_id = $1", a)  # fmt: skip
        execute(url, "UPDATE unified_orders SET status = 'CANCELED' WHERE order_id = $1", b)
        fill_id = execute(url, "DELETE FROM fills WHERE order_id = $1 RETURNING fill_id", c)
        execute(url, "UPDATE unified_positions SET quantity = quantity + 1 "
                     "WHERE instrument_key = $1", key_a)  # fmt: skip

        checked, tables = reconcile(live, stores)
        assert tables["orders"].select("break_type", "order_id").rows() == [
            ("status_mismatch", b),
            ("filled_quantity_mismatch", a),
        ]
        assert tables["fills"].select("break_type", "fill_id", "order_id").rows() == [
            ("fill_missing", fill_id, c)
        ]
        positions = tables["positions"]
        against_venue = positions.filter(positions["detail"].str.starts_with("OMS positions ("))
        against_fills = positions.filter(positions["detail"].str.contains("own fills"))
        assert against_venue["venue_key"].to_list() == [key_a]
        assert set(against_fills["venue_key"]) == {key_a, key_c}
        assert against_venue.height + against_fills.height == positions.height
        assert not any(e.passed for e in checked.get_asset_check_evaluations())
    finally:
        daemon.stop()
