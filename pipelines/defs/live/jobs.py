"""The live group's jobs.

* ``restart_live_daemon`` (one op): restart the daemon through ``live_daemon_launcher``,
  wait until a new instance answers healthy, report its instance id (op output, log line
  and an observation of ``live_daemon``). The heartbeat sensor fills in the stale instance
  it replaces; launched by hand, the op reads it from the newest heartbeat.
* ``live_reconciliation_job``: the three reconciliation assets.
"""

import dagster as dg

from pipelines.defs.live.assets import LIVE_DAEMON, RECONCILIATION_TABLES
from pipelines.defs.live.database import OmsDatabaseError
from pipelines.defs.live.launcher import LaunchError, Previous
from pipelines.defs.live.resources import LiveDaemonLauncher, LiveDaemonResource
from pipelines.defs.live.supervision import newest_heartbeat


class RestartConfig(dg.Config):
    """The daemon being replaced (empty: the newest heartbeat row's)."""

    previous_instance_id: str = ""
    previous_pid: int = 0
    previous_host: str = ""
    reason: str = "requested"


def _previous(
    config: RestartConfig, daemon: LiveDaemonResource, log: dg.DagsterLogManager
) -> Previous:
    if config.previous_instance_id:
        return Previous(
            config.previous_instance_id, config.previous_pid or None, config.previous_host or None
        )
    try:
        url = daemon.oms_url()
        heartbeat = newest_heartbeat(url) if url else None
    except OmsDatabaseError as exc:
        log.warning(f"restart_previous_unknown error={exc}")
        return Previous()
    if heartbeat is None:
        return Previous()
    return Previous(heartbeat.instance_id, heartbeat.pid, heartbeat.host)


@dg.op(name="restart_daemon", description="Restart the live daemon and wait until it is healthy.")
def restart_daemon(
    context: dg.OpExecutionContext,
    config: RestartConfig,
    live_daemon: LiveDaemonResource,
    live_daemon_launcher: LiveDaemonLauncher,
) -> str:
    previous = _previous(config, live_daemon, context.log)
    api = live_daemon.api()
    context.log.info(
        f"daemon_restart_start reason={config.reason} previous_instance_id={previous.instance_id} "
        f"previous_pid={previous.pid} url={api.base_url} "
        f"mode={'command' if live_daemon_launcher.command else 'embedded'}"
    )
    try:
        started = live_daemon_launcher.restart(api, previous, context.log.info)
    except LaunchError as exc:
        raise dg.Failure(description=str(exc), metadata={"url": api.base_url}) from None
    context.log.info(
        f"daemon_restart_done instance_id={started.instance_id} pid={started.pid} "
        f"status={started.status} waited_s={started.waited_s:.1f}"
    )
    metadata = {
        "instance_id": started.instance_id,
        "pid": dg.MetadataValue.null() if started.pid is None else int(started.pid),
        "status": started.status,
        "waited_s": round(started.waited_s, 1),
        "previous_instance_id": previous.instance_id or "",
        "reason": config.reason,
    }
    context.log_event(
        dg.AssetObservation(asset_key=LIVE_DAEMON, metadata={"event": "restarted", **metadata})
    )
    context.add_output_metadata(metadata)
    return started.instance_id


@dg.job(
    name="restart_live_daemon",
    description="Restart the live daemon (embedded: exec-live detached; production: the "
    "launcher's command) and wait until a new instance is healthy.",
    tags={"live": "supervision"},
)
def restart_live_daemon() -> None:
    restart_daemon()


live_reconciliation_job = dg.define_asset_job(
    "live_reconciliation_job",
    selection=dg.AssetSelection.assets(*RECONCILIATION_TABLES),
    description="Reconcile the OMS's orders, fills and positions with the venues' own record.",
    tags={"live": "reconciliation"},
)
