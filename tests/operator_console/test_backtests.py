"""``/api/backtest/runs…`` on a real results store in tmp_path."""

from __future__ import annotations

import json

from execution_core.stores import LocalObjectStore
from execution_core.stores.artifacts import MANIFEST
from tests.operator_console.backtest_store import commit_run, result_files


def test_only_committed_runs_are_listed_with_their_summary(console, results_store) -> None:
    commit_run(results_store, "bt-a")
    # a run whose manifest never landed (the writer died halfway): not there
    for name, data in result_files("bt-half").items():
        results_store.write_bytes(f"backtest_results/bt-half/{name}", data)

    body = console(dagster_url="http://dagster.test:3000").get("/api/backtest/runs").json()

    assert [run["run_id"] for run in body["runs"]] == ["bt-a"]
    run = body["runs"][0]
    assert (run["day"], run["n_orders"], run["pnl"], run["total_fees"]) == (
        "2025-01-15",
        2,
        9.0,
        0.75,
    )
    # no Dagster run id in the summary: the link is the asset's partition
    assert run["dagster_url"] == (
        "http://dagster.test:3000/assets/backtest_results?view=partitions&partition=2025-01-15"
    )
    assert body["problems"] == []


def test_a_summary_naming_its_dagster_run_links_to_that_run(console, results_store) -> None:
    commit_run(results_store, "bt-b", summary={"dagster_run_id": "abc-123"})
    run = console(dagster_url="http://d:3000/").get("/api/backtest/runs/bt-b").json()
    assert run["dagster_url"] == "http://d:3000/runs/abc-123"


def test_run_detail_has_slippage_fill_ratio_fees_and_pnl(console, results_store) -> None:
    figures = {"BYBIT": {"slippage_bps": 1.5, "fill_ratio": 1.0, "orders": 1}}
    commit_run(results_store, "bt-c", summary={"slippage_bps_by_venue": figures})

    run = console().get("/api/backtest/runs/bt-c").json()

    # the summary's own figures where it has them…
    assert run["slippage_by_venue"] == figures
    # …computed from orders.parquet where it has none (no arrival price: slippage null)
    assert run["slippage_by_algorithm"] == {
        "NORMAL": {"slippage_bps": None, "orders": 1, "fill_ratio": 0.5},
        "TWAP": {"slippage_bps": None, "orders": 1, "fill_ratio": 1.0},
    }
    assert run["fill_ratio"] == round(2.0 / 3.0, 4)  # 2 of 3 ordered filled
    assert run["fees_by_venue"] == {"BYBIT": 0.5, "OKX": 0.25}
    assert (run["total_fees"], run["pnl"], run["realized_pnl"]) == (0.75, 9.0, 0.0)


def test_equity_curve_is_downsampled_to_2000_points(console, results_store) -> None:
    commit_run(results_store, "bt-long", equity_rows=5003)
    body = console().get("/api/backtest/runs/bt-long/equity").json()
    points = body["points"]
    assert body["total_points"] == 5003
    assert 1000 < len(points) <= 2000
    assert points[0]["equity"] == 1000.0 and points[-1]["equity"] == 1000.0 + 5002
    assert points[0]["ts"] == "2025-01-15T00:00:00+00:00"
    assert [p["ts"] for p in points] == sorted(p["ts"] for p in points)


def test_a_short_curve_is_returned_whole(console, results_store) -> None:
    commit_run(results_store, "bt-short", equity_rows=7)
    points = console().get("/api/backtest/runs/bt-short/equity").json()["points"]
    assert [p["equity"] for p in points] == [1000.0 + i for i in range(7)]


def test_a_missing_run_is_a_404_naming_where_it_looked(console, results_store) -> None:
    client = console()
    for path in ("/api/backtest/runs/nope", "/api/backtest/runs/nope/equity"):
        answer = client.get(path)
        assert answer.status_code == 404
        assert "nope" in answer.json()["detail"]
        assert results_store.url in answer.json()["detail"]


def test_a_broken_run_is_a_422_naming_the_file(console, results_store) -> None:
    commit_run(results_store, "bt-bad")
    # the file changed after its commit: its sha256 no longer matches the manifest
    results_store.write_bytes("backtest_results/bt-bad/equity_curve.parquet", b"not parquet")
    client = console()
    answer = client.get("/api/backtest/runs/bt-bad/equity")
    assert answer.status_code == 422
    assert "bt-bad/equity_curve.parquet" in answer.json()["detail"]

    # a corrupt manifest: listed as a problem, the other runs still listed
    commit_run(results_store, "bt-ok")
    results_store.write_bytes("backtest_results/bt-bad/" + MANIFEST, b"{")
    body = client.get("/api/backtest/runs").json()
    assert [r["run_id"] for r in body["runs"]] == ["bt-ok"]
    assert len(body["problems"]) == 1 and "bt-bad" in body["problems"][0]
    assert client.get("/api/backtest/runs/bt-bad").status_code == 422


def test_an_empty_store_lists_no_runs(console, tmp_path) -> None:
    empty = LocalObjectStore(tmp_path / "empty")
    body = console(results_store_url=empty.url).get("/api/backtest/runs").json()
    assert body == {"store": empty.url, "runs": [], "problems": []}
    assert json.dumps(body)  # plain JSON
