"""What the order store raises (re-exported by :mod:`live_daemon.oms.orders`)."""

from __future__ import annotations

import asyncpg

from execution_core.errors import ExecutionServicesError
from live_daemon.domain import OrderStatus


class IdempotencyConflict(ExecutionServicesError):
    """An ``operation_id`` was reused with a different request body."""

    def __init__(self, operation_id: str, existing_order_id: str | None = None) -> None:
        self.operation_id = operation_id
        self.existing_order_id = existing_order_id
        super().__init__(
            f"operation_id {operation_id!r} was already used for a different request"
            + (f" (order {existing_order_id})" if existing_order_id else "")
        )


class InvalidTransition(ExecutionServicesError):
    """A status change the order's state does not allow (e.g. out of a final status)."""

    def __init__(self, order_id: str, current: OrderStatus | None, target: OrderStatus) -> None:
        self.order_id = order_id
        self.current = current
        self.target = target
        super().__init__(f"order {order_id}: cannot move from {current} to {target}")


class OrderNotFound(ExecutionServicesError, LookupError):
    """No order with that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database could not be reached (down, restarting, the
    connection lost, the pool closing), as opposed to a statement it refused. The first
    kind is worth waiting out: the API answers 503, venue events are kept and retried."""
    return isinstance(
        exc,
        asyncpg.PostgresConnectionError  # lost, refused, "cannot connect now"
        | asyncpg.CannotConnectNowError
        | asyncpg.InterfaceError  # "connection is closed", "pool is closing"
        | asyncpg.exceptions.AdminShutdownError
        | asyncpg.exceptions.CrashShutdownError
        | OSError  # ConnectionRefusedError, FileNotFoundError of a unix socket
        | TimeoutError,
    )


__all__ = ["IdempotencyConflict", "InvalidTransition", "OrderNotFound", "is_database_unavailable"]
