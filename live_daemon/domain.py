"""The daemon's own order model, shared by the API, the OMS, the orchestrator and venues.

Quantities and prices are ``Decimal`` everywhere in the live path (they arrive as decimal
strings and go to venues as strings); floats only appear in metrics.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from execution_core.orders import OrderType, Side
from live_daemon.operations import OrderTerms


class OrderStatus(StrEnum):
    RECEIVED = "RECEIVED"  # validated and recorded; nothing sent anywhere yet
    REJECTED = "REJECTED"  # by risk, routing or the venue; final
    ACCEPTED = "ACCEPTED"  # risk passed, venue chosen, about to be sent
    SUBMITTED = "SUBMITTED"  # handed to the venue client
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.REJECTED, OrderStatus.FILLED, OrderStatus.CANCELED)


class EventKind(StrEnum):
    """The append-only order-event log (``order_events``)."""

    SUBMITTED = "submitted"  # request received and recorded (write-ahead)
    RISK = "risk"  # risk result, pass or reject with reasons
    ROUTED = "routed"  # venue chosen, with the router's scores
    ACKNOWLEDGED = "acknowledged"  # venue accepted
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    RECOVERED = "recovered"  # resolved on startup against the venue


@dataclass(frozen=True)
class OrderRequest:
    """A validated ``POST /api/orders`` body."""

    operation_id: str
    instrument_key: str  # canonical; venue may be ANY
    side: Side
    quantity: Decimal
    order_type: OrderType
    strategy_id: str
    price: Decimal | None = None
    exec_algorithm: str = "NORMAL"
    exec_algorithm_params: dict[str, Any] = field(default_factory=dict)
    terms: OrderTerms = field(default_factory=OrderTerms)  # operation, time in force…

    def payload_hash(self) -> str:
        """Identity of the request: the same operation_id with another hash is a conflict."""
        body = {
            "operation_id": self.operation_id,
            "instrument_key": self.instrument_key,
            "side": self.side,
            "quantity": str(self.quantity.normalize()),
            "order_type": self.order_type,
            "strategy_id": self.strategy_id,
            "price": None if self.price is None else str(self.price.normalize()),
            "exec_algorithm": self.exec_algorithm,
            "exec_algorithm_params": self.exec_algorithm_params,
        }
        if identity := self.terms.identity():  # a plain GTC trade keeps its old hash
            body["terms"] = identity
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Fill:
    fill_id: str
    order_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    liquidity_side: str  # MAKER | TAKER
    ts: dt.datetime


@dataclass(frozen=True)
class OrderRecord:
    """A row of ``unified_orders`` (plus its fills when loaded with them)."""

    order_id: str
    operation_id: str
    strategy_id: str
    instrument_key: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    exec_algorithm: str
    exec_algorithm_params: dict[str, Any]
    payload_hash: str
    status: OrderStatus
    venue_key: str | None
    rejection_reason: str | None
    filled_quantity: Decimal
    avg_fill_price: Decimal | None
    created_at: dt.datetime
    updated_at: dt.datetime
    fills: tuple[Fill, ...] = ()
    terms: OrderTerms = field(default_factory=OrderTerms)  # operation, venue type, outcome…
