"""Our orders in Deribit's terms and back, as plain functions.

- :func:`order_params`: a :class:`VenueOrder` checked against the instrument's rules and
  turned into ``private/buy``/``private/sell`` params, our order id in ``label``. Bad input
  raises :class:`OrderInputError` naming the field, and is never sent;
- :func:`order_record`, :func:`fill`: a Deribit order and its trades as the daemon's
  :class:`VenueOrderRecord` and :class:`Fill` (quantities in Deribit's units: USD for
  inverse contracts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from live_daemon.domain import Fill
from live_daemon.operations import Operation, TimeInForce
from live_daemon.venues.deribit import messages as m
from live_daemon.venues.deribit.instruments import DeribitInstrument
from live_daemon.venues.gateway import VenueOrder, VenueOrderRecord

TIME_IN_FORCE = {
    TimeInForce.GTC: m.TimeInForce.good_til_cancelled,
    TimeInForce.IOC: m.TimeInForce.immediate_or_cancel,
    TimeInForce.FOK: m.TimeInForce.fill_or_kill,
}
DIRECTION = {"BUY": m.Direction.buy, "SELL": m.Direction.sell}
ORDER_TYPE = {"MARKET": m.OrderType.market, "LIMIT": m.OrderType.limit}


class OrderInputError(ValueError):
    """An order we refuse before sending it; ``field`` is the VenueOrder field at fault."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def order_params(
    order: VenueOrder, rules: DeribitInstrument | None
) -> tuple[m.Direction, m.OrderParams]:
    """The direction and params of ``order`` (module docstring); ``rules`` is ``None``
    when the instrument is not one we trade on Deribit."""
    if rules is None:
        raise OrderInputError(
            "venue_key", f"{order.venue_key} is not an instrument this Deribit adapter trades"
        )
    if not order.order_id or len(order.order_id) > m.MAX_LABEL:
        raise OrderInputError(
            "order_id",
            f"{order.order_id!r} must be 1 to {m.MAX_LABEL} characters (it travels as label)",
        )
    direction = DIRECTION.get(order.side)
    if direction is None:
        raise OrderInputError("side", f"{order.side!r} is not BUY or SELL")
    kind = ORDER_TYPE.get(order.order_type)
    if kind is None:
        raise OrderInputError("order_type", f"{order.order_type!r} is not MARKET or LIMIT")
    if order.exec_algorithm != "NORMAL":
        raise OrderInputError(
            "exec_algorithm", f"Deribit runs no {order.exec_algorithm!r}: only NORMAL orders"
        )
    quantity = order.quantity
    unit = "USD" if rules.is_inverse else "contracts"
    if not quantity.is_finite() or quantity <= 0 or quantity % rules.contract_size != 0:
        raise OrderInputError(
            "quantity",
            f"{quantity} is not a positive multiple of {rules.name}'s contract size "
            f"{rules.contract_size} {unit} (Deribit's amount)",
        )
    price: Decimal | None = None
    if kind is m.OrderType.limit:
        if order.price is None:
            raise OrderInputError("price", "a LIMIT order needs a price")
        if not order.price.is_finite() or order.price <= 0:
            raise OrderInputError("price", f"{order.price} is not a positive price")
        if order.price % rules.tick_size != 0:
            raise OrderInputError(
                "price", f"{order.price} is not on {rules.name}'s tick size {rules.tick_size}"
            )
        price = order.price
    time_in_force = None
    if order.terms is not None:
        if order.terms.operation is not Operation.TRADE:
            raise OrderInputError(
                "terms.operation", f"Deribit takes trades only, not {order.terms.operation.value!r}"
            )
        time_in_force = TIME_IN_FORCE[order.terms.time_in_force]
    params = m.OrderParams(
        instrument_name=rules.name,
        amount=quantity,
        type=kind,
        price=price,
        label=order.order_id,
        time_in_force=time_in_force,
    )
    return direction, params


def timestamp(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def fill(trade: m.Trade, order_id: str) -> Fill:
    """A Deribit trade of our order ``order_id`` as a fill (amount in Deribit's units)."""
    return Fill(
        fill_id=trade.trade_id,
        order_id=order_id,
        quantity=trade.amount,
        price=trade.price,
        fee=trade.fee,
        fee_currency=trade.fee_currency,
        liquidity_side="MAKER" if trade.liquidity is m.Liquidity.maker else "TAKER",
        ts=timestamp(trade.timestamp),
    )


def status(order: m.Order) -> str:
    """Deribit's order state in the daemon's vocabulary (:data:`ORDER_STATUSES`)."""
    state = order.order_state
    if state is m.OrderState.filled:
        return "FILLED"
    if state is m.OrderState.cancelled:
        return "CANCELED"
    if state is m.OrderState.rejected:
        return "REJECTED"
    return "PARTIALLY_FILLED" if order.filled_amount > 0 else "ACCEPTED"


def order_record(order: m.Order, key: str, trades: Iterable[m.Trade] = ()) -> VenueOrderRecord:
    """Our order (its label is our id) as the daemon's record, with ``trades`` as fills."""
    state = status(order)
    reason = {"CANCELED": "cancelled at Deribit", "REJECTED": "rejected by Deribit"}.get(state)
    return VenueOrderRecord(
        order_id=order.label,
        venue_key=key,
        side=order.direction.value.upper(),
        quantity=order.amount,
        status=state,
        filled_quantity=order.filled_amount,
        reason=reason,
        fills=tuple(fill(t, order.label) for t in trades),
    )
