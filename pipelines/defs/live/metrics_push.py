"""Reconciliation breaks to Prometheus, through a Pushgateway.

The breaks are computed by a Dagster run, not by a long-running process Prometheus could
scrape, so the run pushes its figures to a Pushgateway (the standard route for batch jobs)
and Prometheus scrapes the gateway (``deploy/prometheus/prometheus.yml``, job
``pushgateway`` with ``honor_labels``). Pushed, job ``exec_reconciliation``:

=================================================  =======  ================================
metric                                             labels   meaning
=================================================  =======  ================================
``exec_reconciliation_breaks``                     table    rows in the last run's breaks
                                                            table (orders, fills, positions)
``exec_reconciliation_last_run_timestamp_seconds`` —        when that run finished (Unix
                                                            time)
=================================================  =======  ================================

Each push is a PUT: it replaces the job's previous figures, so a table that is clean again
reads 0, not its old count. ``deploy/prometheus/alerts.yml`` alerts on both metrics.

Where to push is the environment variable ``EXEC_PUSHGATEWAY_URL`` (``http://pushgateway:9091``
in the compose file); unset or blank, nothing is pushed. It is read by
:func:`pushgateway_url`, the way the other ``pipelines`` settings are read (``os.environ``
in ``pipelines/defs/resources.py`` and ``pipelines/defs/live/resources.py``; ``pipelines``
has no pydantic-settings class to add it to), and not as a resource field, so the assets'
signatures and every existing Dagster definition stay as they are.

A push never fails the asset: the breaks are already committed to the results store when it
runs, and a monitoring outage must not turn a good reconciliation red. A failed push logs a
warning and returns ``False``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

PUSHGATEWAY_URL_ENV = "EXEC_PUSHGATEWAY_URL"
JOB = "exec_reconciliation"
TABLES = ("orders", "fills", "positions")
# Short: the gateway is on the same network; a hung one must not hold the Dagster run.
PUSH_TIMEOUT_S = 5.0

_log = logging.getLogger(__name__)


def pushgateway_url() -> str | None:
    """``EXEC_PUSHGATEWAY_URL``, or ``None`` when unset or blank."""
    return os.environ.get(PUSHGATEWAY_URL_ENV, "").strip() or None


def breaks_registry(breaks: Mapping[str, int], ran_at: float) -> CollectorRegistry:
    """The figures of one run in a registry of their own (never the global one)."""
    registry = CollectorRegistry()
    gauge = Gauge(
        "exec_reconciliation_breaks",
        "Rows in the last reconciliation's breaks table, by table.",
        ["table"],
        registry=registry,
    )
    for table in TABLES:  # every table, so a missing one reads 0 rather than vanishing
        gauge.labels(table=table).set(breaks.get(table, 0))
    for table in sorted(set(breaks) - set(TABLES)):
        gauge.labels(table=table).set(breaks[table])
    Gauge(
        "exec_reconciliation_last_run_timestamp_seconds",
        "When the last reconciliation finished (Unix time).",
        registry=registry,
    ).set(ran_at)
    return registry


def push_reconciliation_breaks(
    breaks: Mapping[str, int],
    *,
    url: str | None = None,
    ran_at: float | None = None,
    log: logging.Logger | None = None,
    timeout: float = PUSH_TIMEOUT_S,
) -> bool:
    """Push ``breaks`` (rows per table) to the Pushgateway at ``url`` (default:
    :func:`pushgateway_url`). Returns whether a push was made; never raises for a gateway
    that is down or answers with an error. ``log`` is the Dagster run's logger when called
    from an asset (a ``logging.Logger``), else this module's."""
    log = log if log is not None else _log
    gateway = url if url is not None else pushgateway_url()
    if not gateway:
        return False
    registry = breaks_registry(breaks, time.time() if ran_at is None else ran_at)
    figures = " ".join(f"{table}={count}" for table, count in sorted(breaks.items()))
    try:
        push_to_gateway(gateway, job=JOB, registry=registry, timeout=timeout)
    except Exception as exc:  # any failure (refused, timeout, HTTP 5xx, bad URL) only logs
        log.warning(
            f"reconciliation_metrics_push_failed gateway={gateway} job={JOB} "
            f"error={type(exc).__name__} detail={str(exc)!r}"
        )
        return False
    log.info(f"reconciliation_metrics_pushed gateway={gateway} job={JOB} {figures}")
    return True


__all__ = [
    "JOB",
    "PUSHGATEWAY_URL_ENV",
    "breaks_registry",
    "push_reconciliation_breaks",
    "pushgateway_url",
]
