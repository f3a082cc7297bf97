"""The live sensors against rows written into a real migrated OMS database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.live.resources import LiveDaemonResource
from pipelines.defs.live.sensors import live_daemon_sensor, live_reconciliation_sensor
from tests.pipelines.live.fake_daemon import TOKEN, FakeDaemon
from tests.pipelines.live.oms_rows import write_event, write_heartbeat


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def resource(database_url: str, api_url: str, **kw: object) -> LiveDaemonResource:
    return LiveDaemonResource(
        database_url=database_url, api_url=api_url, token=TOKEN, health_timeout_secs=2, **kw
    )


def evaluate(
    sensor: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    daemon: LiveDaemonResource,
    cursor: str | None = None,
) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"live_daemon": daemon}
    )
    result = sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def observation(result: dg.SensorResult | dg.SkipReason) -> dict[str, object]:
    assert isinstance(result, dg.SensorResult)
    events = list(result.asset_events or [])
    assert len(events) == 1
    assert isinstance(events[0], dg.AssetObservation)
    assert events[0].asset_key == dg.AssetKey("live_daemon")
    return {k: getattr(v, "value", v) for k, v in events[0].metadata.items()}


# --- live_daemon_sensor ---------------------------------------------------------------------


def test_a_beating_daemon_is_observed_running_with_its_health(
    oms_database_url: str, fake_daemon: FakeDaemon, instance: dg.DagsterInstance
) -> None:
    write_heartbeat(oms_database_url, "i-1", age_s=1, venues={"okx": {"connected": True}})
    fake_daemon.health = {
        "status": "ok",
        "uptime_s": 601.5,
        "instance": {"instance_id": "i-1", "pid": 4242},
        "venues": {"okx": {"connected": True, "endpoint": "ws://okx"}},
        "orders": 12,
        "fills": 30,
    }
    result = evaluate(live_daemon_sensor, instance, resource(oms_database_url, fake_daemon.url))
    assert isinstance(result, dg.SensorResult)
    assert not result.run_requests
    meta = observation(result)
    assert meta["status"] == "running"
    assert meta["instance_id"] == "i-1"
    assert meta["pid"] == 4242
    assert meta["uptime_s"] == 601.5
    assert 0 <= float(meta["heartbeat_age_s"]) < 10  # type: ignore[arg-type]
    assert (meta["orders"], meta["fills"]) == (12, 30)
    assert meta["venues"] == {"okx": {"connected": True, "endpoint": "ws://okx"}}
    assert meta["health"] == "ok"


def test_a_stale_heartbeat_requests_one_restart_keyed_by_the_stale_beat(
    oms_database_url: str, instance: dg.DagsterInstance
) -> None:
    write_heartbeat(oms_database_url, "i-old", age_s=3600, stopped=True)
    write_heartbeat(oms_database_url, "i-crashed", age_s=60, pid=999, host="h1")
    daemon = resource(oms_database_url, "http://127.0.0.1:9")  # nothing listens
    first = evaluate(live_daemon_sensor, instance, daemon)
    second = evaluate(live_daemon_sensor, instance, daemon)
    assert isinstance(first, dg.SensorResult)
    assert isinstance(second, dg.SensorResult)
    (request,) = first.run_requests or []
    assert request.run_key is not None
    assert request.run_key.startswith("restart-i-crashed-")
    assert [r.run_key for r in second.run_requests or []] == [request.run_key]
    config = request.run_config["ops"]["restart_daemon"]["config"]
    assert config["previous_instance_id"] == "i-crashed"
    assert (config["previous_pid"], config["previous_host"]) == (999, "h1")
    meta = observation(first)
    assert meta["status"] == "stale"
    assert float(meta["heartbeat_age_s"]) >= 60  # type: ignore[arg-type]
    assert str(meta["health"]).startswith("no answer: GET http://127.0.0.1:9/api/health")


def test_a_stale_heartbeat_after_the_restart_is_a_new_run_key(
    oms_database_url: str, instance: dg.DagsterInstance
) -> None:
    daemon = resource(oms_database_url, "http://127.0.0.1:9")
    write_heartbeat(oms_database_url, "i-1", age_s=60)
    first = evaluate(live_daemon_sensor, instance, daemon)
    write_heartbeat(oms_database_url, "i-2", age_s=20)  # restarted, then crashed again
    second = evaluate(live_daemon_sensor, instance, daemon)
    keys = [r.run_key for res in (first, second) for r in res.run_requests or []]  # type: ignore[union-attr]
    assert len(keys) == 2 and keys[0] != keys[1]
    assert keys[1] is not None and keys[1].startswith("restart-i-2-")


def test_a_clean_stop_requests_nothing(oms_database_url: str, instance: dg.DagsterInstance) -> None:
    write_heartbeat(oms_database_url, "i-1", age_s=120, stopped=True)
    result = evaluate(
        live_daemon_sensor, instance, resource(oms_database_url, "http://127.0.0.1:9")
    )
    assert isinstance(result, dg.SensorResult)
    assert not result.run_requests
    meta = observation(result)
    assert meta["status"] == "stopped"
    assert meta["stopped_at"] is not None


def test_no_heartbeat_row_is_absent_and_requests_nothing(
    oms_database_url: str, instance: dg.DagsterInstance
) -> None:
    result = evaluate(
        live_daemon_sensor, instance, resource(oms_database_url, "http://127.0.0.1:9")
    )
    assert isinstance(result, dg.SensorResult)
    assert not result.run_requests
    assert observation(result)["status"] == "absent"


def test_no_database_at_all_is_absent_and_starts_no_server(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    daemon = LiveDaemonResource(pg_data_dir=str(tmp_path / "pg"), api_url="http://127.0.0.1:9")
    result = evaluate(live_daemon_sensor, instance, daemon)
    assert observation(result)["status"] == "absent"
    assert not (tmp_path / "pg").exists()


def test_the_staleness_threshold_is_a_setting(
    oms_database_url: str, instance: dg.DagsterInstance
) -> None:
    write_heartbeat(oms_database_url, "i-1", age_s=20)
    api = "http://127.0.0.1:9"
    default = evaluate(live_daemon_sensor, instance, resource(oms_database_url, api))
    patient = evaluate(
        live_daemon_sensor, instance, resource(oms_database_url, api, stale_after_secs=60)
    )
    assert observation(default)["status"] == "stale"
    assert observation(patient)["status"] == "running"


# --- live_reconciliation_sensor -------------------------------------------------------------


def run_keys(result: dg.SensorResult | dg.SkipReason) -> list[str | None]:
    assert isinstance(result, dg.SensorResult)
    return [r.run_key for r in result.run_requests or []]


def test_one_reconciliation_per_daemon_start_or_venue_connection(
    oms_database_url: str, instance: dg.DagsterInstance
) -> None:
    url = oms_database_url
    daemon = resource(url, "http://127.0.0.1:9")
    started = write_event(url, "daemon_started")
    connected = write_event(url, "venue_connected", venue="okx")
    write_event(url, "venue_disconnected", venue="okx")
    last = write_event(url, "reconciled")

    # first evaluation: no replay of the whole log, one run for the newest trigger
    first = evaluate(live_reconciliation_sensor, instance, daemon)
    assert run_keys(first) == [f"reconcile-after-event-{connected}"]
    assert isinstance(first, dg.SensorResult) and first.cursor == str(last)

    quiet = evaluate(live_reconciliation_sensor, instance, daemon, cursor=str(last))
    assert isinstance(quiet, dg.SkipReason)

    reconnected = write_event(url, "venue_connected", venue="bybit")
    restarted = write_event(url, "daemon_started", instance_id="i-2")
    write_event(url, "venue_disconnected", venue="bybit")
    second = evaluate(live_reconciliation_sensor, instance, daemon, cursor=str(last))
    assert run_keys(second) == [
        f"reconcile-after-event-{reconnected}",
        f"reconcile-after-event-{restarted}",
    ]
    assert isinstance(second, dg.SensorResult) and second.cursor == str(restarted)
    request = (second.run_requests or [])[0]
    assert request.tags["live/event_kind"] == "venue_connected"
    assert request.tags["live/venue"] == "bybit"

    # from an older cursor, the same events give the same run keys (Dagster runs each once)
    replay = evaluate(live_reconciliation_sensor, instance, daemon, cursor="0")
    assert run_keys(replay) == [
        f"reconcile-after-event-{e}" for e in (started, connected, reconnected, restarted)
    ]


def test_the_reconciliation_sensor_skips_without_a_database(
    tmp_path: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    daemon = LiveDaemonResource(pg_data_dir=str(tmp_path / "pg"))
    result = evaluate(live_reconciliation_sensor, instance, daemon)
    assert isinstance(result, dg.SkipReason)
    assert "no OMS database" in str(result.skip_message)
