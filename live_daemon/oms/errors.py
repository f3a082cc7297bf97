"""What the order store raises (re-exported by :mod:`live_daemon.oms.orders`)."""

from __future__ import annotations

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


__all__ = ["IdempotencyConflict", "InvalidTransition", "OrderNotFound"]
