"""The reconciliation's push to a Pushgateway, against a real HTTP server on 127.0.0.1.

:class:`RecordingGateway` stands in for the Pushgateway: it records each request's method,
path and body and answers with a chosen status. ``tests/deploy/test_monitoring.py`` uses it
too, to learn which metric names the push really sends.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipelines.defs.live.assets import RECONCILIATION_TABLES
from pipelines.defs.live.metrics_push import (
    JOB,
    PUSHGATEWAY_URL_ENV,
    push_reconciliation_breaks,
)
from pipelines.defs.resources import StoresResource
from tests.pipelines.conftest import stores_for
from tests.pipelines.live.fake_daemon import FakeDaemon
from tests.pipelines.live.test_reconciliation import (
    daemon_for,
    materialize,
    metadata,
    venue_answer,
    venue_fill,
    venue_order,
)


@dataclass
class Pushed:
    method: str
    path: str
    body: str


class RecordingGateway:
    """An HTTP server in a thread that records what is pushed to it."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[Pushed] = []
        self.status = status
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                gateway.requests.append(Pushed(self.command, self.path, body))
                self.send_response(gateway.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST = _record

            def log_message(self, format: str, *args: object) -> None:  # keep pytest quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def samples(self, index: int = -1) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """The samples of one recorded push: (name, sorted labels) -> value."""
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(self.requests[index].body)
            for sample in family.samples
        }


@pytest.fixture
def gateway() -> Iterator[RecordingGateway]:
    server = RecordingGateway()
    yield server
    server.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released), for an unreachable gateway."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_push_holds_a_gauge_per_table_and_the_run_time(gateway: RecordingGateway) -> None:
    pushed = push_reconciliation_breaks(
        {"orders": 2, "fills": 0, "positions": 1}, url=gateway.url, ran_at=1_700_000_000.5
    )

    assert pushed is True
    [request] = gateway.requests
    # PUT replaces the job's previous figures: a table that is clean again reads 0
    assert (request.method, request.path) == ("PUT", f"/metrics/job/{JOB}")
    assert gateway.samples() == {
        ("exec_reconciliation_breaks", (("table", "orders"),)): 2.0,
        ("exec_reconciliation_breaks", (("table", "fills"),)): 0.0,
        ("exec_reconciliation_breaks", (("table", "positions"),)): 1.0,
        ("exec_reconciliation_last_run_timestamp_seconds", ()): 1_700_000_000.5,
    }


def test_a_table_left_out_is_pushed_as_zero(gateway: RecordingGateway) -> None:
    push_reconciliation_breaks({"orders": 3}, url=gateway.url, ran_at=1.0)

    samples = gateway.samples()
    assert samples[("exec_reconciliation_breaks", (("table", "fills"),))] == 0.0
    assert samples[("exec_reconciliation_breaks", (("table", "positions"),))] == 0.0


def test_the_url_comes_from_the_environment(
    gateway: RecordingGateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(PUSHGATEWAY_URL_ENV, gateway.url)
    caplog.set_level(logging.INFO)

    assert push_reconciliation_breaks({"orders": 0, "fills": 4, "positions": 0}) is True

    assert gateway.samples()[("exec_reconciliation_breaks", (("table", "fills"),))] == 4.0
    assert f"reconciliation_metrics_pushed gateway={gateway.url} job={JOB}" in caplog.text


@pytest.mark.parametrize("value", [None, "", "  "])
def test_unset_or_blank_does_nothing(
    value: str | None, gateway: RecordingGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv(PUSHGATEWAY_URL_ENV, raising=False)
    else:
        monkeypatch.setenv(PUSHGATEWAY_URL_ENV, value)

    assert push_reconciliation_breaks({"orders": 1}) is False
    assert gateway.requests == []


def test_an_unreachable_gateway_only_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{free_port()}"

    assert push_reconciliation_breaks({"orders": 1}, url=url, timeout=2) is False

    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.getMessage().startswith(
        f"reconciliation_metrics_push_failed gateway={url} job={JOB} error="
    )


def test_a_gateway_answering_an_error_only_logs_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = RecordingGateway(status=500)
    try:
        assert push_reconciliation_breaks({"orders": 1}, url=failing.url) is False
    finally:
        failing.close()

    assert len(failing.requests) == 1
    assert "reconciliation_metrics_push_failed" in caplog.text
    assert "error=HTTPError" in caplog.text


# --- from the reconciliation asset --------------------------------------------------------------


def reconcile_with_a_ghost_order(
    oms_database_url: str, stores: StoresResource, fake_daemon: FakeDaemon
) -> dg.ExecuteInProcessResult:
    """An empty OMS against a venue that has an order and a fill: breaks in orders, fills."""
    fake_daemon.reconciliation = venue_answer(
        orders=[venue_order("ghost", status="ACCEPTED", filled="0")],
        fills=[venue_fill("f9", "ghost", "0.1")],
        positions=[],
    )
    return materialize(daemon_for(oms_database_url, fake_daemon.url), stores)


def test_the_reconciliation_asset_pushes_its_break_counts(
    oms_database_url: str,
    tmp_path: Path,
    fake_daemon: FakeDaemon,
    gateway: RecordingGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PUSHGATEWAY_URL_ENV, gateway.url)
    before = time.time()

    result = reconcile_with_a_ghost_order(oms_database_url, stores_for(tmp_path), fake_daemon)

    assert result.success
    [request] = gateway.requests
    assert request.path == f"/metrics/job/{JOB}"
    samples = gateway.samples()
    for key, table in RECONCILIATION_TABLES.items():  # what was committed is what was pushed
        n_breaks = metadata(result, key)["n_breaks"]
        assert samples[("exec_reconciliation_breaks", (("table", table),))] == n_breaks
    assert samples[("exec_reconciliation_breaks", (("table", "orders"),))] == 1
    assert samples[("exec_reconciliation_last_run_timestamp_seconds", ())] >= before


def test_a_gateway_down_does_not_fail_the_reconciliation(
    oms_database_url: str,
    tmp_path: Path,
    fake_daemon: FakeDaemon,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PUSHGATEWAY_URL_ENV, f"http://127.0.0.1:{free_port()}")
    stores = stores_for(tmp_path)

    result = reconcile_with_a_ghost_order(oms_database_url, stores, fake_daemon)

    assert result.success
    assert metadata(result, "reconciliation_orders")["n_breaks"] == 1
    assert any(key.endswith("orders.parquet") for key in stores.results.list("live/"))
