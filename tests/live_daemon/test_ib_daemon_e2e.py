"""Interactive Brokers through the whole daemon: a real ``exec-live`` in paper mode starts
the TWS stand-in (``exec-venue ib``, its own process and journal), and an order for an
``IB:`` stock goes through the API, pre-trade risk, the router (priced from the stand-in's
``reqMktData`` quotes and the reference's per-share commission), the OMS and the adapter,
and comes back filled with IB's commission. The reconciliation report then holds the
venue's own record, equal to the OMS's."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_daemon.daemon_process import EXEC_VENUE, Daemon, free_port, query

pytestmark = pytest.mark.slow

AAPL = "IB:SPOT_PAIR:AAPL-USD"
AAPL_CON_ID = 265598  # IB's contract id of AAPL on SMART: the key its quotes come under
PRICE = Decimal("190.5")
FINAL = ("FILLED", "CANCELED", "REJECTED")


@pytest.fixture
def ib_daemon(oms_database_url: str, ticks: Path, tmp_path: Path) -> Iterator[Daemon]:
    ib_dir = (tmp_path / "ib").absolute()
    daemon = Daemon(
        oms_database_url,
        ticks,
        tmp_path,
        EXEC_DAEMON_INSTRUMENTS='["BYBIT:PERPETUAL:BTC-USDT@LIN"]',  # the paper venue: small
        EXEC_DAEMON_INTERACTIVE_BROKERS__INSTRUMENTS=json.dumps(
            [{"key": AAPL, "con_id": AAPL_CON_ID}]
        ),
        EXEC_DAEMON_INTERACTIVE_BROKERS__PORT=str(free_port()),
        EXEC_DAEMON_INTERACTIVE_BROKERS__STANDIN_DIR=str(ib_dir),
        EXEC_DAEMON_INTERACTIVE_BROKERS__STANDIN_PRICES=json.dumps({"AAPL": str(PRICE)}),
    )
    daemon.log_path = tmp_path / "daemon.log"
    try:
        yield daemon.start()
    finally:
        try:
            if daemon.process is not None:
                daemon.stop()
        finally:
            try:  # the stand-in outlives the daemon, as the paper venue does
                stop = [str(EXEC_VENUE), "ib", "stop", "--dir", str(ib_dir)]
                subprocess.run(stop, check=True, capture_output=True, timeout=90)
            finally:
                daemon.stop_venue()


def _final(client: httpx.Client, operation_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/orders/{operation_id}").json()
        if body.get("status") in FINAL:
            return body
        time.sleep(0.2)
    raise AssertionError(f"gave up after {timeout}s waiting for {operation_id} to be final: {body}")


def _wait_for_quote(client: httpx.Client, timeout: float = 60) -> None:
    """Until the router can price AAPL (the adapter has the stand-in's first quotes)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = client.get("/api/live/health").json().get("venues", {}).get("IB")
        if last and last.get("connected"):
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up after {timeout}s waiting for the IB adapter; last: {last}")


def _order(operation_id: str, key: str, side: str, quantity: str) -> dict[str, Any]:
    return {
        "operation_id": operation_id,
        "instrument_key": key,
        "side": side,
        "quantity": quantity,
        "order_type": "MARKET",
        "strategy_id": "ib-e2e",
    }


def test_an_ib_stock_order_routes_fills_and_reconciles(ib_daemon: Daemon) -> None:
    with ib_daemon.client() as client:
        _wait_for_quote(client)
        # a concrete IB id and an ANY: id that only IB lists both route to IB
        orders = (("ib-1", AAPL, "BUY", "10"), ("ib-2", "ANY:SPOT_PAIR:AAPL-USD", "SELL", "4"))
        for op, key, side, qty in orders:
            response = client.post("/api/orders", json=_order(op, key, side, qty))
            assert response.status_code == 201, response.text
        bought, sold = _final(client, "ib-1"), _final(client, "ib-2")
        report = client.post("/api/reconciliation/run").json()

    assert (bought["status"], sold["status"]) == ("FILLED", "FILLED"), (bought, sold)
    assert bought["venue"] == sold["venue"] == AAPL
    assert Decimal(bought["avg_fill_price"]) == PRICE
    # the stand-in charges IB's fixed pricing: 0.005 USD a share, at least 1 USD an order
    assert [Decimal(f["fee"]) for f in bought["fills"]] == [Decimal(1)]
    routed = query(
        ib_daemon.env["DATABASE_URL"],
        "SELECT venue_key, venue_type FROM unified_orders ORDER BY operation_id",
    )
    assert [tuple(r) for r in routed] == [(AAPL, "EXTERNAL_SDK")] * 2

    rows = query(
        ib_daemon.env["DATABASE_URL"],
        "SELECT quantity FROM unified_positions WHERE instrument_key = $1",
        AAPL,
    )
    assert sum(Decimal(r["quantity"]) for r in rows) == 6
    assert report["unreachable"] == [], report["unreachable"]
    # the venue's own record (the stand-in's journal, read back through the adapter)
    at_venue = dict(
        zip(report["positions"]["venue_key"], report["positions"]["quantity"], strict=True)
    )
    assert Decimal(at_venue[AAPL]) == 6
    venue_fills = sorted(
        (order_id, Decimal(qty), Decimal(fee))
        for order_id, key, qty, fee in zip(
            *(report["fills"][c] for c in ("order_id", "venue_key", "quantity", "fee")), strict=True
        )
        if key == AAPL
    )
    oms_fills = sorted(
        (r["order_id"], Decimal(r["quantity"]), Decimal(r["fee"]))
        for r in query(ib_daemon.env["DATABASE_URL"], "SELECT order_id, quantity, fee FROM fills")
    )
    assert venue_fills == oms_fills
