"""A TWAP the daemon ran at Deribit (its children sent as plain orders), then a restarted
daemon reconciles it: the parent, which the venue never saw, must compare equal to the
OMS — FILLED, with the children's fills — not be reported CANCELED because no runner of
the new daemon knows its schedule. Found by running ``make demo`` twice (a FILLED/CANCELED
"status_mismatch" break in the second run). A real ``exec-live``, the real local Deribit
venue, real PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from live_daemon.domain import OrderStatus
from live_daemon.reconciliation import closed_parent
from live_daemon.venues.gateway import VenueOrderRecord
from tests.live_daemon.deribit_daemon import KEY, DeribitDaemon

pytestmark = pytest.mark.slow

FINAL = ("FILLED", "CANCELED", "REJECTED")


@pytest.fixture
def deribit_daemon(oms_database_url: str, ticks: Path, tmp_path: Path) -> Iterator[DeribitDaemon]:
    daemon = DeribitDaemon(oms_database_url, ticks, tmp_path)
    try:
        daemon.start()
        yield daemon
    finally:
        try:
            if daemon.process is not None:
                daemon.stop()
        finally:
            try:
                daemon.stop_deribit()
            finally:
                daemon.stop_venue()


def _final(client: httpx.Client, operation_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/orders/{operation_id}").json()
        if body.get("status") in FINAL:
            return body
        time.sleep(0.2)
    raise AssertionError(f"gave up after {timeout}s waiting for {operation_id} to be final: {body}")


def _venue_view(report: dict[str, Any], order_id: str) -> dict[str, Any]:
    orders = report["orders"]
    rows = [dict(zip(orders, values, strict=True)) for values in zip(*orders.values(), strict=True)]
    found = [row for row in rows if row["order_id"] == order_id]
    assert len(found) == 1, f"{order_id} in the venue's record {len(found)} times: {rows}"
    return found[0]


def test_a_finished_daemon_run_twap_reconciles_after_a_restart(
    deribit_daemon: DeribitDaemon,
) -> None:
    body = {
        "operation_id": "twap-1", "instrument_key": KEY, "side": "SELL", "quantity": "0.02",
        "order_type": "MARKET", "strategy_id": "restart", "exec_algorithm": "TWAP",
        "exec_algorithm_params": {"duration_sec": 4, "max_slices": 3},
    }  # fmt: skip
    with deribit_daemon.client() as client:
        assert client.post("/api/orders", json=body).status_code == 201
        parent = _final(client, "twap-1")
    assert parent["status"] == "FILLED", parent
    assert len(parent["fills"]) == 3  # one per child

    deribit_daemon.stop()  # the runner goes with it; the venue and its record stay
    deribit_daemon.start()
    with deribit_daemon.client() as client:
        report = client.post("/api/reconciliation/run", timeout=60).json()
    assert report["unreachable"] == [], report["errors"]
    assert report["settled"] == []  # nothing to settle: the OMS had it right
    view = _venue_view(report, parent["order_id"])
    assert view["status"] == "FILLED", view
    assert Decimal(view["filled_quantity"]) == Decimal(parent["filled_quantity"])


def _parent(status: str, from_children: bool = True) -> VenueOrderRecord:
    return VenueOrderRecord(
        "ORD-1", KEY, "SELL", Decimal(860), status, Decimal(860), "no runner", (), from_children
    )


def test_the_oms_final_status_stands_only_for_a_closed_parent() -> None:
    assert closed_parent(_parent("CANCELED"), OrderStatus.FILLED).status == "FILLED"
    # a child still open: the venue attests the parent is open
    assert closed_parent(_parent("PARTIALLY_FILLED"), OrderStatus.FILLED).status == (
        "PARTIALLY_FILLED"
    )
    # an order the venue itself has: its own status is compared
    assert closed_parent(_parent("CANCELED", False), OrderStatus.FILLED).status == "CANCELED"
    # the OMS has not closed it: nothing to take from the OMS
    assert closed_parent(_parent("CANCELED"), OrderStatus.SUBMITTED).status == "CANCELED"
