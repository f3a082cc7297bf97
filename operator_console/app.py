"""``create_app(settings)``: the console's FastAPI app.

Routers per resource (``routers/``), their dependencies in ``dependencies.py``, the built
UI last (its catch-all route must come after the API's routes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from operator_console.routers import backtests, daemon, status
from operator_console.settings import ConsoleSettings
from operator_console.static import mount_ui

FORWARD_TIMEOUT_S = 30.0


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # trust_env=False: the daemon and Dagster are reached directly, never via a proxy
        async with httpx.AsyncClient(timeout=FORWARD_TIMEOUT_S, trust_env=False) as http:
            app.state.http = http
            yield

    app = FastAPI(title="Execution Services — operator console", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(status.router)
    app.include_router(backtests.router)
    app.include_router(daemon.router)
    mount_ui(app, settings.ui_dir)
    return app
