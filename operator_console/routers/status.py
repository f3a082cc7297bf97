"""``GET /api/status``: which services are up, so the UI shows only the pages that work.

Three probes, run together, each bounded by ``probe_timeout_s``: the live daemon's health
(which also says whether its PostgreSQL and each venue are up), a listing of the results
store, and the Dagster webserver's ``/server_info``. Live pages need the daemon; backtest
pages need the results store.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from execution_core.stores import open_store
from operator_console.backtest_results import run_ids
from operator_console.dependencies import HttpDep, SettingsDep
from operator_console.settings import ConsoleSettings

router = APIRouter(prefix="/api", tags=["status"])


def _venue_up(venue: Any) -> bool:
    if not isinstance(venue, dict):
        return False
    return bool(venue.get("connected", venue.get("running", False)))


async def probe_daemon(http: httpx.AsyncClient, settings: ConsoleSettings) -> dict[str, Any]:
    """The daemon, its database and its venues, from ``/api/health`` (no token)."""
    url = f"{settings.daemon_url.rstrip('/')}/api/health"
    down = {"up": False, "detail": "unknown: the daemon is down"}
    try:
        answer = await http.get(url, timeout=settings.probe_timeout_s)
        health = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        detail = f"{url}: {type(exc).__name__}: {exc}".rstrip(": ")
        return {"daemon": {"up": False, "detail": detail, "url": settings.daemon_url},
                "database": down, "venues": {}}  # fmt: skip
    if not isinstance(health, dict):
        health = {}
    status = str(health.get("status", f"HTTP {answer.status_code}"))
    database = str(health.get("database", "unknown"))
    venues = health.get("venues")
    if not isinstance(venues, dict):
        venues = {}
    return {
        "daemon": {
            "up": status in ("ok", "degraded"),
            "detail": status,
            "url": settings.daemon_url,
            "version": health.get("version"),
        },
        "database": {"up": database == "ok", "detail": database},
        "venues": {
            name: {"up": _venue_up(venue), "detail": venue} for name, venue in venues.items()
        },
    }


async def probe_results_store(url: str, timeout: float) -> dict[str, Any]:
    """Up when the store can be opened and listed."""

    def listing() -> list[str]:
        return run_ids(open_store(url))

    try:
        runs = await asyncio.wait_for(run_in_threadpool(listing), timeout)
    except TimeoutError:
        return {"up": False, "detail": f"{url}: no answer in {timeout:g}s", "url": url}
    except Exception as exc:  # any backend or URL error means: not usable now
        return {"up": False, "detail": f"{url}: {exc}", "url": url}
    return {"up": True, "detail": f"{len(runs)} committed runs", "url": url}


async def probe_dagster(http: httpx.AsyncClient, settings: ConsoleSettings) -> dict[str, Any]:
    url = f"{settings.dagster_url.rstrip('/')}/server_info"
    try:
        answer = await http.get(url, timeout=settings.probe_timeout_s)
    except httpx.HTTPError as exc:
        return {"up": False, "url": settings.dagster_url, "detail": f"{url}: {exc}"}
    up = answer.status_code == 200
    return {"up": up, "url": settings.dagster_url, "detail": f"HTTP {answer.status_code}"}


@router.get("/status")
async def status(settings: SettingsDep, http: HttpDep) -> dict[str, Any]:
    daemon, results, dagster = await asyncio.gather(
        probe_daemon(http, settings),
        probe_results_store(settings.results_store_url, settings.probe_timeout_s),
        probe_dagster(http, settings),
    )
    return {
        "services": {**daemon, "results_store": results, "dagster": dagster},
        "pages": {"live": daemon["daemon"]["up"], "backtest": results["up"]},
    }
