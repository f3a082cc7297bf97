"""``/api/backtest/runs…``: the backtest runs committed to the results store."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from execution_core.errors import StoreError
from operator_console import backtest_results
from operator_console.dependencies import SettingsDep, StoreDep

router = APIRouter(prefix="/api/backtest", tags=["backtest"])


def _errors(exc: Exception) -> HTTPException:
    if isinstance(exc, backtest_results.RunNotFound):
        return HTTPException(404, detail=str(exc))
    if isinstance(exc, backtest_results.RunBroken):
        return HTTPException(422, detail=str(exc))
    return HTTPException(503, detail=f"cannot read the results store: {exc}")


# plain ``def`` routes: the store reads block, FastAPI runs them in its thread pool
@router.get("/runs")
def list_runs(store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    try:
        runs, problems = backtest_results.list_runs(store, settings.dagster_url)
    except StoreError as exc:
        raise _errors(exc) from None
    return {"store": store.url, "runs": runs, "problems": problems}


@router.get("/runs/{run_id}")
def get_run(run_id: str, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    try:
        return backtest_results.run_detail(store, run_id, settings.dagster_url)
    except (backtest_results.RunNotFound, backtest_results.RunBroken, StoreError) as exc:
        raise _errors(exc) from None


@router.get("/runs/{run_id}/equity")
def get_equity(run_id: str, store: StoreDep) -> dict[str, Any]:
    try:
        return backtest_results.equity_points(store, run_id)
    except (backtest_results.RunNotFound, backtest_results.RunBroken, StoreError) as exc:
        raise _errors(exc) from None
