"""Pre-trade risk rules: plain, deterministic functions shared by backtest and live.

Every rule has the shape ``rule(order, state, limits[, spec]) -> RiskRejection | None``:
``None`` means the order passes, a :class:`RiskRejection` carries a stable ``code`` and a
``reason`` naming the limit, the instrument or strategy, the value and the threshold. The
rules do no I/O and read no clock: time is the order's ``ts_ns`` (UTC nanoseconds).
Quantities and money are :class:`~decimal.Decimal`.

Units and keys
--------------
Quantities and positions are **base units** (BTC for ``BTC-USDT``, inverse contracts
included); prices, notionals and the balance are in the quote currency (USDT/USD); the
notional of ``q`` base units at price ``p`` is ``q × p`` for linear and inverse alike.
Positions are kept per *instrument family*: the canonical ID without asset class and
venue (:func:`instrument_family`), so ``BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN``,
``OKX:PERPETUAL:BTC-USDT@LIN`` and ``ANY:PERPETUAL:BTC-USDT@LIN`` all count against
``PERPETUAL:BTC-USDT@LIN``. :class:`RiskState` folds keys given with a venue onto their
family (positions add up; for last prices a later key wins).

What the position rules measure
-------------------------------
The *exposure* of a strategy in a family is its worst-case |position| should its open
orders fill: ``max(|position + open buys|, |position − open sells|)`` (just |position|
without open orders). An order adds to the open buys or sells of its side.

- ``check_instrument_position``: exposure of (order's strategy, order's family)
  ≤ ``max_position_per_instrument`` (or its ``per_instrument_max_position`` override);
- ``check_strategy_position``: sum over families of the strategy's exposures
  ≤ ``max_position_per_strategy``;
- ``check_gross_position``: sum over every strategy and family ≤ ``max_gross_position``
  (strategies do not net against each other);
- ``check_notional_exposure``: sum over every strategy and family of exposure × last
  price ≤ ``max_notional_exposure``.

**A rule rejects only an order that increases what it measures beyond the limit.** An
order that does not increase the exposure of its (strategy, family) — a reducing order,
or a flip to an equal or smaller opposite position — passes every position rule, the
notional rule and the balance rule even while the book is above a limit, so a breach can
always be traded out of.

Missing data
------------
A rule that needs a last price which is missing (limit-price tolerance, notional
exposure, balance for a market order) rejects with code ``NO_LAST_PRICE`` and says which
check it could not do, unless ``limits.require_last_price`` is False, in which case it
skips what it cannot price. An unknown balance (``None``) is handled the same way by
``limits.require_balance``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from execution_core.instruments.ids import CanonicalId, InstrumentType, instrument_family
from execution_core.instruments.reference import InstrumentSpec
from execution_core.orders import OrderType, Side
from execution_core.risk.config import RiskLimits

__all__ = [
    "NS_PER_MINUTE",
    "NS_PER_SECOND",
    "Exposure",
    "ExposureTotals",
    "OpenQuantity",
    "RiskOrder",
    "RiskRejection",
    "RiskState",
    "check_balance",
    "check_gross_position",
    "check_instrument_position",
    "check_limit_price",
    "check_notional_exposure",
    "check_order_size",
    "check_strategy_position",
    "check_velocity",
    "fmt",
    "listing_problem",
    "margin_rate",
]

_SIDES = tuple(Side)
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
BPS = Decimal(10_000)
ZERO = Decimal(0)


def fmt(value: Decimal | int) -> str:
    """A decimal as plain text without exponent or trailing zeros (``5E+1`` → ``50``)."""
    if isinstance(value, int):
        return str(value)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _fmt_bps(value: Decimal) -> str:
    return fmt(value.quantize(Decimal("0.0001")))


@dataclass(frozen=True)
class RiskRejection:
    """Why a rule rejects an order: a stable ``code`` and a human-readable ``reason``."""

    code: str
    reason: str

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


@dataclass(frozen=True)
class RiskOrder:
    """An order as the risk rules see it; construction validates it (``ValueError``).

    ``instrument_key`` is canonical, its venue may be ``ANY``; ``quantity`` is positive and
    in base units; ``price`` is the limit price (``None`` for a market order); ``ts_ns``
    is the submission time in UTC nanoseconds.
    """

    strategy_id: str
    instrument_key: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    price: Decimal | None
    ts_ns: int

    def __post_init__(self) -> None:
        where = f"order of strategy {self.strategy_id!r} for {self.instrument_key!r}"
        if self.side not in _SIDES:
            raise ValueError(f"{where}: side must be BUY or SELL, got {self.side!r}")
        if not isinstance(self.quantity, Decimal) or not self.quantity.is_finite():
            raise ValueError(f"{where}: quantity must be a finite Decimal, got {self.quantity!r}")
        if self.quantity <= 0:
            raise ValueError(f"{where}: quantity must be positive, got {self.quantity}")
        if self.price is not None and (
            not isinstance(self.price, Decimal) or not self.price.is_finite() or self.price <= 0
        ):
            raise ValueError(
                f"{where}: price must be a positive Decimal or None, got {self.price!r}"
            )
        if not isinstance(self.ts_ns, int) or isinstance(self.ts_ns, bool):
            raise ValueError(f"{where}: ts_ns must be an int (UTC ns), got {self.ts_ns!r}")

    @property
    def family(self) -> str:
        """The instrument family (``PERPETUAL:BTC-USDT@LIN``); see :func:`instrument_family`."""
        return instrument_family(self.instrument_key)

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side == Side.BUY else -self.quantity

    def describe(self) -> str:
        """``BUY 10 PERPETUAL:BTC-USDT@LIN`` (plus `` @ price`` for a priced order)."""
        priced = "" if self.price is None else f" @ {fmt(self.price)}"
        return f"{self.side} {fmt(self.quantity)} {self.instrument_key}{priced}"


@dataclass(frozen=True)
class OpenQuantity:
    """Unfilled quantity of a strategy's open orders in one family, per side (base units)."""

    buy: Decimal = ZERO
    sell: Decimal = ZERO

    def __add__(self, other: OpenQuantity) -> OpenQuantity:
        return OpenQuantity(self.buy + other.buy, self.sell + other.sell)


@dataclass(frozen=True)
class Exposure:
    """Position and open orders of one (strategy, family)."""

    position: Decimal = ZERO
    open: OpenQuantity = field(default_factory=OpenQuantity)

    @property
    def worst(self) -> Decimal:
        """Worst-case |position| should the open orders of either side fill."""
        return max(abs(self.position + self.open.buy), abs(self.position - self.open.sell))

    def with_order(self, order: RiskOrder) -> Exposure:
        extra = (
            OpenQuantity(buy=order.quantity)
            if order.side == Side.BUY
            else OpenQuantity(sell=order.quantity)
        )
        return Exposure(self.position, self.open + extra)

    def describe(self) -> str:
        if self.open.buy == 0 and self.open.sell == 0:
            return f"position {fmt(self.position)}"
        return (
            f"position {fmt(self.position)}, open buys {fmt(self.open.buy)}, "
            f"open sells {fmt(self.open.sell)}"
        )


@dataclass(frozen=True)
class ExposureTotals:
    """Sums of worst-case exposures (:attr:`Exposure.worst`): per strategy, per family and
    over everything (base units)."""

    by_strategy: Mapping[str, Decimal]
    by_family: Mapping[str, Decimal]
    gross: Decimal

    @classmethod
    def of(cls, exposures: Mapping[tuple[str, str], Exposure]) -> ExposureTotals:
        by_strategy: dict[str, Decimal] = {}
        by_family: dict[str, Decimal] = {}
        gross = ZERO
        for (strategy, family), exposure in exposures.items():
            worst = exposure.worst
            by_strategy[strategy] = by_strategy.get(strategy, ZERO) + worst
            by_family[family] = by_family.get(family, ZERO) + worst
            gross += worst
        return cls(by_strategy, by_family, gross)


@dataclass(frozen=True)
class RiskState:
    """What the rules know besides the order; a snapshot (see ``RiskBook.snapshot``).

    - ``positions``: (strategy_id, instrument) → signed position in base units;
    - ``last_prices``: instrument → last price (quote);
    - ``balance``: available balance in the quote currency, ``None`` when unknown;
    - ``recent_orders``: strategy_id → submission times (UTC ns, sorted ascending) of its
      orders already accepted in at least the last minute;
    - ``open_orders``: (strategy_id, instrument) → unfilled quantity of its open orders.

    Instruments are families (``PERPETUAL:BTC-USDT@LIN``); keys with a venue are folded
    onto their family.
    """

    positions: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)
    last_prices: Mapping[str, Decimal] = field(default_factory=dict)
    balance: Decimal | None = None
    recent_orders: Mapping[str, Sequence[int]] = field(default_factory=dict)
    open_orders: Mapping[tuple[str, str], OpenQuantity] = field(default_factory=dict)
    # Already folded onto families by their maker (``RiskBook.view`` keeps them up to date
    # as events arrive, so a check does not rebuild them); derived from the fields above
    # when None.
    folded_exposures: Mapping[tuple[str, str], Exposure] | None = field(
        default=None, repr=False, compare=False
    )
    folded_prices: Mapping[str, Decimal] | None = field(default=None, repr=False, compare=False)
    folded_totals: ExposureTotals | None = field(default=None, repr=False, compare=False)

    @cached_property
    def exposures(self) -> Mapping[tuple[str, str], Exposure]:
        """(strategy_id, family) → :class:`Exposure`, venues folded together."""
        if self.folded_exposures is not None:
            return self.folded_exposures
        positions: dict[tuple[str, str], Decimal] = {}
        for (strategy, instrument), quantity in self.positions.items():
            key = (strategy, instrument_family(instrument))
            positions[key] = positions.get(key, ZERO) + quantity
        opens: dict[tuple[str, str], OpenQuantity] = {}
        for (strategy, instrument), open_quantity in self.open_orders.items():
            key = (strategy, instrument_family(instrument))
            opens[key] = opens.get(key, OpenQuantity()) + open_quantity
        return {
            key: Exposure(positions.get(key, ZERO), opens.get(key, OpenQuantity()))
            for key in sorted(positions.keys() | opens.keys())
        }

    @cached_property
    def totals(self) -> ExposureTotals:
        """:class:`ExposureTotals` of :attr:`exposures`."""
        if self.folded_totals is not None:
            return self.folded_totals
        return ExposureTotals.of(self.exposures)

    @cached_property
    def family_prices(self) -> Mapping[str, Decimal]:
        """family → last price (positive prices only; a later key of a family wins)."""
        if self.folded_prices is not None:
            return self.folded_prices
        return {
            instrument_family(instrument): price
            for instrument, price in self.last_prices.items()
            if price > 0
        }

    def exposure(self, strategy_id: str, family: str) -> Exposure:
        return self.exposures.get((strategy_id, family), Exposure())

    def last_price(self, instrument: str) -> Decimal | None:
        return self.family_prices.get(instrument_family(instrument))


def _no_price(instrument: str, what: str) -> RiskRejection:
    return RiskRejection("NO_LAST_PRICE", f"no last price for {instrument}; cannot check {what}")


def _order_price(order: RiskOrder, state: RiskState) -> Decimal | None:
    """The price the order's notional is valued at: its limit price, else the last price."""
    return order.price if order.price is not None else state.last_price(order.instrument_key)


def _increases(order: RiskOrder, state: RiskState) -> tuple[Exposure, Exposure, bool]:
    before = state.exposure(order.strategy_id, order.family)
    after = before.with_order(order)
    return before, after, after.worst > before.worst


# --- velocity -------------------------------------------------------------------------


def check_velocity(order: RiskOrder, state: RiskState, limits: RiskLimits) -> RiskRejection | None:
    """At most ``max_orders_per_second`` orders of a strategy in any 1 s window and
    ``max_orders_per_minute`` in any 60 s window, this order included.

    The window of an order at ``t`` is ``(t − window, t]``: earlier orders at exactly
    ``t − window`` no longer count. Recorded times after ``t`` (out of order) do count.
    """
    times = state.recent_orders.get(order.strategy_id, ())
    windows = (
        (NS_PER_SECOND, limits.max_orders_per_second, "VELOCITY_PER_SECOND", "1 s", "second"),
        (NS_PER_MINUTE, limits.max_orders_per_minute, "VELOCITY_PER_MINUTE", "60 s", "minute"),
    )
    for window, limit, code, span, unit in windows:
        count = len(times) - bisect.bisect_right(times, order.ts_ns - window) + 1
        if count > limit:
            return RiskRejection(
                code,
                f"strategy {order.strategy_id} would submit {count} orders within {span} "
                f"(this one at ts_ns={order.ts_ns}), above the limit {limit} per {unit}",
            )
    return None


# --- order size -----------------------------------------------------------------------


def listing_problem(
    spec: InstrumentSpec, quantity: Decimal, price: Decimal | None
) -> RiskRejection | None:
    """Does ``quantity`` base units fit the venue listing ``spec``'s min/max quantity
    (venue units, converted to base units) and min notional? Limits that need a price
    (inverse quantities, notional) are skipped when ``price`` is None."""
    convertible = price is not None or not spec.is_inverse
    at = price if price is not None else Decimal(1)
    if convertible:
        minimum = spec.base_quantity(spec.min_quantity, at)
        if quantity < minimum:
            return RiskRejection(
                "INSTRUMENT_QUANTITY_MIN",
                f"quantity {fmt(quantity)} is below the minimum {fmt(minimum)} "
                f"(base units) of {spec.key}",
            )
        if spec.max_quantity is not None:
            maximum = spec.base_quantity(spec.max_quantity, at)
            if quantity > maximum:
                return RiskRejection(
                    "INSTRUMENT_QUANTITY_MAX",
                    f"quantity {fmt(quantity)} is above the maximum {fmt(maximum)} "
                    f"(base units) of {spec.key}",
                )
    if spec.min_notional is not None and price is not None:
        notional = quantity * price
        if notional < spec.min_notional:
            return RiskRejection(
                "INSTRUMENT_NOTIONAL_MIN",
                f"notional {fmt(notional)} ({fmt(quantity)} × {fmt(price)}) is below the "
                f"minimum {fmt(spec.min_notional)} of {spec.key}",
            )
    return None


def check_order_size(
    order: RiskOrder,
    state: RiskState,
    limits: RiskLimits,
    spec: InstrumentSpec | Sequence[InstrumentSpec] | None = None,
) -> RiskRejection | None:
    """The order's quantity and notional against the configured limits and the venue
    listing's own limits.

    - ``min_order_quantity`` ≤ quantity ≤ ``max_order_quantity`` (base units);
    - notional = quantity × (limit price, else last price) ≤ ``max_order_notional``;
      skipped without any price (the notional-exposure rule reports a missing price);
    - ``spec``: the venue listing (:func:`listing_problem`); for an ``ANY:`` order pass
      every listing of the family — it suffices that one venue can take the order (the
      router only picks among those). Empty or ``None``: no listing limits.

    Reducing orders are checked too: size limits guard against fat fingers.
    """
    quantity = order.quantity
    if limits.min_order_quantity is not None and quantity < limits.min_order_quantity:
        return RiskRejection(
            "ORDER_QUANTITY_MIN",
            f"order {order.describe()} (strategy {order.strategy_id}): quantity "
            f"{fmt(quantity)} is below the minimum {fmt(limits.min_order_quantity)}",
        )
    if quantity > limits.max_order_quantity:
        return RiskRejection(
            "ORDER_QUANTITY_MAX",
            f"order {order.describe()} (strategy {order.strategy_id}): quantity "
            f"{fmt(quantity)} is above the limit {fmt(limits.max_order_quantity)}",
        )
    price = _order_price(order, state)
    if price is not None and quantity * price > limits.max_order_notional:
        return RiskRejection(
            "ORDER_NOTIONAL_MAX",
            f"order {order.describe()} (strategy {order.strategy_id}): notional "
            f"{fmt(quantity * price)} ({fmt(quantity)} × {fmt(price)}) is above the limit "
            f"{fmt(limits.max_order_notional)}",
        )
    if spec is None:
        return None
    specs = [spec] if isinstance(spec, InstrumentSpec) else list(spec)
    problems = [listing_problem(one, quantity, price) for one in specs]
    if not specs or any(problem is None for problem in problems):
        return None
    if len(problems) == 1:
        assert problems[0] is not None
        return problems[0]
    details = "; ".join(problem.reason for problem in problems if problem is not None)
    return RiskRejection(
        "INSTRUMENT_NO_LISTING_FITS",
        f"order {order.describe()}: no venue listing can take it: {details}",
    )


# --- positions ------------------------------------------------------------------------


def check_instrument_position(
    order: RiskOrder, state: RiskState, limits: RiskLimits
) -> RiskRejection | None:
    """Exposure of the order's strategy in the order's family after the order ≤
    ``limits.max_position_for(family)``, unless the order does not increase it."""
    before, after, increases = _increases(order, state)
    limit = limits.max_position_for(order.family)
    if not increases or after.worst <= limit:
        return None
    return RiskRejection(
        "POSITION_LIMIT_INSTRUMENT",
        f"position of strategy {order.strategy_id} in {order.family} would be "
        f"{fmt(after.worst)} after {order.side} {fmt(order.quantity)} "
        f"({before.describe()}), above the limit {fmt(limit)}",
    )


def check_strategy_position(
    order: RiskOrder, state: RiskState, limits: RiskLimits
) -> RiskRejection | None:
    """Sum over families of the strategy's exposures after the order ≤
    ``max_position_per_strategy``, unless the order does not increase it."""
    before, after, increases = _increases(order, state)
    if not increases:
        return None
    total = state.totals.by_strategy.get(order.strategy_id, ZERO)
    total_after = total - before.worst + after.worst
    limit = limits.max_position_per_strategy
    if total_after <= limit:
        return None
    return RiskRejection(
        "POSITION_LIMIT_STRATEGY",
        f"total position of strategy {order.strategy_id} (sum of |position| over "
        f"instruments) would be {fmt(total_after)} after {order.side} {fmt(order.quantity)} "
        f"{order.family}, above the limit {fmt(limit)}",
    )


def check_gross_position(
    order: RiskOrder, state: RiskState, limits: RiskLimits
) -> RiskRejection | None:
    """Sum of every strategy's exposures in every family after the order ≤
    ``max_gross_position``, unless the order does not increase it."""
    before, after, increases = _increases(order, state)
    if not increases:
        return None
    total = state.totals.gross
    total_after = total - before.worst + after.worst
    limit = limits.max_gross_position
    if total_after <= limit:
        return None
    return RiskRejection(
        "POSITION_LIMIT_GROSS",
        f"gross position of all strategies (sum of |position|) would be {fmt(total_after)} "
        f"after {order.side} {fmt(order.quantity)} {order.family} by strategy "
        f"{order.strategy_id}, above the limit {fmt(limit)}",
    )


def check_notional_exposure(
    order: RiskOrder, state: RiskState, limits: RiskLimits
) -> RiskRejection | None:
    """Sum over every strategy and family of exposure × last price after the order ≤
    ``max_notional_exposure``, unless the order does not increase its exposure.

    Every family with an exposure needs a last price: a missing one rejects
    (``NO_LAST_PRICE``), or with ``require_last_price=False`` that family is left out —
    except the order's own, which is then valued at the order's limit price if it has one.
    """
    before, after, increases = _increases(order, state)
    if not increases:
        return None
    by_family = state.totals.by_family
    total = ZERO
    for family in sorted(by_family.keys() | {order.family}):
        worst = by_family.get(family, ZERO)
        if family == order.family:
            worst += after.worst - before.worst
        if worst == 0:
            continue
        price = state.family_prices.get(family)
        if price is None and family == order.family and not limits.require_last_price:
            price = order.price
        if price is None:
            if limits.require_last_price:
                return _no_price(family, "notional exposure")
            continue
        total += worst * price
    limit = limits.max_notional_exposure
    if total <= limit:
        return None
    return RiskRejection(
        "NOTIONAL_EXPOSURE",
        f"notional exposure of all strategies (sum of |position| × last price) would be "
        f"{fmt(total)} after {order.side} {fmt(order.quantity)} {order.family} by strategy "
        f"{order.strategy_id}, above the limit {fmt(limit)}",
    )


# --- prices and money -----------------------------------------------------------------


def check_limit_price(
    order: RiskOrder, state: RiskState, limits: RiskLimits
) -> RiskRejection | None:
    """A priced order's ``|price − last| / last`` ≤ ``limit_price_tolerance_bps`` (both
    sides, both directions: a fat-finger guard). Market orders pass; a ``LIMIT`` order
    without a price is rejected (``LIMIT_PRICE_MISSING``)."""
    if order.price is None:
        if order.order_type.upper() == OrderType.LIMIT:
            return RiskRejection(
                "LIMIT_PRICE_MISSING",
                f"LIMIT order {order.describe()} of strategy {order.strategy_id} has no price",
            )
        return None
    last = state.last_price(order.instrument_key)
    if last is None:
        return (
            _no_price(order.family, "limit price tolerance") if limits.require_last_price else None
        )
    deviation = abs(order.price - last) / last * BPS
    tolerance = limits.limit_price_tolerance_bps
    if deviation <= tolerance:
        return None
    return RiskRejection(
        "LIMIT_PRICE_TOLERANCE",
        f"{order.side} limit price {fmt(order.price)} for {order.family} (strategy "
        f"{order.strategy_id}) deviates {_fmt_bps(deviation)} bps from the last price "
        f"{fmt(last)}, above the tolerance {fmt(tolerance)} bps",
    )


def margin_rate(instrument_key: str, limits: RiskLimits) -> Decimal:
    """Spot pairs need their whole notional (1); derivatives ``limits.margin_rate``."""
    family = instrument_family(instrument_key)
    kind = CanonicalId.parse(f"ANY:{family}").instrument_type
    return Decimal(1) if kind is InstrumentType.SPOT_PAIR else limits.margin_rate


def check_balance(order: RiskOrder, state: RiskState, limits: RiskLimits) -> RiskRejection | None:
    """Required margin ≤ available balance, for orders that increase their exposure.

    required = quantity × (limit price, else last price) × rate, where rate is 1 for spot
    pairs and ``limits.margin_rate`` (default 0.1, i.e. 10x) for derivatives. This is
    conservative: the margin a flipping order releases first is not credited, and open
    orders are assumed to be already reserved in the balance the venue reports.
    """
    _, _, increases = _increases(order, state)
    if not increases:
        return None
    price = _order_price(order, state)
    if price is None:
        return _no_price(order.family, "the balance") if limits.require_last_price else None
    if state.balance is None:
        if not limits.require_balance:
            return None
        return RiskRejection(
            "BALANCE_UNKNOWN",
            f"the available balance is unknown; cannot check the margin of order "
            f"{order.describe()} of strategy {order.strategy_id}",
        )
    rate = margin_rate(order.instrument_key, limits)
    notional = order.quantity * price
    required = notional * rate
    if required <= state.balance:
        return None
    return RiskRejection(
        "INSUFFICIENT_BALANCE",
        f"order {order.describe()} of strategy {order.strategy_id} needs margin "
        f"{fmt(required)} (notional {fmt(notional)} × rate {fmt(rate)}), above the "
        f"available balance {fmt(state.balance)}",
    )
