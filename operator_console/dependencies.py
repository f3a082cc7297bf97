"""What the routes are given through FastAPI ``Depends``: the settings, one shared
``httpx.AsyncClient`` (opened and closed by the app's lifespan) and the results store.

Tests override none of these: they build the app with their own settings instead.
"""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, HTTPException, Request

from execution_core.errors import ConfigError
from execution_core.stores import ObjectStore, open_store
from operator_console.settings import ConsoleSettings


def get_settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def get_http(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.app.state.http
    return client


def get_results_store(
    settings: Annotated[ConsoleSettings, Depends(get_settings)],
) -> ObjectStore:
    # opening a store is cheap (no I/O until it is read): one per request keeps no state
    try:
        return open_store(settings.results_store_url)
    except ConfigError as exc:
        raise HTTPException(503, detail=f"the results store cannot be opened: {exc}") from None


SettingsDep = Annotated[ConsoleSettings, Depends(get_settings)]
HttpDep = Annotated[httpx.AsyncClient, Depends(get_http)]
StoreDep = Annotated[ObjectStore, Depends(get_results_store)]
