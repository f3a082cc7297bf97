"""The daemon end to end: a real process, real PostgreSQL, paper venues on a TradingNode."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest

from tests.live_daemon.daemon_process import Daemon, publish_ticks

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ticks() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="daemon-ticks-"))
    try:
        yield publish_ticks(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def daemon(oms_database_url: str, ticks: Path, tmp_path: Path) -> Iterator[Daemon]:
    process = Daemon(oms_database_url, ticks, tmp_path).start()
    try:
        yield process
    finally:
        process.stop()


def order(operation_id: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "operation_id": operation_id,
        "instrument_key": "ANY:PERPETUAL:BTC-USDT@LIN",
        "side": "BUY",
        "quantity": "0.01",
        "price": None,
        "order_type": "MARKET",
        "strategy_id": "e2e",
        "exec_algorithm": "NORMAL",
        "exec_algorithm_params": {},
    }
    return body | overrides


def wait_final(client, operation_id: str, timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = client.get(f"/api/orders/{operation_id}").json()
        if body["status"] in ("FILLED", "CANCELED", "REJECTED"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{operation_id} not final: {body}")


def query(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetch(sql, *args)
        finally:
            await connection.close()

    return asyncio.run(run())


def test_one_order_per_algorithm_fills_and_moves_positions(daemon: Daemon) -> None:
    algos = {
        "NORMAL": {},
        "TWAP": {"duration_sec": 2, "max_slices": 2},
        "VWAP": {"duration_sec": 2, "max_slices": 2, "profile": "flat"},
        "ICEBERG": {"display_quantity": "0.005", "duration_sec": 10},
    }
    with daemon.client() as client:
        for algo, params in algos.items():
            response = client.post(
                "/api/orders",
                json=order(f"e2e-{algo}", exec_algorithm=algo, exec_algorithm_params=params),
            )
            assert response.status_code == 201, response.text
        final = {algo: wait_final(client, f"e2e-{algo}") for algo in algos}
        for algo in ("NORMAL", "TWAP", "VWAP"):
            assert final[algo]["status"] == "FILLED", final[algo]
            assert sum(float(f["quantity"]) for f in final[algo]["fills"]) == pytest.approx(0.01)
        assert len(final["TWAP"]["fills"]) >= 2
        positions = client.get("/api/positions").json()
        assert any(p.get("scope") == "aggregate" for p in positions), positions
        metrics = client.get("/metrics").text
        assert "orders_submitted_total" in metrics and "fills_total" in metrics


def test_bad_input_leaves_no_row_and_risk_rejection_leaves_one(
    daemon: Daemon, oms_database_url: str
) -> None:
    with daemon.client() as client:
        assert (
            client.post(
                "/api/orders", content=b"{not json", headers={"content-type": "application/json"}
            ).status_code
            == 400
        )
        assert client.post("/api/orders", json=order("bad-1", quantity="0")).status_code == 422
        assert (
            client.post("/api/orders", json=order("bad-2", order_type="LIMIT")).status_code == 422
        )
        assert (
            client.post("/api/orders", json=order("bad-3", instrument_key="NOPE")).status_code
            == 422
        )
        wrong = client.post(
            "/api/orders", json=order("bad-4"), headers={"Authorization": "Bearer nope-nope"}
        )
        assert wrong.status_code == 401
        assert query(oms_database_url, "SELECT count(*) AS n FROM unified_orders")[0]["n"] == 0
        rejected = client.post("/api/orders", json=order("too-big", quantity="5000"))
        assert rejected.status_code == 201
        assert rejected.json()["status"] == "REJECTED"
        assert "ORDER_QUANTITY_MAX" in rejected.json()["rejection_reason"]
    rows = query(oms_database_url, "SELECT status, rejection_reason FROM unified_orders")
    assert [r["status"] for r in rows] == ["REJECTED"]


def test_idempotency_over_http(daemon: Daemon) -> None:
    with daemon.client() as client:
        first = client.post("/api/orders", json=order("idem-1"))
        again = client.post("/api/orders", json=order("idem-1"))
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["order_id"] == again.json()["order_id"]
        conflict = client.post("/api/orders", json=order("idem-1", quantity="0.02"))
        assert conflict.status_code == 409


def test_sigkill_while_streaming_loses_nothing_and_sends_nothing_twice(
    oms_database_url: str, ticks: Path, tmp_path: Path
) -> None:
    daemon = Daemon(oms_database_url, ticks, tmp_path).start()
    acked: list[str] = []
    sent: list[str] = []
    stop = threading.Event()

    def stream(worker: int) -> None:
        with daemon.client() as client:
            for i in range(400):
                if stop.is_set():
                    return
                operation_id = f"crash-{worker}-{i}"
                sent.append(operation_id)
                try:
                    side = "BUY" if i % 2 == 0 else "SELL"
                    response = client.post(
                        "/api/orders", json=order(operation_id, side=side, strategy_id=f"s{worker}")
                    )
                except Exception:
                    return
                if response.status_code in (200, 201):
                    acked.append(operation_id)

    threads = [threading.Thread(target=stream, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    while len(acked) < 60:
        time.sleep(0.01)
    assert daemon.process is not None
    (venue_host,) = psutil.Process(daemon.process.pid).children()  # the paper venue process
    daemon.kill()
    stop.set()
    for thread in threads:
        thread.join()
    # its connection to the daemon ended with the kill: the venue process exits too
    venue_host.wait(timeout=30)  # raises TimeoutExpired if it is still running
    assert not venue_host.is_running()

    stored = {
        r["operation_id"]
        for r in query(oms_database_url, "SELECT operation_id FROM unified_orders")
    }
    assert set(acked) <= stored, "an acknowledged order is missing from PostgreSQL"

    restarted = Daemon(oms_database_url, ticks, tmp_path).start()
    try:
        unresolved = query(
            oms_database_url,
            "SELECT operation_id, status FROM unified_orders "
            "WHERE status IN ('RECEIVED','ACCEPTED','SUBMITTED')",
        )
        assert unresolved == [], "orders in flight at the kill stayed unresolved"
        with restarted.client() as client:
            before = {
                r["operation_id"]: r["order_id"]
                for r in query(
                    oms_database_url, "SELECT operation_id, order_id FROM unified_orders"
                )
            }
            for operation_id in sent:
                response = client.post(
                    "/api/orders",
                    json=order(
                        operation_id,
                        side="BUY" if int(operation_id.rsplit("-", 1)[1]) % 2 == 0 else "SELL",
                        strategy_id=f"s{operation_id.split('-')[1]}",
                    ),
                )
                assert response.status_code in (200, 201), response.text
                if operation_id in before:
                    assert response.status_code == 200
                    assert response.json()["order_id"] == before[operation_id]
        routed = query(
            oms_database_url,
            "SELECT order_id, count(*) AS n FROM order_events WHERE kind = 'routed' "
            "GROUP BY order_id HAVING count(*) > 1",
        )
        assert routed == [], "an order was sent to a venue twice"
    finally:
        restarted.stop()
