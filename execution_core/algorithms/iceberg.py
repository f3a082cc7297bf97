"""ICEBERG as a pure state machine, driven by the working child's fills and closes.

At most one child is working at a time and it shows at most ``display_quantity`` (rounded
down onto the lot grid). A new child is shown only once the working one is fully filled
or closed (cancelled, expired, rejected); a closed child's unfilled part goes back to
what remains to show. The caller owns time: at ``duration_sec`` after the start
(:meth:`IcebergState.deadline_ns`, never past the execution window) it cancels the working
child, calls :meth:`IcebergState.cancel`, and reports :attr:`IcebergState.unfilled` as
unfilled once the child is closed.

Driving it (the NautilusTrader wrapper and the live daemon alike)::

    state = IcebergState.start(quantity, params, lot_size)
    qty = state.next_child()            # submit a limit child of qty at child_limit_price()
    ... on a fill of that child:        state.on_fill(fill_qty); qty = state.next_child()
    ... on its cancel/expiry/rejection: state.on_child_closed(); qty = state.next_child()
    ... at the deadline:                state.cancel(); cancel the working child
    state.done                          # True once filled, or cancelled with nothing working

All arithmetic is in integer lots, so the fills sum exactly to the quantity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from execution_core.algorithms.params import (
    AlgorithmParamsError,
    IcebergParams,
    lot_decimal,
    lots_to_quantity,
    order_lots,
    quantity_to_lots,
    validate_for_order,
)
from execution_core.algorithms.schedules import horizon_ns
from execution_core.errors import ExecutionServicesError
from execution_core.orders import Side
from execution_core.signals.schema import ExecAlgorithm


class IcebergStateError(ExecutionServicesError, ValueError):
    """An event does not fit the iceberg's state (a fill with no child working, an
    overfill, a quantity off the lot grid)."""


@dataclass
class IcebergState:
    """Progress of one ICEBERG order, in lots of ``lot_size``."""

    total_lots: int
    display_lots: int
    lot_size: float
    filled_lots: int = 0
    working_lots: int = 0
    """Unfilled lots of the working child (0: no child working)."""
    cancelled: bool = False
    children_shown: int = 0

    def __post_init__(self) -> None:
        lot_decimal(self.lot_size)
        if self.total_lots < 1 or self.display_lots < 1:
            raise IcebergStateError(
                f"ICEBERG needs >= 1 lot in total and on display, got total_lots="
                f"{self.total_lots}, display_lots={self.display_lots}"
            )
        if not 0 <= self.filled_lots <= self.total_lots or not (
            0 <= self.working_lots <= min(self.display_lots, self.total_lots - self.filled_lots)
        ):
            raise IcebergStateError(f"inconsistent ICEBERG state: {self}")

    @classmethod
    def start(cls, quantity: float, params: IcebergParams, lot_size: float) -> IcebergState:
        """A fresh iceberg for ``quantity`` (unsigned, rounded down onto the lot grid)."""
        validate_for_order(ExecAlgorithm.ICEBERG, params, quantity, lot_size)
        return cls(
            total_lots=order_lots(ExecAlgorithm.ICEBERG, quantity, lot_size),
            display_lots=quantity_to_lots(params.display_quantity, lot_size, "display_quantity"),
            lot_size=lot_size,
        )

    @staticmethod
    def deadline_ns(start_ns: int, params: IcebergParams) -> int:
        """When the remainder is cancelled: ``duration_sec`` after ``start_ns``."""
        return start_ns + horizon_ns(params.duration_sec)

    # --- events ---------------------------------------------------------------------------

    def next_child(self) -> float | None:
        """Show the next child: ``min(display, remaining)``; None if one is working, the
        iceberg was cancelled, or nothing remains. Marks the child as working."""
        if self.cancelled or self.working_lots or not self.remaining_lots:
            return None
        self.working_lots = min(self.display_lots, self.remaining_lots)
        self.children_shown += 1
        return lots_to_quantity(self.working_lots, self.lot_size)

    def on_fill(self, quantity: float) -> None:
        """A (partial) fill of the working child. Raises :class:`IcebergStateError` if no
        child is working, or the fill exceeds its unfilled quantity or is off the lot grid.
        Fills still count after :meth:`cancel` (they race the cancel)."""
        lots = self._lots(quantity, "fill quantity")
        if lots <= 0:
            raise IcebergStateError(f"ICEBERG fill quantity must be > 0, got {quantity}")
        if not self.working_lots:
            raise IcebergStateError(
                f"ICEBERG fill of {quantity} with no child working "
                f"(filled {self.filled} of {self.total})"
            )
        if lots > self.working_lots:
            raise IcebergStateError(
                f"ICEBERG fill of {quantity} exceeds the working child's unfilled "
                f"{self.shown} (filled {self.filled} of {self.total})"
            )
        self.working_lots -= lots
        self.filled_lots += lots

    def on_child_closed(self) -> None:
        """The working child was cancelled, expired or rejected: its unfilled part goes
        back to :attr:`remaining`. A no-op when no child is working (a fully filled child
        needs no close)."""
        self.working_lots = 0

    def cancel(self) -> None:
        """Stop showing children (the deadline passed, or the order was cancelled). The
        caller cancels the working child and reports it through :meth:`on_child_closed`."""
        self.cancelled = True

    # --- views ----------------------------------------------------------------------------

    @property
    def remaining_lots(self) -> int:
        """Lots neither filled nor working: still to be shown."""
        return self.total_lots - self.filled_lots - self.working_lots

    @property
    def remaining(self) -> float:
        return lots_to_quantity(self.remaining_lots, self.lot_size)

    @property
    def shown(self) -> float:
        """Unfilled quantity of the working child (0 if none)."""
        return lots_to_quantity(self.working_lots, self.lot_size)

    @property
    def filled(self) -> float:
        return lots_to_quantity(self.filled_lots, self.lot_size)

    @property
    def total(self) -> float:
        return lots_to_quantity(self.total_lots, self.lot_size)

    @property
    def display(self) -> float:
        return lots_to_quantity(self.display_lots, self.lot_size)

    @property
    def unfilled(self) -> float:
        """Quantity not (yet) filled, working or not."""
        return lots_to_quantity(self.total_lots - self.filled_lots, self.lot_size)

    @property
    def done(self) -> bool:
        """Fully filled, or cancelled with no child left working."""
        return self.filled_lots == self.total_lots or (self.cancelled and not self.working_lots)

    def _lots(self, quantity: float, what: str) -> int:
        try:
            lots = quantity_to_lots(quantity, self.lot_size, what)
        except AlgorithmParamsError as exc:
            raise IcebergStateError(f"ICEBERG {exc}") from None
        if not math.isclose(float(quantity), lots_to_quantity(lots, self.lot_size), rel_tol=1e-9):
            raise IcebergStateError(
                f"ICEBERG {what} {quantity} is not a multiple of the lot size {self.lot_size}"
            )
        return lots


def child_limit_price(
    side: Side | str,
    best_bid: float,
    best_ask: float,
    limit_offset_bps: float,
    tick_size: float | None = None,
) -> float:
    """Limit price of an ICEBERG child: ``limit_offset_bps`` from the own-side touch
    towards the other side (BUY: ``bid * (1 + bps/1e4)``; SELL: ``ask * (1 - bps/1e4)``).

    With ``tick_size`` the price is rounded onto the tick grid away from the other side
    (BUY down, SELL up), so rounding never makes a child more aggressive than asked.
    """
    text = side.upper()
    try:
        side = Side(text)
    except ValueError:
        raise AlgorithmParamsError(f"side must be BUY or SELL, got {text!r}") from None
    for name, value in (("best_bid", best_bid), ("best_ask", best_ask)):
        if not math.isfinite(value) or value <= 0:
            raise AlgorithmParamsError(f"{name} must be a finite price > 0, got {value}")
    if not math.isfinite(limit_offset_bps) or not 0 <= limit_offset_bps <= 100:
        raise AlgorithmParamsError(f"limit_offset_bps must be in [0, 100], got {limit_offset_bps}")
    shift = Decimal(repr(float(limit_offset_bps))) / 10_000
    if side == Side.BUY:
        price = Decimal(repr(float(best_bid))) * (1 + shift)
    else:
        price = Decimal(repr(float(best_ask))) * (1 - shift)
    if tick_size is not None:
        if not math.isfinite(tick_size) or tick_size <= 0:
            raise AlgorithmParamsError(f"tick_size must be a finite number > 0, got {tick_size}")
        tick = Decimal(repr(float(tick_size)))
        rounding = ROUND_FLOOR if side == Side.BUY else ROUND_CEILING
        price = (price / tick).to_integral_value(rounding) * tick
    return float(price)
