"""Smart order router: pick the venue with the lowest expected cost for an order.

``SmartRouter.route(instrument_key, side, quantity, books, now_ns)``:

- a concrete key (``OKX:PERPETUAL:BTC-USDT@LIN``) is scored on that venue only; an
  ``ANY:`` key on every venue of the instrument reference that lists the instrument;
- ``books`` maps concrete instrument keys to their :class:`TopOfBook` (base-unit sizes);
  keys the order does not concern are ignored;
- a venue is rejected, with a reason, when it has no book, its book is stale
  (``now_ns − ts_ns > max_book_age_ms``), empty, crossed or has no size at the touch, or
  the quantity is outside the venue's limits: below ``min_quantity``, above
  ``max_quantity`` (both in venue units: converted with :func:`venue_quantity` at the
  touch price) or below ``min_notional`` (quote currency);
- among the rest the lowest ``total_bps`` wins; ties (equal to 1e-9 bps) go to the
  smaller venue key, so the decision is a pure function of its inputs.

``quantity`` is in base units (BTC) for every instrument, linear or inverse. For an
inverse instrument (Deribit ``BTC-USD@INV``, sized in USD) the venue quantity is the USD
notional ``quantity × touch price``; see :mod:`execution_core.routing.costs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from execution_core.errors import ExecutionServicesError, UnknownInstrumentError
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference, InstrumentSpec
from execution_core.routing.costs import (
    DEFAULT_COST_MODEL,
    NS_PER_MS,
    CostModelConfig,
    IneligibleVenueError,
    Side,
    TopOfBook,
    VenueCost,
    book_problem,
    check_quantity,
    check_side,
    expected_cost_bps,
    venue_quantity,
)

TIE_DECIMALS = 9
"""Totals are compared rounded to this many decimals of a bp, so float noise never
outranks the deterministic tie-break by venue key."""


class NoVenueError(ExecutionServicesError):
    """No venue can take the order; the message names the instrument and every venue's
    rejection reason (also in ``rejected``)."""

    def __init__(
        self,
        instrument_key: str,
        side: str,
        quantity: float,
        rejected: tuple[tuple[str, str], ...],
    ) -> None:
        self.instrument_key = instrument_key
        self.side = side
        self.quantity = quantity
        self.rejected = rejected
        reasons = "; ".join(f"{key}: {reason}" for key, reason in rejected)
        super().__init__(f"no eligible venue for {side} {quantity!r} {instrument_key}: {reasons}")


@dataclass(frozen=True)
class RoutingDecision:
    """Where an order goes and why. ``instrument_key`` is what was asked (maybe ``ANY:``),
    ``venue_key`` the chosen concrete instrument key, ``quantity`` base units; ``scores``
    holds every eligible venue, best first; ``rejected`` the others with their reason."""

    instrument_key: str
    venue_key: str
    side: Side
    quantity: float
    scores: tuple[VenueCost, ...]
    rejected: tuple[tuple[str, str], ...]

    @property
    def venue(self) -> str:
        """The chosen venue's name (``OKX``)."""
        return CanonicalId.parse(self.venue_key).venue

    @property
    def chosen(self) -> VenueCost:
        """The winning venue's cost breakdown."""
        return self.scores[0]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable record of the decision (for the OMS and backtest results)."""
        return {
            "instrument_key": self.instrument_key,
            "venue_key": self.venue_key,
            "venue": self.venue,
            "side": self.side,
            "quantity": self.quantity,
            "scores": [dict(vars(score)) for score in self.scores],  # flat: no deep copy
            "rejected": [{"venue_key": key, "reason": reason} for key, reason in self.rejected],
        }


def _unit(spec: InstrumentSpec) -> str:
    if spec.multiplier != 1:
        return "contracts"
    return spec.quote if spec.is_inverse else spec.base


class SmartRouter:
    """Scores venues with :func:`expected_cost_bps` and picks the cheapest eligible one."""

    def __init__(
        self, reference: InstrumentReference, config: CostModelConfig = DEFAULT_COST_MODEL
    ) -> None:
        self.reference = reference
        self.config = config

    def candidates(self, instrument_key: str) -> list[InstrumentSpec]:
        """The listings ``instrument_key`` may route to, sorted by venue. Raises
        :class:`InvalidInstrumentIdError` / :class:`UnknownInstrumentError`."""
        cid = CanonicalId.parse(instrument_key)
        specs = self.reference.venues_listing(cid)
        if not specs:
            raise UnknownInstrumentError(
                f"no venue in instrument reference {self.reference.source} lists "
                f"{instrument_key!r}; known venues: {', '.join(self.reference.venues())}"
            )
        return specs

    def route(
        self,
        instrument_key: str,
        side: Side,
        quantity: float,
        books: Mapping[str, TopOfBook],
        now_ns: int,
        unavailable: Mapping[str, str] | None = None,
    ) -> RoutingDecision:
        """Choose the venue for ``side`` ``quantity`` (base units) of ``instrument_key``.
        ``unavailable`` maps venue keys that cannot take an order now to the reason (not
        connected, circuit open), recorded among the rejections. Raises
        :class:`NoVenueError` if every candidate venue is rejected."""
        side = check_side(side)
        quantity = check_quantity(quantity)
        scores: list[VenueCost] = []
        rejected: list[tuple[str, str]] = []
        down = unavailable or {}
        for spec in sorted(self.candidates(instrument_key), key=lambda s: s.key):
            if spec.key in down:
                rejected.append((spec.key, f"unavailable: {down[spec.key]}"))
                continue
            result = self._score(spec, side, quantity, books.get(spec.key), now_ns)
            if isinstance(result, str):
                rejected.append((spec.key, result))
            else:
                scores.append(result)
        if not scores:
            raise NoVenueError(instrument_key, side, quantity, tuple(rejected))
        scores.sort(key=lambda cost: (round(cost.total_bps, TIE_DECIMALS), cost.venue_key))
        return RoutingDecision(
            instrument_key=instrument_key,
            venue_key=scores[0].venue_key,
            side=side,
            quantity=quantity,
            scores=tuple(scores),
            rejected=tuple(rejected),
        )

    def _score(
        self,
        spec: InstrumentSpec,
        side: Side,
        quantity: float,
        book: TopOfBook | None,
        now_ns: int,
    ) -> VenueCost | str:
        """The venue's cost, or the reason it is rejected."""
        if book is None:
            return "no book"
        age_ns = now_ns - book.ts_ns
        if age_ns > self.config.max_book_age_ms * NS_PER_MS:
            return (
                f"stale book: quote age {age_ns / NS_PER_MS:.3f} ms > max_book_age_ms "
                f"{self.config.max_book_age_ms:g}"
            )
        problem = book_problem(side, book)
        if problem is not None:
            return problem
        limit = self._limit_problem(spec, side, quantity, book)
        if limit is not None:
            return limit
        try:
            return expected_cost_bps(side, quantity, book, spec, self.config)
        except IneligibleVenueError as exc:  # pragma: no cover - book_problem covers it
            return exc.reason

    @staticmethod
    def _limit_problem(
        spec: InstrumentSpec, side: Side, quantity: float, book: TopOfBook
    ) -> str | None:
        price, _ = book.touch(side)
        units = venue_quantity(spec, quantity, price)

        def asked() -> str:  # only for a message: most orders fit
            return f"quantity {quantity!r} {spec.base} = {units.normalize():f} {_unit(spec)}"

        if units < spec.min_quantity:
            in_base = spec.base_quantity(spec.min_quantity, Decimal(repr(price)))
            return (
                f"{asked()} is below min_quantity {spec.min_quantity} {_unit(spec)} "
                f"(= {_fmt(in_base)} {spec.base})"
            )
        if spec.max_quantity is not None and units > spec.max_quantity:
            in_base = spec.base_quantity(spec.max_quantity, Decimal(repr(price)))
            return (
                f"{asked()} is above max_quantity {spec.max_quantity} {_unit(spec)} "
                f"(= {_fmt(in_base)} {spec.base})"
            )
        notional = spec.notional(units, Decimal(repr(price)))
        if spec.min_notional is not None and notional < spec.min_notional:
            return (
                f"notional {_fmt(notional)} {spec.quote} (at {price!r}) is below "
                f"min_notional {spec.min_notional} {spec.quote}"
            )
        return None


def _fmt(value: Decimal) -> str:
    """A Decimal for a message: at most 12 significant digits, no exponent."""
    return f"{float(value):.12g}"
