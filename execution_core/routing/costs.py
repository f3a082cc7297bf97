"""Expected execution cost of an order on one venue, in basis points.

Plain, deterministic Python shared by the backtest and the live daemon (no NautilusTrader).

Units
-----
Everything here is in **base units** (BTC for ``BTC-USDT``): the order quantity and the
sizes of :class:`TopOfBook`. The instrument reference keeps quantities in each venue's own
unit — contracts of ``multiplier`` BTC on OKX swaps, USD on Deribit inverse perpetuals —
so convert at the edge with :meth:`TopOfBook.from_venue_units` (book sizes) and
:func:`venue_quantity` / :func:`base_quantity` (order sizes). For an inverse instrument
the venue size is USD notional: ``venue units = base qty × price / multiplier``; the price
used is the touch price on the side the order takes.

Cost model
----------
All components are basis points of the venue's **mid price** (``reference_price`` of
:class:`VenueCost`), so venues compare on one scale::

    fee_bps         = (taker_fee + fee_per_unit / unit_notional) × 1e4
                      (maker_fee when config.taker is False; a negative maker fee is a
                      rebate; unit_notional is one venue unit's notional at mid, so IB's
                      per-share commission of 0.005 USD on a 190 USD share is 0.26 bps)
    half_spread_bps = (ask − bid) / 2 / mid × 1e4
    impact_bps      = 0                                         if quantity ≤ touch size
                    = impact_bps_per_touch × (quantity / touch_size − 1)   otherwise
    latency_bps     = latency_bps_per_ms × spec.latency_ms
    total_bps       = fee + half_spread + impact + latency

The touch is the best ask for a BUY and the best bid for a SELL. The components are the
same in both fee modes (the model ranks venues; it does not simulate queue position).
A venue on which the model cannot price the order raises :class:`IneligibleVenueError`
with the reason: an empty or crossed book, or nothing at the touch on the side taken.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from execution_core.errors import ExecutionServicesError
from execution_core.instruments.reference import InstrumentSpec
from execution_core.orders import Side

BPS = 1e4
NS_PER_MS = 1_000_000


class IneligibleVenueError(ExecutionServicesError, ValueError):
    """The cost model cannot price the order on this venue; ``reason`` says why."""

    def __init__(self, venue_key: str, reason: str) -> None:
        super().__init__(f"{venue_key}: {reason}")
        self.venue_key = venue_key
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TopOfBook:
    """Best bid and ask of one venue; sizes in **base units**, ``ts_ns`` in UTC ns."""

    bid_price: float
    bid_size: float
    ask_price: float
    ask_size: float
    ts_ns: int

    @classmethod
    def from_venue_units(
        cls,
        spec: InstrumentSpec,
        bid_price: float,
        bid_size: float,
        ask_price: float,
        ask_size: float,
        ts_ns: int,
    ) -> TopOfBook:
        """A book whose sizes are in ``spec``'s venue units (OKX contracts, Deribit USD),
        converted to base units (each side at its own price for inverse instruments)."""
        return cls(
            bid_price=bid_price,
            bid_size=base_quantity(spec, bid_size, bid_price),
            ask_price=ask_price,
            ask_size=base_quantity(spec, ask_size, ask_price),
            ts_ns=ts_ns,
        )

    @property
    def mid_price(self) -> float:
        return (self.bid_price + self.ask_price) / 2.0

    def touch(self, side: Side) -> tuple[float, float]:
        """``(price, size)`` an order of ``side`` takes: the ask for BUY, the bid for SELL."""
        if side == Side.BUY:
            return self.ask_price, self.ask_size
        return self.bid_price, self.bid_size


@dataclass(frozen=True)
class CostModelConfig:
    """Parameters of :func:`expected_cost_bps` and of the router's eligibility rules."""

    latency_bps_per_ms: float = 0.01
    """Cost of waiting: expected adverse drift, in bps per millisecond of order latency."""
    impact_bps_per_touch: float = 5.0
    """Extra bps per multiple of the touch size consumed beyond the touch."""
    max_book_age_ms: float = 5_000
    """Quotes older than this (at routing time) make the venue ineligible."""
    taker: bool = True
    """Marketable orders pay taker fees; ``False`` prices passive orders at maker fees."""

    def __post_init__(self) -> None:
        for name in ("latency_bps_per_ms", "impact_bps_per_touch", "max_book_age_ms"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"CostModelConfig.{name} must be finite and >= 0, got {value!r}")


DEFAULT_COST_MODEL = CostModelConfig()
"""The default parameters (a module-level singleton, for argument defaults)."""


@dataclass(frozen=True)
class VenueCost:
    """Expected cost of one order on one venue, in bps of ``reference_price`` (the mid of
    that venue's book). ``venue_key`` is the concrete instrument key; ``touch_price`` and
    ``touch_size`` (base units) are the level the order takes."""

    venue_key: str
    fee_bps: float
    half_spread_bps: float
    impact_bps: float
    latency_bps: float
    total_bps: float
    touch_price: float
    touch_size: float
    reference_price: float = 0.0
    """Mid price of the venue's book that the bps refer to (0.0 only if built by hand)."""


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def base_quantity(spec: InstrumentSpec, venue_qty: float, price: float) -> float:
    """``venue_qty`` in ``spec``'s venue units expressed in base units at ``price``
    (linear: ``× multiplier``; inverse: ``× multiplier / price``)."""
    if venue_qty == 0:
        return 0.0
    return float(spec.base_quantity(_decimal(venue_qty), _decimal(price)))


def venue_quantity(spec: InstrumentSpec, base_qty: float, price: float) -> Decimal:
    """``base_qty`` base units in ``spec``'s venue units at ``price`` (what the venue's
    order must carry): linear ``÷ multiplier``; inverse ``× price ÷ multiplier`` (USD).
    Not rounded to the size increment."""
    quantity = _decimal(base_qty) / spec.multiplier
    if spec.is_inverse:
        quantity *= _decimal(price)
    return quantity


def check_side(side: str) -> Side:
    return Side.parse(side)


def check_quantity(quantity: float) -> float:
    if isinstance(quantity, bool) or not isinstance(quantity, int | float | Decimal):
        raise ValueError(f"quantity must be a number, got {type(quantity).__name__}")
    value = float(quantity)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"quantity must be finite and > 0 (base units), got {quantity!r}")
    return value


def book_problem(side: Side, book: TopOfBook) -> str | None:
    """Why ``book`` cannot price an order of ``side`` (empty, crossed, nothing at the
    touch), or None. Staleness is the router's check: it needs the routing time."""
    prices = (book.bid_price, book.ask_price)
    sizes = (book.bid_size, book.ask_size)
    if not all(math.isfinite(value) for value in (*prices, *sizes)):
        return f"malformed book: non-finite price or size ({_levels(book)})"
    if min(prices) <= 0:
        return f"empty book: {_levels(book)}"
    if min(sizes) < 0:
        return f"malformed book: negative size ({_levels(book)})"
    if book.bid_price > book.ask_price:
        return f"crossed book: bid {book.bid_price!r} > ask {book.ask_price!r}"
    touch_price, touch_size = book.touch(side)
    if touch_size == 0:
        where = "ask" if side == Side.BUY else "bid"
        return f"no size at the touch: {where} {touch_price!r} has size 0"
    return None


def _levels(book: TopOfBook) -> str:
    """``bid size@price, ask size@price``, for messages (built only when one is needed:
    the router asks every venue's book on every order)."""
    return f"bid {book.bid_size!r}@{book.bid_price!r}, ask {book.ask_size!r}@{book.ask_price!r}"


def expected_cost_bps(
    side: Side,
    quantity: float,
    book: TopOfBook,
    spec: InstrumentSpec,
    config: CostModelConfig,
) -> VenueCost:
    """Expected cost of taking ``quantity`` base units on ``spec``'s venue (see the module
    docstring for the formula). Raises :class:`IneligibleVenueError` if ``book`` cannot
    price the order, :class:`ValueError` for a bad side or quantity."""
    side = check_side(side)
    quantity = check_quantity(quantity)
    problem = book_problem(side, book)
    if problem is not None:
        raise IneligibleVenueError(spec.key, problem)
    mid = book.mid_price
    touch_price, touch_size = book.touch(side)
    rate = float(spec.taker_fee if config.taker else spec.maker_fee)
    if spec.fee_per_unit:
        rate += float(spec.fee_per_unit) / float(spec.notional(Decimal(1), Decimal(str(mid))))
    fee_bps = rate * BPS
    half_spread_bps = (book.ask_price - book.bid_price) / 2.0 / mid * BPS
    impact_bps = (
        0.0
        if quantity <= touch_size
        else config.impact_bps_per_touch * (quantity / touch_size - 1.0)
    )
    latency_bps = config.latency_bps_per_ms * spec.latency_ms
    return VenueCost(
        venue_key=spec.key,
        fee_bps=fee_bps,
        half_spread_bps=half_spread_bps,
        impact_bps=impact_bps,
        latency_bps=latency_bps,
        total_bps=fee_bps + half_spread_bps + impact_bps + latency_bps,
        touch_price=touch_price,
        touch_size=touch_size,
        reference_price=mid,
    )
