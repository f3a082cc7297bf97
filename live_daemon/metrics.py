"""Prometheus metrics of the live daemon, in a registry of their own.

Each :class:`Metrics` owns a fresh ``CollectorRegistry`` (not prometheus_client's global
one), so several daemons or test apps in one process never collide; ``GET /metrics``
renders it. Label values are sanitised and bounded: at most :data:`MAX_LABEL_VALUES`
distinct values per label, later ones are counted under ``other``, so a buggy caller
cannot blow up the series count.

Every name has the namespace prefix ``exec_`` (:data:`NAMESPACE`), so the daemon's series
stand apart on a shared Prometheus (the dashboards and alerts in ``deploy/`` use them):

==========================================  =========  =================================
metric                                      labels     meaning
==========================================  =========  =================================
``exec_orders_submitted_total``             strategy   new orders recorded (replays not
                                                       counted)
``exec_orders_accepted_total``              venue      passed risk and were routed
``exec_orders_rejected_total``              reason     rejections, by short code
                                                       (``ORDER_SIZE``)
``exec_fills_total``                        venue      fills applied to the OMS
``exec_submit_ack_latency_seconds``         —          request received → order recorded,
                                                       checked and handed to the venue
                                                       (histogram)
``exec_venue_chosen_total``                 venue      the smart router's choices
``exec_exposure``                           instrument signed notional exposure
``exec_errors_total``                       kind       internal errors (``venue_event``…)
``exec_http_requests_total``                method,    API requests by route template and
                                            route,     status
                                            status
``exec_venue_up``                           venue      1 while the venue is connected
                                                       (read at scrape time)
``exec_daemon_heartbeat_timestamp_seconds`` —          when the daemon last wrote its
                                                       heartbeat to the OMS (Unix time)
==========================================  =========  =================================
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

NAMESPACE = "exec"
MAX_LABEL_VALUES = 200
OTHER = "other"
ACK_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:@/{}-]+")
_MAX_LABEL_LENGTH = 64


class _BoundedLabel:
    """Sanitises one label's values and caps how many distinct ones it may take."""

    def __init__(self, limit: int = MAX_LABEL_VALUES, code: bool = False) -> None:
        self._limit = limit
        self._code = code
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: object) -> str:
        text = _UNSAFE.sub("_", str(value)).strip("_")[:_MAX_LABEL_LENGTH]
        if self._code:
            text = text.upper().replace("-", "_").replace(".", "_")
        if not text:
            return "unknown"
        if text in self._seen:
            return text
        with self._lock:
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(text)
        return text


class _VenueUp(Collector):
    """``exec_venue_up{venue}``: each venue's connection as the gateway reports it when
    Prometheus scrapes (no state of its own to go stale)."""

    def __init__(self, venues: Callable[[], Mapping[str, bool]]) -> None:
        self._venues = venues

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            f"{NAMESPACE}_venue_up", "1 while the venue is connected, else 0.", labels=["venue"]
        )
        for name, up in sorted(self._venues().items()):
            family.add_metric([name], 1.0 if up else 0.0)
        yield family


class Metrics:
    """The daemon's metrics; the orchestrator and the API call these methods."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.orders_submitted = Counter(
            "orders_submitted",
            "New orders recorded, by strategy.",
            ["strategy"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.orders_accepted = Counter(
            "orders_accepted",
            "Orders that passed risk and were routed, by venue.",
            ["venue"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.orders_rejected = Counter(
            "orders_rejected",
            "Rejected orders, by reason code.",
            ["reason"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.fills = Counter(
            "fills",
            "Fills applied to the OMS, by venue.",
            ["venue"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.submit_ack_latency = Histogram(
            "submit_ack_latency_seconds",
            "Time from an order request to its acknowledgement to the caller.",
            buckets=ACK_LATENCY_BUCKETS,
            namespace=NAMESPACE,
            registry=r,
        )
        self.venue_chosen_total = Counter(
            "venue_chosen",
            "Venues chosen by the smart router.",
            ["venue"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.exposure = Gauge(
            "exposure",
            "Signed notional exposure per instrument.",
            ["instrument"],
            namespace=NAMESPACE,
            registry=r,
        )
        self.errors = Counter(
            "errors", "Internal errors, by kind.", ["kind"], namespace=NAMESPACE, registry=r
        )
        self.heartbeat_timestamp = Gauge(
            "daemon_heartbeat_timestamp_seconds",
            "When the daemon last wrote its heartbeat to the OMS (Unix time; 0 before).",
            namespace=NAMESPACE,
            registry=r,
        )
        self.http_requests = Counter(
            "http_requests",
            "API requests, by method, route and status.",
            ["method", "route", "status"],
            namespace=NAMESPACE,
            registry=r,
        )
        self._strategy = _BoundedLabel()
        self._venue = _BoundedLabel()
        self._reason = _BoundedLabel(limit=50, code=True)
        self._instrument = _BoundedLabel()
        self._kind = _BoundedLabel(limit=50)
        self._route = _BoundedLabel(limit=50)

    # --- what the orchestrator reports -----------------------------------------------------
    def order_submitted(self, strategy: str) -> None:
        self.orders_submitted.labels(strategy=self._strategy(strategy)).inc()

    def order_accepted(self, venue: str) -> None:
        self.orders_accepted.labels(venue=self._venue(venue)).inc()

    def order_rejected(self, code: str) -> None:
        """``code`` is a short reason code (``ORDER_SIZE``, ``NO_VENUE``, ``VENUE``), not the
        human-readable reason."""
        self.orders_rejected.labels(reason=self._reason(code)).inc()

    def fill(self, venue: str) -> None:
        self.fills.labels(venue=self._venue(venue)).inc()

    def venue_chosen(self, venue: str) -> None:
        self.venue_chosen_total.labels(venue=self._venue(venue)).inc()

    def observe_ack(self, seconds: float) -> None:
        self.submit_ack_latency.observe(seconds)

    @contextmanager
    def time_ack(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe_ack(time.perf_counter() - started)

    def set_exposure(self, instrument: str, notional: float | Decimal) -> None:
        self.exposure.labels(instrument=self._instrument(instrument)).set(float(notional))

    def error(self, kind: str) -> None:
        self.errors.labels(kind=self._kind(kind)).inc()

    # --- what the daemon's parts report at scrape time ---------------------------------------
    def watch_heartbeat(self, last_beat: Callable[[], dt.datetime | None]) -> None:
        """``exec_daemon_heartbeat_timestamp_seconds`` reads ``last_beat()`` when scraped."""
        self.heartbeat_timestamp.set_function(
            lambda: 0.0 if (beat := last_beat()) is None else beat.timestamp()
        )

    def watch_venues(self, venues: Callable[[], Mapping[str, bool]]) -> None:
        """``exec_venue_up{venue}`` from ``venues()``: whether each venue is up."""
        self.registry.register(_VenueUp(venues))

    # --- what the API reports ----------------------------------------------------------------
    def http_request(self, method: str, route: str, status: int) -> None:
        self.http_requests.labels(
            method=method if method.isalpha() and len(method) <= 10 else OTHER,
            route=self._route(route),
            status=str(status),
        ).inc()

    # --- exposition --------------------------------------------------------------------------
    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)

    content_type = CONTENT_TYPE_LATEST


__all__ = ["ACK_LATENCY_BUCKETS", "MAX_LABEL_VALUES", "NAMESPACE", "Metrics"]
