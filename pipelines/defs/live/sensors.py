"""The live group's sensors. Neither starts a process: they read and request runs.

* ``live_daemon_sensor`` (every 30 s): reads the newest heartbeat row and, best effort,
  ``/api/health``; records an observation of ``live_daemon`` (status running / stale /
  stopped / absent, uptime, heartbeat age, instance, pid, order and fill counts, venues).
  A stale heartbeat with no clean stop requests one ``restart_live_daemon`` run, keyed by
  the stale beat (instance id + last beat): every evaluation during one outage requests
  the same run key, which Dagster launches once. A clean stop or no row requests nothing.
* ``live_reconciliation_sensor`` (every 30 s): one ``live_reconciliation_job`` run per
  ``daemon_started`` or ``venue_connected`` event (run key
  ``reconcile-after-event-<event_id>``), the last event id seen being the cursor. Its first
  evaluation (no cursor) does not replay the whole log: it requests one run for the newest
  such event, if any, and starts after the newest event.
"""

import dagster as dg

from pipelines.defs.live.assets import LIVE_DAEMON
from pipelines.defs.live.daemon_api import DaemonUnreachable
from pipelines.defs.live.daemon_status import DaemonObservation, classify
from pipelines.defs.live.jobs import live_reconciliation_job, restart_live_daemon
from pipelines.defs.live.resources import LiveDaemonResource
from pipelines.defs.live.supervision import (
    DaemonEvent,
    Heartbeat,
    events_after,
    last_event_id,
    newest_event,
    newest_heartbeat,
)

RECONCILE_AFTER = ["daemon_started", "venue_connected"]
EVENTS_PER_TICK = 100


def restart_request(heartbeat: Heartbeat) -> dg.RunRequest:
    reason = (
        f"stale heartbeat: last beat {heartbeat.last_beat.isoformat()} "
        f"({heartbeat.age_s:.0f}s ago), no clean stop"
    )
    config = {
        "previous_instance_id": heartbeat.instance_id,
        "previous_pid": heartbeat.pid,
        "previous_host": heartbeat.host,
        "reason": reason,
    }
    return dg.RunRequest(
        run_key=f"restart-{heartbeat.key}",
        run_config={"ops": {"restart_daemon": {"config": config}}},
        tags={"live/stale_instance": heartbeat.instance_id},
    )


@dg.sensor(
    name="live_daemon_sensor",
    job=restart_live_daemon,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Observes live_daemon from its heartbeat; a stale heartbeat requests one restart.",
)
def live_daemon_sensor(
    context: dg.SensorEvaluationContext, live_daemon: LiveDaemonResource
) -> dg.SensorResult:
    url = live_daemon.oms_url()
    heartbeat = newest_heartbeat(url) if url else None
    status = classify(heartbeat, live_daemon.stale_after_secs)
    health, health_error = None, None
    try:
        health = live_daemon.api().health()
    except DaemonUnreachable as exc:
        health_error = str(exc)
    observation = DaemonObservation(status, heartbeat, health, health_error)
    context.log.info(observation.log_line())
    run_requests = []
    if status == "stale" and heartbeat is not None:
        request = restart_request(heartbeat)
        context.log.info(f"live_daemon_restart_requested run_key={request.run_key}")
        run_requests.append(request)
    return dg.SensorResult(
        run_requests=run_requests,
        asset_events=[dg.AssetObservation(asset_key=LIVE_DAEMON, metadata=observation.metadata())],
    )


def reconcile_request(event: DaemonEvent) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"reconcile-after-event-{event.event_id}",
        tags={
            "live/event_id": str(event.event_id),
            "live/event_kind": event.kind,
            "live/instance_id": event.instance_id,
            **({"live/venue": event.venue} if event.venue else {}),
        },
    )


@dg.sensor(
    name="live_reconciliation_sensor",
    job=live_reconciliation_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reconciles after every daemon start and venue (re)connection.",
)
def live_reconciliation_sensor(
    context: dg.SensorEvaluationContext, live_daemon: LiveDaemonResource
) -> dg.SensorResult | dg.SkipReason:
    url = live_daemon.oms_url()
    if url is None:
        return dg.SkipReason(f"no OMS database yet ({live_daemon.describe_database()})")
    if context.cursor is None:
        newest = last_event_id(url)
        latest = newest_event(url, RECONCILE_AFTER)
        recent = [latest] if latest is not None else []
        newest = max([newest, *(e.event_id for e in recent)])
        context.log.info(
            f"live_reconciliation_sensor_first_tick cursor={newest} runs={len(recent)}"
        )
        return dg.SensorResult(
            run_requests=[reconcile_request(e) for e in recent], cursor=str(newest)
        )
    cursor = int(context.cursor)
    events = events_after(url, cursor, RECONCILE_AFTER, EVENTS_PER_TICK)
    if not events:
        return dg.SkipReason(f"no daemon start or venue connection after event {cursor}")
    for event in events:
        context.log.info(
            f"live_reconciliation_requested event_id={event.event_id} kind={event.kind} "
            f"venue={event.venue} instance_id={event.instance_id}"
        )
    return dg.SensorResult(
        run_requests=[reconcile_request(e) for e in events], cursor=str(events[-1].event_id)
    )
