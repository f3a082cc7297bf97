"""The stand-in's exchange: its orders, trades and positions, matched against the replayed
touch of each instrument, recorded before anyone hears of them.

Called from the server's event loop only (no locks). Every change is written to the record
(:mod:`.record`) first, then handed to ``notify(channel, data)`` for the ``user.orders`` and
``user.trades`` subscribers; the reply to the request that caused it is built after that.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from live_daemon.venues.deribit.errors import DeribitErrorCode
from live_daemon.venues.deribit.messages import (
    Direction,
    Liquidity,
    OrderParams,
    OrderState,
    OrderType,
    TimeInForce,
    user_orders_channel,
    user_trades_channel,
)
from live_daemon.venues.deribit.standin import matching
from live_daemon.venues.deribit.standin.instruments import Listing
from live_daemon.venues.deribit.standin.matching import OrderReject
from live_daemon.venues.deribit.standin.model import (
    PositionState,
    StandinOrder,
    StandinTrade,
    Touch,
)
from live_daemon.venues.deribit.standin.record import StandinRecord

log = logging.getLogger(__name__)

Notify = Callable[[str, Any], None]
_TRAILING_NUMBER = re.compile(r"\d+$")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _counter(ids: list[str]) -> int:
    """The highest number ending these ids: order ids ``BTC-12``, trade ids ``BTC-T12``
    (a restarted stand-in numbers on from its record, never reusing a trade id)."""
    numbers = [int(found.group()) for i in ids if (found := _TRAILING_NUMBER.search(i))]
    return max(numbers, default=0)


class Exchange:
    def __init__(self, listings: dict[str, Listing], record: StandinRecord, notify: Notify) -> None:
        self.listings = listings
        self.record = record
        self.notify = notify
        self.touches: dict[str, Touch] = {name: Touch() for name in listings}
        loaded = record.load()
        self.orders = loaded.orders
        self.trades = loaded.trades
        self.positions = loaded.positions
        self._next_order = _counter(list(self.orders)) + 1
        self._next_trade = _counter([t.trade_id for t in self.trades]) + 1
        self._trade_seq: dict[str, int] = {}
        for trade in self.trades:
            seq = self._trade_seq.get(trade.instrument_name, 0)
            self._trade_seq[trade.instrument_name] = max(seq, trade.trade_seq)

    # -- orders ------------------------------------------------------------------------

    def place(self, direction: Direction, params: OrderParams) -> tuple[StandinOrder, list]:
        """Check, accept, match and record an order: the order and its immediate trades."""
        listing = matching.check_order(
            self.listings.get(params.instrument_name),
            params.instrument_name,
            params.type,
            params.amount,
            params.price,
        )
        amount = params.amount
        if params.reduce_only:
            held = self.positions.get(listing.name, PositionState())
            amount = matching.reduce_only_amount(held, direction, amount)
        touch = self.touches[listing.name]
        limit = params.price if params.type is OrderType.limit else None
        tif = params.time_in_force or TimeInForce.good_til_cancelled
        takes = matching.crosses(direction, limit, touch)
        if params.post_only and takes:
            raise OrderReject(
                DeribitErrorCode.post_only_reject, "post_only", "the order would take liquidity"
            )
        if params.type is OrderType.market and not takes:
            raise OrderReject(DeribitErrorCode.other_reject, "type", "no liquidity at the touch")
        now = _now_ms()
        order = StandinOrder(
            order_id=f"{listing.currency}-{self._next_order}",
            instrument_name=listing.name,
            direction=direction,
            order_type=params.type,
            amount=amount,
            price=limit,
            label=params.label or "",
            time_in_force=tif.value,
            post_only=bool(params.post_only),
            reduce_only=bool(params.reduce_only),
            creation_timestamp=now,
            last_update_timestamp=now,
        )
        self._next_order += 1
        trades: list[StandinTrade] = []
        if takes:
            price = matching.taker_price(direction, touch)
            assert price is not None
            trades.append(self._fill(order, listing, price, Liquidity.taker, now))
        elif tif in (TimeInForce.immediate_or_cancel, TimeInForce.fill_or_kill):
            order.order_state, order.cancel_reason = OrderState.cancelled, "immediate_or_cancel"
        self._commit([order], trades)
        return order, trades

    def _fill(
        self, order: StandinOrder, listing: Listing, price: Decimal, liquidity: Liquidity, now: int
    ) -> StandinTrade:
        amount = order.remaining
        done = order.filled_amount
        order.filled_amount = order.amount
        order.average_price = (order.average_price * done + price * amount) / order.amount
        order.order_state, order.last_update_timestamp = OrderState.filled, now
        seq = self._trade_seq.get(listing.name, 0) + 1
        self._trade_seq[listing.name] = seq
        trade = StandinTrade(
            trade_id=f"{listing.currency}-T{self._next_trade}",
            trade_seq=seq,
            order_id=order.order_id,
            instrument_name=listing.name,
            direction=order.direction,
            price=price,
            amount=amount,
            fee=matching.fee(listing, amount, price, liquidity),
            fee_currency=listing.currency,
            liquidity=liquidity,
            timestamp=now,
            order_type=order.order_type,
            label=order.label,
            state=order.order_state,
            reduce_only=order.reduce_only,
            post_only=order.post_only,
        )
        self._next_trade += 1
        held = self.positions.get(listing.name, PositionState())
        self.positions[listing.name] = matching.apply_fill(held, order.direction, amount, price)
        return trade

    def cancel(self, order_id: str, reason: str = "user_request") -> StandinOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise OrderReject(DeribitErrorCode.order_not_found, "order_id", "no such order")
        if not order.is_open:
            raise OrderReject(DeribitErrorCode.not_open_order, "order_id", f"{order.order_state}")
        order.order_state, order.cancel_reason = OrderState.cancelled, reason
        order.last_update_timestamp = _now_ms()
        self._commit([order], [])
        return order

    def cancel_all(self, reason: str) -> int:
        open_ids = [o.order_id for o in self.orders.values() if o.is_open]
        for order_id in open_ids:
            self.cancel(order_id, reason)
        return len(open_ids)

    def set_touch(self, name: str, touch: Touch) -> None:
        """A new top of book from the replay: resting orders it crosses fill as makers."""
        self.touches[name] = touch
        listing = self.listings[name]
        filled, trades = [], []
        for order in self.orders.values():
            if order.instrument_name != name or not order.is_open or order.price is None:
                continue
            price = matching.resting_fill_price(order.direction, order.price, touch)
            if price is not None:
                trades.append(self._fill(order, listing, price, Liquidity.maker, _now_ms()))
                filled.append(order)
        if filled:
            self._commit(filled, trades)

    def _commit(self, orders: list[StandinOrder], trades: list[StandinTrade]) -> None:
        self.record.write(orders, trades)  # before any reply or notification
        for order in orders:
            self.orders[order.order_id] = order
            self.notify(user_orders_channel(order.instrument_name), order.wire())
        for trade in trades:
            self.trades.append(trade)
            self.notify(user_trades_channel(trade.instrument_name), [trade.wire()])

    # -- queries -----------------------------------------------------------------------

    def order(self, order_id: str) -> StandinOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise OrderReject(DeribitErrorCode.order_not_found, "order_id", "no such order")
        return order

    def by_label(self, currency: str, label: str) -> list[StandinOrder]:
        names = {n for n, item in self.listings.items() if item.currency == currency}
        return [o for o in self.orders.values() if o.label == label and o.instrument_name in names]

    def open_orders(self, name: str) -> list[StandinOrder]:
        self._listing(name)
        return [o for o in self.orders.values() if o.instrument_name == name and o.is_open]

    def user_trades(
        self, name: str, start_seq: int | None, end_seq: int | None, count: int, sorting: str
    ) -> dict[str, Any]:
        self._listing(name)
        chosen = [
            t
            for t in self.trades
            if t.instrument_name == name
            and (start_seq is None or t.trade_seq >= start_seq)
            and (end_seq is None or t.trade_seq <= end_seq)
        ]
        if sorting == "desc" or (sorting == "default" and start_seq is None):
            chosen.reverse()
        return {"trades": [t.wire() for t in chosen[:count]], "has_more": len(chosen) > count}

    def position(self, name: str) -> dict[str, Any]:
        listing = self._listing(name)
        held = self.positions.get(name, PositionState())
        mark = self.touches[name].mid
        floating = matching.floating_pnl(held, mark)
        direction = "zero" if held.size == 0 else ("buy" if held.size > 0 else "sell")
        size_currency = held.size / mark if mark else Decimal(0)
        return {
            "instrument_name": name,
            "kind": listing.kind,
            "direction": direction,
            "size": held.size,
            "size_currency": size_currency.quantize(matching.FEE_QUANTUM),
            "average_price": held.average_price.quantize(listing.tick_size / 100),
            "mark_price": mark,
            "index_price": mark,
            "floating_profit_loss": floating.quantize(matching.FEE_QUANTUM),
            "realized_profit_loss": held.realized.quantize(matching.FEE_QUANTUM),
            "total_profit_loss": (floating + held.realized).quantize(matching.FEE_QUANTUM),
        }

    def positions_of(self, currency: str) -> list[dict[str, Any]]:
        return [
            self.position(name)
            for name, item in self.listings.items()
            if item.currency == currency and name in self.positions
        ]

    def _listing(self, name: str) -> Listing:
        listing = self.listings.get(name)
        if listing is None:
            raise OrderReject(DeribitErrorCode.not_found, "instrument_name", f"{name!r} not found")
        return listing
