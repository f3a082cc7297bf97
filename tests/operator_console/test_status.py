"""``GET /api/status``: each service probed over real HTTP, pages enabled by what is up."""

from __future__ import annotations

from tests.operator_console.backtest_store import commit_run


def test_nothing_up_but_the_store(console, results_store) -> None:
    commit_run(results_store, "bt-a")
    body = console(probe_timeout_s=0.5).get("/api/status").json()
    services = body["services"]
    assert services["daemon"]["up"] is False
    assert "/api/health" in services["daemon"]["detail"]  # names what it asked
    assert services["database"]["up"] is False
    assert services["venues"] == {}
    assert services["results_store"] == {
        "up": True,
        "detail": "1 committed runs",
        "url": results_store.url,
    }
    assert services["dagster"]["up"] is False
    assert body["pages"] == {"live": False, "backtest": True}


def test_daemon_database_venues_and_dagster_from_their_answers(console, stub_server) -> None:
    daemon, dagster = stub_server(), stub_server()
    daemon.routes["/api/health"] = (200, {
        "status": "degraded", "database": "ok", "version": "1.0",
        "venues": {"paper": {"connected": True}, "deribit": {"connected": False}},
    })  # fmt: skip
    dagster.routes["/server_info"] = (200, {"dagster_webserver_version": "1.13"})

    body = console(daemon_url=daemon.url, dagster_url=dagster.url).get("/api/status").json()

    services = body["services"]
    assert services["daemon"]["up"] is True and services["daemon"]["detail"] == "degraded"
    assert services["database"] == {"up": True, "detail": "ok"}
    assert {k: v["up"] for k, v in services["venues"].items()} == {"paper": True, "deribit": False}
    assert services["dagster"] == {"up": True, "url": dagster.url, "detail": "HTTP 200"}
    assert body["pages"]["live"] is True
    assert daemon.requests[0]["authorization"] is None  # health needs no token


def test_a_daemon_without_its_database_is_down(console, stub_server) -> None:
    daemon = stub_server()
    daemon.routes["/api/health"] = (503, {"status": "error", "database": "error: refused"})
    body = console(daemon_url=daemon.url).get("/api/status").json()
    assert body["services"]["daemon"]["up"] is False
    assert body["services"]["database"] == {"up": False, "detail": "error: refused"}
    assert body["pages"]["live"] is False


def test_an_unreadable_results_store_disables_the_backtest_pages(console) -> None:
    body = console(results_store_url="nope://x").get("/api/status").json()
    assert body["services"]["results_store"]["up"] is False
    assert "nope://x" in body["services"]["results_store"]["detail"]
    assert body["pages"]["backtest"] is False
