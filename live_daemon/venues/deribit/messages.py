"""Deribit's messages with Deribit's own field names, request builders and channel names.

Prices and amounts are Decimals (parse frames with :func:`.protocol.loads`, which keeps 0.1 as
Decimal('0.1')). Closed sets are StrEnums, so an unknown ``order_state`` is an error, not a
string passed along. Models ignore the many fields we do not use yet (Deribit adds fields
over time), and :meth:`_Message.wire` gives back the modelled ones under Deribit's names.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from live_daemon.venues.deribit.protocol import Request, RequestId, request

MAX_LABEL = 64  # Deribit's limit; our order id travels in the label
MIN_HEARTBEAT_S = 10  # public/set_heartbeat refuses a shorter interval


class OrderState(StrEnum):
    open = "open"
    filled = "filled"
    rejected = "rejected"
    cancelled = "cancelled"
    untriggered = "untriggered"


class Direction(StrEnum):
    buy = "buy"
    sell = "sell"


class PositionDirection(StrEnum):
    buy = "buy"
    sell = "sell"
    zero = "zero"


class OrderType(StrEnum):
    limit = "limit"
    market = "market"
    stop_limit = "stop_limit"
    stop_market = "stop_market"
    take_limit = "take_limit"
    take_market = "take_market"
    market_limit = "market_limit"
    trailing_stop = "trailing_stop"


class TimeInForce(StrEnum):
    good_til_cancelled = "good_til_cancelled"
    good_til_day = "good_til_day"
    fill_or_kill = "fill_or_kill"
    immediate_or_cancel = "immediate_or_cancel"


class Liquidity(StrEnum):
    maker = "M"
    taker = "T"


class BookAction(StrEnum):
    new = "new"
    change = "change"
    delete = "delete"


class GrantType(StrEnum):
    client_credentials = "client_credentials"
    client_signature = "client_signature"
    refresh_token = "refresh_token"


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def wire(self) -> dict[str, Any]:
        """The modelled fields under Deribit's names, as they came (None fields omitted)."""
        return self.model_dump(mode="python", exclude_none=True)


def _check_label(value: str | None) -> str | None:
    # our own message, not Field(max_length): it names Deribit's rule
    if value is not None and len(value) > MAX_LABEL:
        raise ValueError(f"label is {len(value)} characters; Deribit allows at most {MAX_LABEL}")
    return value


class Order(_Message):
    order_id: str
    instrument_name: str
    order_state: OrderState
    direction: Direction
    order_type: OrderType
    amount: Decimal
    filled_amount: Decimal
    # a market order's price is the string "market_price", not a number
    price: Decimal | Literal["market_price"] | None = None
    average_price: Decimal | None = None
    label: str = ""
    time_in_force: TimeInForce | None = None
    post_only: bool | None = None
    reduce_only: bool | None = None
    api: bool | None = None
    creation_timestamp: int
    last_update_timestamp: int

    @field_validator("label")
    @classmethod
    def _label_fits(cls, value: str | None) -> str | None:
        return _check_label(value)


class Trade(_Message):
    trade_id: str
    order_id: str
    instrument_name: str
    direction: Direction
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    liquidity: Liquidity
    timestamp: int
    trade_seq: int | None = None
    state: OrderState | None = None  # the order's state after this trade
    order_type: OrderType | None = None
    label: str | None = None
    index_price: Decimal | None = None
    mark_price: Decimal | None = None


class Position(_Message):
    # not checked against a documented example yet (none sourced): fields from the reference
    instrument_name: str
    direction: PositionDirection
    size: Decimal  # USD for inverse contracts, coin for options and linear ones
    average_price: Decimal | None = None
    kind: str | None = None
    # added with the stand-in: optional, as not every reply carries them
    size_currency: Decimal | None = None  # the size in the settlement currency
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    floating_profit_loss: Decimal | None = None
    realized_profit_loss: Decimal | None = None
    total_profit_loss: Decimal | None = None


class OrderResult(_Message):
    """The result of private/buy and private/sell: the order and its immediate trades."""

    order: Order
    trades: list[Trade]


class AuthResult(_Message):
    access_token: str
    expires_in: int  # seconds
    refresh_token: str
    scope: str
    token_type: Literal["bearer"] = "bearer"


class UserTrades(_Message):
    """The result of private/get_user_trades_by_instrument."""

    trades: list[Trade]
    has_more: bool


class Ticker(_Message):
    """Data of a ``ticker.{inst}.{interval}`` notification (the fields we use)."""

    instrument_name: str
    timestamp: int
    best_bid_price: Decimal | None = None
    best_bid_amount: Decimal | None = None
    best_ask_price: Decimal | None = None
    best_ask_amount: Decimal | None = None
    last_price: Decimal | None = None
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    state: str | None = None


BookLevel = tuple[BookAction, Decimal, Decimal]  # [action, price, amount]


class BookUpdate(_Message):
    """Data of a ``book.{inst}.{interval}`` notification: the first is the whole book (all
    ``new``), the next ones changes; ``prev_change_id`` equal to the last ``change_id`` means
    nothing was missed."""

    instrument_name: str
    timestamp: int
    change_id: int
    prev_change_id: int | None = None
    type: Literal["snapshot", "change"] | None = None
    bids: list[BookLevel]
    asks: list[BookLevel]

    @property
    def is_snapshot(self) -> bool:
        return self.prev_change_id is None


# ---- request params -----------------------------------------------------------------


class OrderParams(BaseModel):
    """Params of private/buy and private/sell (the direction is the method)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument_name: str = Field(min_length=1)
    amount: Decimal = Field(gt=0)
    type: OrderType = OrderType.limit
    price: Decimal | None = Field(default=None, gt=0)
    label: str | None = None
    time_in_force: TimeInForce | None = None
    post_only: bool | None = None
    reduce_only: bool | None = None

    @field_validator("label")
    @classmethod
    def _label_fits(cls, value: str | None) -> str | None:
        return _check_label(value)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="python", exclude_none=True)


def buy(id: RequestId, params: OrderParams) -> Request:
    return request(id, "private/buy", params.wire())


def sell(id: RequestId, params: OrderParams) -> Request:
    return request(id, "private/sell", params.wire())


def cancel(id: RequestId, order_id: str) -> Request:
    return request(id, "private/cancel", {"order_id": order_id})


def get_order_state(id: RequestId, order_id: str) -> Request:
    return request(id, "private/get_order_state", {"order_id": order_id})


def get_open_orders_by_instrument(id: RequestId, instrument_name: str) -> Request:
    return request(
        id, "private/get_open_orders_by_instrument", {"instrument_name": instrument_name}
    )


def get_user_trades_by_instrument(
    id: RequestId, instrument_name: str, start_seq: int | None = None, count: int | None = None
) -> Request:
    params: dict[str, Any] = {"instrument_name": instrument_name}
    if start_seq is not None:  # fills since a point: the trade_seq after the last one we hold
        params["start_seq"] = start_seq
    if count is not None:
        params["count"] = count
    return request(id, "private/get_user_trades_by_instrument", params)


def get_positions(id: RequestId, currency: str, kind: str | None = None) -> Request:
    params: dict[str, Any] = {"currency": currency}
    if kind is not None:
        params["kind"] = kind
    return request(id, "private/get_positions", params)


def get_order_state_by_label(id: RequestId, currency: str, label: str) -> Request:
    """Every order with ``label`` in ``currency``: how an order is found by our id after
    a lost reply."""
    return request(id, "private/get_order_state_by_label", {"currency": currency, "label": label})


def enable_cancel_on_disconnect(id: RequestId, scope: str = "connection") -> Request:
    return request(id, "private/enable_cancel_on_disconnect", {"scope": scope})


def get_user_trades_by_order(id: RequestId, order_id: str, sorting: str = "asc") -> Request:
    """The trades of one order (the adapter's order record, with its fills)."""
    return request(
        id, "private/get_user_trades_by_order", {"order_id": order_id, "sorting": sorting}
    )


def get_user_trades_by_instrument_since(
    id: RequestId,
    instrument_name: str,
    start_timestamp: int,
    count: int | None = None,
    sorting: str = "asc",
) -> Request:
    """Trades at or after ``start_timestamp`` (ms), oldest first: the adapter's fills
    since a point in time (the result is :class:`UserTrades`; page on ``has_more``)."""
    params: dict[str, Any] = {
        "instrument_name": instrument_name,
        "start_timestamp": start_timestamp,
        "sorting": sorting,
    }
    if count is not None:
        params["count"] = count
    return request(id, "private/get_user_trades_by_instrument", params)


def unsubscribe(id: RequestId, channels: list[str]) -> Request:
    if not channels:
        raise ValueError("unsubscribe needs at least one channel")
    return request(id, "private/unsubscribe", {"channels": list(channels)})


def auth_client_credentials(id: RequestId, client_id: str, client_secret: str) -> Request:
    return request(
        id,
        "public/auth",
        {
            "grant_type": GrantType.client_credentials.value,
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )


def auth_refresh(id: RequestId, refresh_token: str) -> Request:
    return request(
        id,
        "public/auth",
        {"grant_type": GrantType.refresh_token.value, "refresh_token": refresh_token},
    )


def set_heartbeat(id: RequestId, interval: int) -> Request:
    if interval < MIN_HEARTBEAT_S:
        raise ValueError(f"heartbeat interval is {interval} s; Deribit needs at least 10")
    return request(id, "public/set_heartbeat", {"interval": interval})


def public_test(id: RequestId) -> Request:
    """The answer to a ``test_request`` heartbeat."""
    return request(id, "public/test", {})


def subscribe(id: RequestId, channels: list[str]) -> Request:
    if not channels:
        raise ValueError("subscribe needs at least one channel")
    return request(id, "private/subscribe", {"channels": list(channels)})


# ---- channel names ------------------------------------------------------------------


def user_orders_channel(instrument_name: str) -> str:
    return f"user.orders.{instrument_name}.raw"


def user_trades_channel(instrument_name: str) -> str:
    return f"user.trades.{instrument_name}.raw"


def book_channel(instrument_name: str) -> str:
    return f"book.{instrument_name}.100ms"


def ticker_channel(instrument_name: str) -> str:
    return f"ticker.{instrument_name}.100ms"
