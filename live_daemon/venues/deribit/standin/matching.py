"""The stand-in's matching rules, as plain functions (no I/O, no clock).

- :func:`check_order`: Deribit's checks of a buy/sell before it is accepted, each failure a
  :class:`OrderReject` with Deribit's code and the param it names;
- :func:`taker_price`: where an order that crosses fills: at the touch (buy at the ask,
  sell at the bid), the whole amount (the replayed touch size is not consumed);
- :func:`resting_fill_price`: a resting limit order fills at its own price, as maker,
  once the replayed book crosses it;
- :func:`fee`: inverse contracts: ``fee_rate * amount / price`` in the settlement currency;
- :func:`apply_fill`: the position after a trade (signed USD, harmonic average entry,
  realized PnL in coin).
"""

from __future__ import annotations

from decimal import Decimal

from live_daemon.venues.deribit.errors import DeribitErrorCode
from live_daemon.venues.deribit.messages import Direction, Liquidity, OrderType
from live_daemon.venues.deribit.standin.instruments import Listing
from live_daemon.venues.deribit.standin.model import PositionState, Touch

FEE_QUANTUM = Decimal("0.00000001")  # Deribit shows fees to 8 decimals
SUPPORTED_TYPES = frozenset({OrderType.limit, OrderType.market})


class OrderReject(Exception):
    """A Deribit error for an order: ``code`` and ``data`` ``{reason, param}``."""

    def __init__(self, code: DeribitErrorCode, param: str, reason: str) -> None:
        self.code = code
        self.param = param
        self.reason = reason
        super().__init__(f"{code.name} ({code.value}): {param}: {reason}")

    @property
    def data(self) -> dict[str, str]:
        return {"param": self.param, "reason": self.reason}


def check_order(
    listing: Listing | None,
    instrument_name: str,
    order_type: OrderType,
    amount: Decimal,
    price: Decimal | None,
) -> Listing:
    """The listing of a valid order, or :class:`OrderReject` naming the field."""
    if listing is None:
        raise OrderReject(
            DeribitErrorCode.invalid_or_unsupported_instrument,
            "instrument_name",
            f"instrument {instrument_name!r} is not listed",
        )
    if order_type not in SUPPORTED_TYPES:
        raise OrderReject(
            DeribitErrorCode.invalid_arguments, "type", f"order type {order_type} is not supported"
        )
    if amount <= 0 or amount % listing.contract_size != 0:
        raise OrderReject(
            DeribitErrorCode.invalid_arguments,
            "amount",
            f"must be a multiple of contract size {listing.contract_size}, got {amount}",
        )
    if order_type is OrderType.limit:
        if price is None:
            raise OrderReject(DeribitErrorCode.invalid_params, "price", "a limit order needs one")
        if price <= 0 or price % listing.tick_size != 0:
            raise OrderReject(
                DeribitErrorCode.price_wrong_tick,
                "price",
                f"must be a multiple of tick size {listing.tick_size}, got {price}",
            )
    return listing


def reduce_only_amount(position: PositionState, direction: Direction, amount: Decimal) -> Decimal:
    """A reduce-only order's amount: capped to the position it reduces; one that would not
    reduce it (flat, or the same side) is refused naming ``reduce_only``."""
    reduces = position.size > 0 if direction is Direction.sell else position.size < 0
    if not reduces:
        raise OrderReject(
            DeribitErrorCode.invalid_arguments,
            "reduce_only",
            f"a {direction} would not reduce the position of {position.size}",
        )
    return min(amount, abs(position.size))


def taker_price(direction: Direction, touch: Touch) -> Decimal | None:
    """The touch an aggressive order takes: buy at the ask, sell at the bid."""
    return touch.ask if direction is Direction.buy else touch.bid


def crosses(direction: Direction, limit: Decimal | None, touch: Touch) -> bool:
    """Whether an order (``limit`` None: market) trades against ``touch`` now."""
    price = taker_price(direction, touch)
    if price is None:
        return False
    if limit is None:
        return True
    return price <= limit if direction is Direction.buy else price >= limit


def resting_fill_price(direction: Direction, limit: Decimal, touch: Touch) -> Decimal | None:
    """A resting limit order's fill price (its own) once the book crosses it, else None."""
    return limit if crosses(direction, limit, touch) else None


def fee(listing: Listing, amount: Decimal, price: Decimal, liquidity: Liquidity) -> Decimal:
    rate = listing.maker_fee if liquidity is Liquidity.maker else listing.taker_fee
    notional = amount / price if listing.is_inverse else amount * price
    return (rate * notional).quantize(FEE_QUANTUM)


def apply_fill(
    position: PositionState, direction: Direction, amount: Decimal, price: Decimal
) -> PositionState:
    """The position after trading ``amount`` USD at ``price`` (inverse contract)."""
    signed = amount if direction is Direction.buy else -amount
    size, average, realized = position.size, position.average_price, position.realized
    if size == 0 or (size > 0) == (signed > 0):  # opening or adding: harmonic mean
        held = abs(size)
        coins = (held / average if held else Decimal(0)) + amount / price
        new_size = size + signed
        return PositionState(new_size, abs(new_size) / coins, realized)
    closed = min(abs(size), amount)
    sign = 1 if size > 0 else -1
    realized += sign * closed * (1 / average - 1 / price)
    new_size = size + signed
    if new_size == 0:
        return PositionState(Decimal(0), Decimal(0), realized)
    if (new_size > 0) == (size > 0):  # reduced, same side: the entry price stays
        return PositionState(new_size, average, realized)
    return PositionState(new_size, price, realized)  # flipped: the rest opens at price


def floating_pnl(position: PositionState, mark: Decimal | None) -> Decimal:
    """Unrealized PnL in coin at ``mark`` (0 without a position or a mark)."""
    if position.size == 0 or mark is None or position.average_price == 0:
        return Decimal(0)
    return position.size * (1 / position.average_price - 1 / mark)
