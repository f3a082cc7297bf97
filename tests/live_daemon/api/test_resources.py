"""The API's resources beyond an order's life (against the in-memory service): an order's
timeline, the execution log, the order search, every order/fill/position/log entry's
``text``, 503 while the lifespan has not yet started the orchestrator, and the token on
every resource router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from live_daemon.api.app import create_app
from live_daemon.display import position_text
from live_daemon.metrics import Metrics
from live_daemon.oms.execution_log import LogQuery
from tests.live_daemon.api.fakes import TOKEN, FakeOrderService

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def service() -> FakeOrderService:
    return FakeOrderService()


@pytest.fixture
def client(service: FakeOrderService) -> Iterator[TestClient]:
    with TestClient(create_app(service, token=TOKEN, metrics=Metrics())) as client:
        yield client


def _submit(client: TestClient, operation_id: str, quantity: str = "0.5") -> dict[str, Any]:
    body = {
        "operation_id": operation_id,
        "instrument_key": "ANY:PERPETUAL:BTC-USDT@LIN",
        "side": "SELL",
        "quantity": quantity,
        "order_type": "MARKET",
        "strategy_id": "s1",
    }
    response = client.post("/api/orders", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_timeline_of_an_order_and_404_for_an_unknown_one(client: TestClient) -> None:
    _submit(client, "OP-t")
    timeline = client.get("/api/orders/OP-t/timeline", headers=AUTH)
    assert timeline.status_code == 200
    body = timeline.json()
    assert body["operation_id"] == "OP-t"
    assert [e["kind"] for e in body["events"]] == ["submitted", "routed"]
    assert body["events"][1]["detail"] == {"venue": "OKX"}
    missing = client.get("/api/orders/OP-none/timeline", headers=AUTH)
    assert missing.status_code == 404 and "OP-none" in missing.json()["detail"]


def test_the_execution_log_after_a_cursor_with_text(
    client: TestClient, service: FakeOrderService
) -> None:
    _submit(client, "OP-a")
    _submit(client, "OP-r", quantity="500")  # over the fake's risk limit: rejected
    log = client.get("/api/logs", headers=AUTH).json()
    assert [(e["operation_id"], e["outcome"]) for e in log["entries"]] == [
        ("OP-a", "accepted"),
        ("OP-r", "rejected"),
    ]
    assert log["last_event_id"] == log["entries"][-1]["event_id"]
    rejected = log["entries"][1]
    assert (
        rejected["text"].endswith(f"  — {rejected['reason']}")
        and "REJECTED  OP-r" in rejected["text"]
    )
    after = client.get("/api/logs", params={"after": 1, "outcome": "rejected"}, headers=AUTH)
    assert [e["operation_id"] for e in after.json()["entries"]] == ["OP-r"]
    assert service.calls[-1] == ("execution_log", LogQuery(1, "rejected", None, None, 200))
    empty = client.get("/api/logs", params={"after": 99}, headers=AUTH).json()
    assert empty == {"entries": [], "last_event_id": None}
    bad = client.get("/api/logs", params={"outcome": "maybe"}, headers=AUTH)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "outcome"


def test_orders_are_searched_by_a_part_of_their_ids(
    client: TestClient, service: FakeOrderService
) -> None:
    _submit(client, "OP-alpha")
    _submit(client, "OP-beta")
    found = client.get("/api/orders", params={"q": "alp"}, headers=AUTH).json()
    assert [o["operation_id"] for o in found] == ["OP-alpha"]
    assert service.calls[-1][1]["search"] == "alp"


def test_every_order_fill_and_position_carries_its_text(
    client: TestClient, service: FakeOrderService
) -> None:
    _submit(client, "OP-x")
    service.fill("OP-x", "0.5", "65000.1")
    order = client.get("/api/orders/OP-x", headers=AUTH).json()
    assert order["text"].startswith("OP-x  FILLED  SELL 0.5 ANY:PERPETUAL:BTC-USDT@LIN")
    assert "filled 0.5 @ 65000.1" in order["text"]
    assert order["fills"][0]["text"].startswith("fill F1  0.5 @ 65000.1  fee 0.00012")
    positions = client.get("/api/positions", headers=AUTH).json()
    assert [p["text"] for p in positions] == [position_text(row) for row in service.position_rows]


def test_before_the_orchestrator_starts_orders_answer_503_and_health_says_starting() -> None:
    with TestClient(create_app(token=TOKEN)) as client:
        orders = client.get("/api/orders", headers=AUTH)
        assert orders.status_code == 503
        assert orders.json()["detail"] == "the daemon is starting"
        assert orders.headers["Retry-After"] == "1"
        health = client.get("/api/health")
        assert health.status_code == 503 and "the daemon is starting" in health.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/orders"),
        ("POST", "/api/orders"),
        ("GET", "/api/orders/OP-1"),
        ("GET", "/api/orders/OP-1/timeline"),
        ("DELETE", "/api/orders/OP-1"),
        ("GET", "/api/positions"),
        ("GET", "/api/logs"),
        ("POST", "/api/reconciliation/run"),
    ],
)
def test_every_resource_needs_the_token(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 401, (method, path, response.text)
