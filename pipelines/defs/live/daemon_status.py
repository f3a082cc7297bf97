"""What the ``live_daemon`` sensor concludes from the heartbeat and ``/api/health``.

* ``absent``: no heartbeat row (no OMS database, or no daemon ever started on it);
* ``stopped``: the newest row has ``stopped_at`` — a clean stop, which nobody undoes;
* ``stale``: no clean stop and no beat for more than ``stale_after_secs`` — crashed or hung;
* ``running``: beating.

Only the heartbeat decides; ``/api/health`` (best effort) adds uptime, order and fill
counts and the venues' states to the observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg

from pipelines.defs.live.supervision import Heartbeat


def classify(heartbeat: Heartbeat | None, stale_after_secs: float) -> str:
    if heartbeat is None:
        return "absent"
    if heartbeat.stopped_at is not None:
        return "stopped"
    return "stale" if heartbeat.age_s > stale_after_secs else "running"


@dataclass(frozen=True)
class DaemonObservation:
    status: str
    heartbeat: Heartbeat | None
    health: dict[str, Any] | None  # None when /api/health did not answer
    health_error: str | None = None

    @property
    def health_is_this_instance(self) -> bool:
        instance = (self.health or {}).get("instance") or {}
        return self.heartbeat is not None and (
            instance.get("instance_id") == self.heartbeat.instance_id
        )

    def metadata(self) -> dict[str, Any]:
        hb, health = self.heartbeat, self.health or {}
        from_health = self.health_is_this_instance
        uptime = health.get("uptime_s") if from_health else None
        if uptime is None and hb is not None:
            uptime = hb.uptime_s
        venues = health.get("venues") if from_health else None
        if venues is None and hb is not None:
            venues = hb.venues
        return {
            "status": self.status,
            "uptime_s": _number(uptime),
            "heartbeat_age_s": _number(None if hb is None else round(hb.age_s, 3)),
            "instance_id": _text(None if hb is None else hb.instance_id),
            "pid": _number(None if hb is None else hb.pid),
            "host": _text(None if hb is None else hb.host),
            "version": _text(None if hb is None else hb.version),
            "started_at": _text(None if hb is None else hb.started_at.isoformat()),
            "stopped_at": _text(
                None if hb is None or hb.stopped_at is None else hb.stopped_at.isoformat()
            ),
            "health": _text(
                health.get("status")
                if self.health is not None
                else f"no answer: {self.health_error}"
            ),
            "orders": _number(health.get("orders")),
            "fills": _number(health.get("fills")),
            "venues": dg.MetadataValue.json(venues or {}),
        }

    def log_line(self) -> str:
        hb = self.heartbeat
        return (
            f"live_daemon_observed status={self.status} "
            f"instance_id={None if hb is None else hb.instance_id} "
            f"heartbeat_age_s={None if hb is None else round(hb.age_s, 1)} "
            f"health={(self.health or {}).get('status', 'no_answer')}"
        )


def _number(value: Any) -> dg.MetadataValue:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return dg.MetadataValue.null()
    return dg.MetadataValue.int(value) if isinstance(value, int) else dg.MetadataValue.float(value)


def _text(value: str | None) -> dg.MetadataValue:
    return dg.MetadataValue.null() if value is None else dg.MetadataValue.text(str(value))
