"""What the API needs from the daemon: the :class:`OrderService` protocol (implemented by
``LiveExecutionOrchestrator``) and the two exceptions it may raise to mean something other
than a server error: ``IdempotencyConflict`` (the OMS's, re-exported here) → 409 and
:class:`ServiceUnavailable` → 503."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from live_daemon.domain import OrderRecord, OrderRequest, OrderStatus
from live_daemon.oms.execution_log import LogQuery
from live_daemon.oms.orders import IdempotencyConflict


class ServiceUnavailable(Exception):
    """The daemon cannot serve the request right now (starting, stopping, database
    down) → ``503`` with ``Retry-After``; the message is the response's ``detail``."""


class OrderService(Protocol):
    """The orchestrator as the API sees it. All methods are coroutines."""

    async def submit(self, request: OrderRequest) -> tuple[OrderRecord, bool]:
        """Record, check, route and send the order. Returns the record and whether it was
        created now (``False``: an idempotent replay of the same request, nothing sent).
        A risk rejection is a record with status REJECTED, not an exception. Raises
        :class:`IdempotencyConflict` when ``operation_id`` was used with another body."""
        ...

    async def get(self, operation_id: str) -> OrderRecord | None:
        """The order with its fills, or None when unknown."""
        ...

    async def cancel(self, operation_id: str) -> OrderRecord | None:
        """Request cancellation; the record as it stands (a final order is returned
        unchanged), or None when unknown."""
        ...

    async def list_orders(
        self,
        *,
        status: OrderStatus | None,
        venue: str | None,
        instrument: str | None,
        strategy: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        search: str | None,
        limit: int,
    ) -> list[OrderRecord]:
        """Orders matching every given filter (``None``: no filter), newest first, at most
        ``limit`` (1..1000). ``since``/``until`` are timezone-aware UTC bounds on
        ``created_at``; the filters mean what ``UnifiedOrderManager.list`` says."""
        ...

    async def timeline(self, operation_id: str) -> tuple[OrderRecord, list[dict[str, Any]]] | None:
        """The order and its event log, oldest first (``event_id``, ``ts``, ``kind``,
        ``detail``), or None when unknown."""
        ...

    async def execution_log(self, query: LogQuery) -> list[dict[str, Any]]:
        """The execution log's entries (:class:`~live_daemon.oms.execution_log.ExecutionLog`)."""
        ...

    async def positions(self) -> list[dict[str, Any]]:
        """Positions as dicts (keys of :class:`~live_daemon.api.models.PositionOut`)."""
        ...

    async def reconciliation_report(self) -> dict[str, Any]:
        """Settle what the venues' record makes certain, then that record as columns in
        base units (:class:`~live_daemon.api.models.ReconciliationOut`)."""
        ...

    async def health(self) -> dict[str, Any]:
        """``status`` (ok/degraded/error), ``database`` (ok or error: …), ``venues``
        (per venue state); anything else is passed through."""
        ...


__all__ = ["IdempotencyConflict", "OrderService", "ServiceUnavailable"]
