"""The pre-trade risk engine (every rule, fixed order) and an in-memory risk book.

:class:`PreTradeRiskEngine` runs every rule of :mod:`execution_core.risk.rules` on an
order and a :class:`~execution_core.risk.rules.RiskState` and collects *all* rejections,
always in the order of :data:`RULE_ORDER`, so a caller sees every problem at once and
the same inputs give the same decision in backtest and live.

:class:`RiskBook` is the small stateful helper that builds those states: it keeps
positions, last prices, the balance, open orders and each strategy's recent submission
times in memory (not thread-safe; one event loop owns it). Its velocity memory is pruned
by the order timestamps it is fed (and by :meth:`RiskBook.prune`): times older than the
longest velocity window (60 s) are dropped.

Typical live use::

    decision = engine.check(order, book.view())
    if decision.passed:
        book.on_order_accepted(order, order_id)     # counts for velocity and exposure
        # at once, before any await: concurrent orders are checked against this one
    ...
    book.withdraw(order, order_id)                  # it was not recorded after all
    book.on_fill(strategy_id, instrument_key, signed_qty, price, order_id=order_id)
    book.on_order_closed(order_id)                  # filled, canceled or rejected
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from execution_core.errors import InvalidInstrumentIdError
from execution_core.instruments.ids import CanonicalId, instrument_family
from execution_core.instruments.reference import InstrumentReference, InstrumentSpec
from execution_core.orders import Side
from execution_core.risk.config import RiskLimits
from execution_core.risk.rules import (
    NS_PER_MINUTE,
    Exposure,
    ExposureTotals,
    OpenQuantity,
    RiskOrder,
    RiskRejection,
    RiskState,
    check_balance,
    check_gross_position,
    check_instrument_position,
    check_limit_price,
    check_notional_exposure,
    check_order_size,
    check_strategy_position,
    check_velocity,
)

RULE_ORDER: tuple[str, ...] = (
    "velocity",
    "order_size",
    "instrument_position",
    "strategy_position",
    "gross_position",
    "notional_exposure",
    "limit_price",
    "balance",
)
"""The order in which :meth:`PreTradeRiskEngine.check` runs the rules and lists their
rejections (an unknown instrument is reported at the ``order_size`` step)."""


@dataclass(frozen=True)
class RiskDecision:
    """The result of a pre-trade check: ``passed`` iff there are no ``rejections``."""

    passed: bool
    rejections: tuple[RiskRejection, ...] = ()

    @classmethod
    def of(cls, rejections: tuple[RiskRejection, ...]) -> RiskDecision:
        return cls(passed=not rejections, rejections=rejections)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(rejection.code for rejection in self.rejections)

    def reason(self) -> str:
        """Every rejection as ``CODE: reason``, joined by ``"; "`` (empty when passed)."""
        return "; ".join(str(rejection) for rejection in self.rejections)


class PreTradeRiskEngine:
    """Runs every risk rule on an order; pure: the decision depends only on the inputs.

    With an instrument ``reference`` the order-size rule also applies the venue listing's
    limits (every listing of the family for an ``ANY:`` order) and an instrument the
    reference does not list is rejected (``UNKNOWN_INSTRUMENT``). An instrument key that
    does not parse is rejected alone (``INVALID_INSTRUMENT``): no other rule can run.
    """

    def __init__(self, limits: RiskLimits, reference: InstrumentReference | None = None) -> None:
        self.limits = limits
        self.reference = reference

    def check(self, order: RiskOrder, state: RiskState) -> RiskDecision:
        try:
            instrument_family(order.instrument_key)
        except InvalidInstrumentIdError as exc:
            return RiskDecision.of((RiskRejection("INVALID_INSTRUMENT", str(exc)),))
        limits = self.limits
        spec, unknown = self._listing(order.instrument_key)
        results = (
            check_velocity(order, state, limits),
            unknown,
            check_order_size(order, state, limits, spec),
            check_instrument_position(order, state, limits),
            check_strategy_position(order, state, limits),
            check_gross_position(order, state, limits),
            check_notional_exposure(order, state, limits),
            check_limit_price(order, state, limits),
            check_balance(order, state, limits),
        )
        return RiskDecision.of(tuple(r for r in results if r is not None))

    def _listing(
        self, instrument_key: str
    ) -> tuple[InstrumentSpec | list[InstrumentSpec] | None, RiskRejection | None]:
        reference = self.reference
        if reference is None:
            return None, None
        cid = CanonicalId.parse(instrument_key)
        if cid.is_any_venue:
            listings = reference.venues_listing(cid)
            if listings:
                return listings, None
            return None, RiskRejection(
                "UNKNOWN_INSTRUMENT",
                f"no venue in instrument reference {reference.source} lists {instrument_key}",
            )
        if instrument_key in reference:
            return reference.get(instrument_key), None
        try:
            reference.get(instrument_key)
        except KeyError as exc:  # UnknownInstrumentError: message with close matches
            return None, RiskRejection("UNKNOWN_INSTRUMENT", str(exc))
        raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class _OpenOrder:
    strategy_id: str
    family: str
    side: Side
    remaining: Decimal


_CONTRACT_NOISE = Decimal("1e-9")  # USD: far below any venue's contract, far above noise


class RiskBook:
    """In-memory positions, last prices, balance, open orders and recent order times.

    Instruments are folded onto their family (:func:`instrument_family`); positions are
    signed base units per (strategy, family). Not thread-safe.
    """

    def __init__(
        self, *, balance: Decimal | None = None, velocity_horizon_ns: int = NS_PER_MINUTE
    ) -> None:
        if velocity_horizon_ns < NS_PER_MINUTE:
            raise ValueError(
                f"velocity_horizon_ns {velocity_horizon_ns} is shorter than the longest "
                f"velocity window ({NS_PER_MINUTE} ns)"
            )
        self.balance = balance
        self.velocity_horizon_ns = velocity_horizon_ns
        self._positions: dict[tuple[str, str], Decimal] = {}
        # inverse families (…@INV): the position in the venue's USD contracts, the
        # truth the coin position is derived from (USD ÷ the latest fill price)
        self._contracts: dict[tuple[str, str], Decimal] = {}
        self._prices: dict[str, Decimal] = {}
        self._recent: dict[str, list[int]] = {}
        self._open: dict[str, _OpenOrder] = {}
        # Totals of the open orders per (strategy, family), kept as orders come and go so a
        # snapshot costs the same with 10 or 10,000 orders open.
        self._open_totals: dict[tuple[str, str], OpenQuantity] = {}
        # Position and open totals together, per (strategy, family), for :meth:`view`.
        self._exposures: dict[tuple[str, str], Exposure] = {}
        # ... and their worst cases summed (ExposureTotals), kept with them.
        self._worst_by_strategy: dict[str, Decimal] = {}
        self._worst_by_family: dict[str, Decimal] = {}
        self._gross = Decimal(0)

    # --- events ---------------------------------------------------------------------

    def on_order_accepted(self, order: RiskOrder, order_id: str | None = None) -> None:
        """Record an order that passed risk: its time counts for velocity; with an
        ``order_id`` its quantity also counts as open exposure until filled or closed."""
        times = self._recent.setdefault(order.strategy_id, [])
        bisect.insort(times, order.ts_ns)
        self._prune_times(order.strategy_id, times[-1])
        if order_id is not None:
            if order_id in self._open:
                raise ValueError(f"order {order_id!r} is already open in the risk book")
            open_order = _OpenOrder(order.strategy_id, order.family, order.side, order.quantity)
            self._open[order_id] = open_order
            self._add_open(open_order, order.quantity)

    def withdraw(self, order: RiskOrder, order_id: str) -> None:
        """Undo :meth:`on_order_accepted` for an order that was never placed (its
        recording failed, or it was a replay): its time no longer counts for velocity,
        its quantity no longer as open exposure."""
        times = self._recent.get(order.strategy_id)
        if times:
            at = bisect.bisect_left(times, order.ts_ns)
            if at < len(times) and times[at] == order.ts_ns:
                del times[at]
                if not times:
                    del self._recent[order.strategy_id]
        self.on_order_closed(order_id)

    def on_fill(
        self,
        strategy_id: str,
        instrument_key: str,
        signed_qty: Decimal,
        price: Decimal,
        order_id: str | None = None,
    ) -> None:
        """Apply a fill (``signed_qty`` base units, + buy / − sell) to the position; the
        fill price becomes the family's last price; an open ``order_id`` is reduced."""
        if not signed_qty.is_finite() or not price.is_finite() or price <= 0:
            raise ValueError(f"invalid fill of {instrument_key}: {signed_qty} at {price}")
        family = instrument_family(instrument_key)
        key = (strategy_id, family)
        position = self._positions.get(key, Decimal(0)) + signed_qty
        if CanonicalId.parse(instrument_key).is_inverse:  # coins = USD contracts ÷ price
            # a fill is whole contracts: coins × price gives them back up to division noise
            contracts = (self._contracts.get(key, Decimal(0)) + signed_qty * price).quantize(
                _CONTRACT_NOISE
            )
            self._contracts[key] = contracts
            position = contracts / price
        if position == 0:
            self._positions.pop(key, None)
        else:
            self._positions[key] = position
        self._refresh_exposure(key)
        self._prices[family] = price
        if order_id is not None and order_id in self._open:
            open_order = self._open[order_id]
            filled = min(abs(signed_qty), open_order.remaining)
            open_order.remaining -= filled
            self._add_open(open_order, -filled)
            if open_order.remaining <= 0:
                del self._open[order_id]

    def on_order_closed(self, order_id: str) -> None:
        """The order is done (filled, canceled, rejected): release its open quantity."""
        open_order = self._open.pop(order_id, None)
        if open_order is not None:
            self._add_open(open_order, -open_order.remaining)

    def _add_open(self, open_order: _OpenOrder, quantity: Decimal) -> None:
        key = (open_order.strategy_id, open_order.family)
        change = (
            OpenQuantity(buy=quantity)
            if open_order.side == Side.BUY
            else OpenQuantity(sell=quantity)
        )
        total = self._open_totals.get(key, OpenQuantity()) + change
        if total.buy <= 0 and total.sell <= 0:
            self._open_totals.pop(key, None)
        else:
            self._open_totals[key] = total
        self._refresh_exposure(key)

    def _refresh_exposure(self, key: tuple[str, str]) -> None:
        old = self._exposures.get(key)
        position = self._positions.get(key, Decimal(0))
        open_totals = self._open_totals.get(key)
        if position == 0 and open_totals is None:
            self._exposures.pop(key, None)
            new = None
        else:
            new = self._exposures[key] = Exposure(position, open_totals or OpenQuantity())
        change = (new.worst if new else Decimal(0)) - (old.worst if old else Decimal(0))
        if change:
            strategy, family = key
            _add(self._worst_by_strategy, strategy, change)
            _add(self._worst_by_family, family, change)
            self._gross += change

    def set_last_price(self, instrument: str, price: Decimal) -> None:
        if not price.is_finite() or price <= 0:
            raise ValueError(f"invalid last price for {instrument}: {price}")
        self._prices[instrument_family(instrument)] = price

    def set_balance(self, balance: Decimal | None) -> None:
        self.balance = balance

    def set_position(
        self,
        strategy_id: str,
        instrument: str,
        quantity: Decimal,
        contracts: Decimal | None = None,
    ) -> None:
        """Overwrite a position (startup from the OMS, reconciliation). ``contracts``: an
        inverse position's USD contracts (the quantity is then its coins)."""
        key = (strategy_id, instrument_family(instrument))
        if contracts is not None:
            self._contracts[key] = contracts
        if quantity == 0:
            self._positions.pop(key, None)
        else:
            self._positions[key] = quantity
        self._refresh_exposure(key)

    # --- views ----------------------------------------------------------------------

    def prune(self, now_ns: int) -> None:
        """Forget submission times that can no longer count at ``now_ns``."""
        for strategy_id in list(self._recent):
            self._prune_times(strategy_id, now_ns)

    def _prune_times(self, strategy_id: str, now_ns: int) -> None:
        times = self._recent[strategy_id]
        del times[: bisect.bisect_right(times, now_ns - self.velocity_horizon_ns)]
        if not times:
            del self._recent[strategy_id]

    def position(self, strategy_id: str, instrument: str) -> Decimal:
        return self._positions.get((strategy_id, instrument_family(instrument)), Decimal(0))

    def recent_orders(self, strategy_id: str) -> tuple[int, ...]:
        return tuple(self._recent.get(strategy_id, ()))

    def open_order_ids(self) -> tuple[str, ...]:
        return tuple(self._open)

    def snapshot(self, now_ns: int | None = None) -> RiskState:
        """An immutable :class:`RiskState` (copies); prunes first when ``now_ns`` is given."""
        if now_ns is not None:
            self.prune(now_ns)
        return RiskState(
            positions=dict(self._positions),
            last_prices=dict(self._prices),
            balance=self.balance,
            recent_orders={s: tuple(times) for s, times in self._recent.items()},
            open_orders=dict(self._open_totals),
        )

    def view(self) -> RiskState:
        """A :class:`RiskState` over the book's own data, read-only and without copies:
        it costs the same with 10 or 100,000 recent orders, but it follows the book, so
        use it before the book changes again (a check on one event loop, no ``await``
        between view and use). :meth:`snapshot` gives a state that stays as it was."""
        return RiskState(
            positions=MappingProxyType(self._positions),
            last_prices=MappingProxyType(self._prices),
            balance=self.balance,
            recent_orders=MappingProxyType(self._recent),
            open_orders=MappingProxyType(self._open_totals),
            folded_exposures=MappingProxyType(self._exposures),
            folded_prices=MappingProxyType(self._prices),
            folded_totals=ExposureTotals(
                MappingProxyType(self._worst_by_strategy),
                MappingProxyType(self._worst_by_family),
                self._gross,
            ),
        )


def _add(totals: dict[str, Decimal], key: str, change: Decimal) -> None:
    total = totals.get(key, Decimal(0)) + change
    if total:
        totals[key] = total
    else:
        totals.pop(key, None)
