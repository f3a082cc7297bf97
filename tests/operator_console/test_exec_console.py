"""``exec-console`` as installed: a real uvicorn process, configured by its environment."""

from __future__ import annotations

from pathlib import Path

import httpx

from execution_core.stores import LocalObjectStore
from tests.operator_console.backtest_store import commit_run
from tests.operator_console.console_process import Console


def test_exec_console_serves_the_api_and_says_when_the_ui_is_not_built(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "results")
    commit_run(store, "bt-1")
    console = Console(
        daemon_url="http://127.0.0.1:9",
        results_store_url=store.url,
        ui_dir=tmp_path / "no-build",
        log_path=tmp_path / "console.log",
    ).start()
    try:
        with httpx.Client(base_url=console.url, trust_env=False, timeout=10) as client:
            status = client.get("/api/status").json()
            assert status["pages"] == {"live": False, "backtest": True}
            assert "http://127.0.0.1:9" in status["services"]["daemon"]["detail"]
            runs = client.get("/api/backtest/runs").json()["runs"]
            assert [r["run_id"] for r in runs] == ["bt-1"]
            assert "make ui" in client.get("/").text
            answer = client.get("/daemon/api/orders")
            assert answer.status_code == 502 and "127.0.0.1:9" in answer.json()["detail"]
    finally:
        console.stop()
