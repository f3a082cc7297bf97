"""The stand-in's orders, trades and positions, and their Deribit wire shapes.

Field names and shapes follow Deribit's ``private/buy`` reply (the fixture in
``tests/fixtures/deribit``): an order carries ``order_id``, ``order_state``, ``amount``,
``filled_amount``, ``average_price`` (0 until filled, as Deribit shows it), ``label`` ("" when
none), times in ms; a market order's ``price`` is ``"market_price"``. Amounts of inverse
contracts are USD; fees and PnL are in the settlement currency (BTC for BTC-PERPETUAL).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from live_daemon.venues.deribit.messages import Direction, Liquidity, OrderState, OrderType

OPEN_STATES = frozenset({OrderState.open, OrderState.untriggered})


@dataclass
class StandinOrder:
    order_id: str
    instrument_name: str
    direction: Direction
    order_type: OrderType
    amount: Decimal
    price: Decimal | None  # None for a market order
    label: str
    time_in_force: str
    post_only: bool
    reduce_only: bool
    creation_timestamp: int  # ms
    last_update_timestamp: int
    order_state: OrderState = OrderState.open
    filled_amount: Decimal = Decimal(0)
    average_price: Decimal = Decimal(0)
    cancel_reason: str | None = None

    @property
    def is_open(self) -> bool:
        return self.order_state in OPEN_STATES

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled_amount

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "order_id": self.order_id,
            "instrument_name": self.instrument_name,
            "direction": self.direction.value,
            "order_type": self.order_type.value,
            "order_state": self.order_state.value,
            "amount": self.amount,
            "filled_amount": self.filled_amount,
            "price": "market_price" if self.price is None else self.price,
            "average_price": self.average_price,
            "label": self.label,
            "time_in_force": self.time_in_force,
            "post_only": self.post_only,
            "reduce_only": self.reduce_only,
            "max_show": self.amount,
            "creation_timestamp": self.creation_timestamp,
            "last_update_timestamp": self.last_update_timestamp,
            "api": True,
            "web": False,
            "replaced": False,
            "is_liquidation": False,
            "is_rebalance": False,
        }
        if self.cancel_reason is not None:
            body["cancel_reason"] = self.cancel_reason
        return body

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> StandinOrder:
        price = body["price"]
        return cls(
            order_id=body["order_id"],
            instrument_name=body["instrument_name"],
            direction=Direction(body["direction"]),
            order_type=OrderType(body["order_type"]),
            amount=Decimal(str(body["amount"])),
            price=None if price == "market_price" else Decimal(str(price)),
            label=body["label"],
            time_in_force=body["time_in_force"],
            post_only=bool(body["post_only"]),
            reduce_only=bool(body["reduce_only"]),
            creation_timestamp=int(body["creation_timestamp"]),
            last_update_timestamp=int(body["last_update_timestamp"]),
            order_state=OrderState(body["order_state"]),
            filled_amount=Decimal(str(body["filled_amount"])),
            average_price=Decimal(str(body["average_price"])),
            cancel_reason=body.get("cancel_reason"),
        )


@dataclass(frozen=True)
class StandinTrade:
    trade_id: str
    trade_seq: int  # per instrument, from 1
    order_id: str
    instrument_name: str
    direction: Direction
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    timestamp: int  # ms
    order_type: OrderType
    label: str
    state: OrderState  # the order's state after this trade
    reduce_only: bool = False
    post_only: bool = False

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "trade_id": self.trade_id,
            "trade_seq": self.trade_seq,
            "order_id": self.order_id,
            "instrument_name": self.instrument_name,
            "direction": self.direction.value,
            "price": self.price,
            "amount": self.amount,
            "fee": self.fee,
            "fee_currency": self.fee_currency,
            "liquidity": self.liquidity.value,
            "timestamp": self.timestamp,
            "order_type": self.order_type.value,
            "state": self.state.value,
            "index_price": self.price,
            "mark_price": self.price,
            "tick_direction": 0,
            "reduce_only": self.reduce_only,
            "post_only": self.post_only,
            "matching_id": None,
        }
        if self.label:  # Deribit presents the label only when the order has one
            body["label"] = self.label
        return body

    @classmethod
    def from_wire(cls, body: dict[str, Any]) -> StandinTrade:
        return cls(
            trade_id=body["trade_id"],
            trade_seq=int(body["trade_seq"]),
            order_id=body["order_id"],
            instrument_name=body["instrument_name"],
            direction=Direction(body["direction"]),
            price=Decimal(str(body["price"])),
            amount=Decimal(str(body["amount"])),
            fee=Decimal(str(body["fee"])),
            fee_currency=body["fee_currency"],
            liquidity=Liquidity(body["liquidity"]),
            timestamp=int(body["timestamp"]),
            order_type=OrderType(body["order_type"]),
            label=body.get("label", ""),
            state=OrderState(body["state"]),
            reduce_only=bool(body.get("reduce_only", False)),
            post_only=bool(body.get("post_only", False)),
        )


@dataclass(frozen=True)
class PositionState:
    """One instrument's position: ``size`` signed USD (buy +), the average entry price
    (harmonic for inverse contracts), realized PnL in the settlement currency."""

    size: Decimal = Decimal(0)
    average_price: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)


@dataclass
class Touch:
    """The top of the replayed book: best bid and ask, amounts in USD."""

    bid: Decimal | None = None
    bid_amount: Decimal = Decimal(0)
    ask: Decimal | None = None
    ask_amount: Decimal = Decimal(0)
    timestamp: int = 0  # ms

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2
