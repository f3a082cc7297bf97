"""What a route needs, injected by FastAPI (``Depends``): the orchestrator the lifespan
started (``app.state.orchestrator``; none yet → 503 "the daemon is starting"), the
instrument reference orders are checked against, and the metrics ``/metrics`` renders.

The app is built before the lifespan starts the orchestrator; reading it per request from
``app.state`` is what lets one ``create_app`` serve a daemon that is still starting."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from execution_core.instruments.reference import InstrumentReference
from live_daemon.api.ports import OrderService
from live_daemon.metrics import Metrics

STARTING = "the daemon is starting"


def get_orchestrator(request: Request) -> OrderService:
    orchestrator: OrderService | None = request.app.state.orchestrator
    if orchestrator is None:
        raise HTTPException(503, STARTING, headers={"Retry-After": "1"})
    return orchestrator


def get_instruments(request: Request) -> InstrumentReference | None:
    instruments: InstrumentReference | None = request.app.state.instruments
    return instruments


def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


Orchestrator = Annotated[OrderService, Depends(get_orchestrator)]
Instruments = Annotated[InstrumentReference | None, Depends(get_instruments)]
CurrentMetrics = Annotated[Metrics, Depends(get_metrics)]

__all__ = ["CurrentMetrics", "Instruments", "Orchestrator", "get_orchestrator"]
