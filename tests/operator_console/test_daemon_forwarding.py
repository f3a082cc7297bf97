"""``/daemon/{path}``: the daemon's API forwarded as it is, over real HTTP."""

from __future__ import annotations

import json


def test_method_query_body_and_token_reach_the_daemon(console, stub_server) -> None:
    daemon = stub_server()
    daemon.routes["/api/orders"] = (201, {"operation_id": "op-1", "status": "SUBMITTED"})
    client = console(daemon_url=daemon.url)

    answer = client.post(
        "/daemon/api/orders?x=1&x=2",
        content=json.dumps({"operation_id": "op-1"}),
        headers={"Authorization": "Bearer t0k", "Content-Type": "application/json"},
    )

    assert answer.status_code == 201
    assert answer.json() == {"operation_id": "op-1", "status": "SUBMITTED"}
    seen = daemon.requests[-1]
    assert seen == {"method": "POST", "path": "/api/orders", "query": "x=1&x=2",
                    "body": '{"operation_id": "op-1"}', "authorization": "Bearer t0k"}  # fmt: skip


def test_the_daemons_errors_come_back_unchanged(console, stub_server) -> None:
    daemon = stub_server()
    error = {"detail": "quantity: must be > 0, got '0'", "errors": []}
    daemon.routes["/api/orders"] = (422, error)
    client = console(daemon_url=daemon.url)
    answer = client.post("/daemon/api/orders", json={})
    assert (answer.status_code, answer.json()) == (422, error)
    answer = client.delete("/daemon/api/orders/unknown")
    assert answer.status_code == 404 and "stub: no" in answer.json()["detail"]
    assert daemon.requests[-1]["method"] == "DELETE"


def test_a_daemon_that_is_down_is_a_502_naming_its_url(console) -> None:
    client = console(daemon_url="http://127.0.0.1:1")
    answer = client.get("/daemon/api/orders")
    assert answer.status_code == 502
    assert "http://127.0.0.1:1" in answer.json()["detail"]
