"""Our orders ↔ IB orders (plain functions).

:func:`to_ib_order` turns a :class:`~live_daemon.venues.gateway.VenueOrder` into an ib_async
``Order``: ``MKT``/``LMT``, ``BUY``/``SELL``, ``totalQuantity``, ``lmtPrice``, ``tif`` and
``orderRef`` = our order id, which IB keeps with the order, its executions and its completed
record, so that the order is found by it after a lost reply or a reconnect and never sent
twice. :func:`order_status` maps IB's order statuses onto the daemon's.

IB's API carries quantities and prices as doubles: a value that does not survive the round
trip through a double (more than ~15 significant digits) is refused, naming the field.
"""

from __future__ import annotations

from decimal import Decimal

from ib_async import Order

from live_daemon.operations import Operation, TimeInForce
from live_daemon.venues.gateway import VenueOrder


class IBOrderError(ValueError):
    """An order IB cannot take as it is; the message names the field."""


TIME_IN_FORCE = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
_ACTIONS = {"BUY": "BUY", "SELL": "SELL"}
_ORDER_TYPES = {"MARKET": "MKT", "LIMIT": "LMT"}

# IB status -> the daemon's (ORDER_STATUSES); PARTIALLY_FILLED is decided by the quantity
_STATUSES = {
    "ApiPending": "SUBMITTED",
    "PendingSubmit": "SUBMITTED",
    "PreSubmitted": "ACCEPTED",
    "Submitted": "ACCEPTED",
    "PendingCancel": "ACCEPTED",  # still working until IB says Cancelled
    "ValidationError": "ACCEPTED",  # a warning: the order is live at IB
    "ApiCancelled": "CANCELED",
    "Cancelled": "CANCELED",
    "Filled": "FILLED",
    "Inactive": "REJECTED",
}


def exact_double(value: Decimal, name: str, order_id: str) -> float:
    """``value`` as the double the API carries; refuses one that would change."""
    number = float(value)
    if Decimal(repr(number)) != value:
        raise IBOrderError(
            f"order {order_id}: {name} {value} cannot travel exactly as a double at IB"
        )
    return number


def to_ib_order(order: VenueOrder, account: str = "") -> Order:
    """The ib_async ``Order`` for ``order`` (module docstring); raises
    :class:`IBOrderError` naming the field IB cannot take."""
    oid = order.order_id
    action = _ACTIONS.get(order.side)
    if action is None:
        raise IBOrderError(f"order {oid}: side {order.side!r} must be BUY or SELL")
    order_type = _ORDER_TYPES.get(order.order_type)
    if order_type is None:
        raise IBOrderError(f"order {oid}: order_type {order.order_type!r} must be MARKET or LIMIT")
    if order.quantity <= 0:
        raise IBOrderError(f"order {oid}: quantity {order.quantity} must be positive")
    terms = order.terms
    if terms is not None and terms.operation is not Operation.TRADE:
        raise IBOrderError(f"order {oid}: operation {terms.operation.value!r} is not traded at IB")
    tif = TIME_IN_FORCE[terms.time_in_force if terms is not None else TimeInForce.GTC]
    ib_order = Order(
        action=action,
        orderType=order_type,
        totalQuantity=exact_double(order.quantity, "quantity", oid),
        tif=tif,
        orderRef=oid,
        account=account,
    )
    if order_type == "LMT":
        if order.price is None or order.price <= 0:
            raise IBOrderError(f"order {oid}: price must be positive for a LIMIT order")
        ib_order.lmtPrice = exact_double(order.price, "price", oid)
    elif order.price is not None:
        raise IBOrderError(f"order {oid}: price must be empty for a MARKET order")
    return ib_order


def order_status(ib_status: str, filled: Decimal) -> str:
    """The daemon's status of an order IB reports as ``ib_status`` with ``filled`` done."""
    status = _STATUSES.get(ib_status, "SUBMITTED")
    if status == "ACCEPTED" and filled > 0:
        return "PARTIALLY_FILLED"
    return status


def side_of(action: str) -> str:
    """``BUY``/``SELL`` from an order's action or an execution's side (``BOT``/``SLD``)."""
    return "BUY" if action in ("BUY", "BOT") else "SELL"


def to_decimal(value: float) -> Decimal:
    """A double from the API as the decimal it was written as."""
    return Decimal(repr(float(value)))
