"""NautilusTrader ``ExecAlgorithm``s around the pure schedules of ``execution_core.algorithms``.

The same classes run in a ``BacktestEngine`` and in a live ``TradingNode``. A primary
order (MARKET, with ``exec_algorithm_params={"params": "<json>"}``) is never sent to the
venue itself: every slice is a child spawned without reducing the primary, so children
link to their primary and their quantities add up to it.

- TWAP / VWAP: market children at the schedule's offsets from the primary's arrival. A
  child larger than the size at the touch keeps working (GTC) as the book refills; the
  submitter cancels whatever is still open at the end of the execution window.
- ICEBERG: one limit child at a time, at most the display quantity, priced at the touch
  (``limit_offset_bps`` through it); the next child is shown when the working one has
  filled. At ``duration_sec`` (never past the 5-minute window) the working child is
  cancelled and the rest stays unfilled.
"""

from __future__ import annotations

import json
from typing import Any

from nautilus_trader.common.events import TimeEvent
from nautilus_trader.config import ExecAlgorithmConfig
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.algorithm import ExecAlgorithm
from nautilus_trader.execution.messages import CancelOrder
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.events import OrderCanceled, OrderExpired, OrderFilled, OrderRejected
from nautilus_trader.model.identifiers import ClientOrderId, ExecAlgorithmId
from nautilus_trader.model.orders import Order

from execution_core.algorithms.iceberg import IcebergState, child_limit_price
from execution_core.algorithms.params import IcebergParams, parse_algorithm
from execution_core.algorithms.schedules import Slice, schedule_for
from execution_core.orders import Side
from execution_core.signals.schema import ExecAlgorithm as AlgorithmName


def _params(order: Order) -> dict[str, Any]:
    raw = (order.exec_algorithm_params or {}).get("params", "{}")
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


class ScheduledExecAlgorithmConfig(ExecAlgorithmConfig, frozen=True):
    exec_algorithm_id: ExecAlgorithmId | None = None


class ScheduledExecAlgorithm(ExecAlgorithm):
    """TWAP or VWAP: market children at the offsets of a pure schedule."""

    def __init__(self, name: AlgorithmName) -> None:
        super().__init__(
            ScheduledExecAlgorithmConfig(exec_algorithm_id=ExecAlgorithmId(name.value))
        )
        self._name = name
        self._remaining: dict[str, list[Slice]] = {}

    def on_order(self, order: Order) -> None:
        instrument = self.cache.instrument(order.instrument_id)
        lot = float(instrument.size_increment)
        algorithm, params = parse_algorithm(self._name.value, _params(order))
        slices = schedule_for(algorithm, params, order.quantity.as_double(), lot)
        start = self.clock.timestamp_ns()
        key = order.client_order_id.value
        self._remaining[key] = list(slices)
        for i, part in enumerate(slices):
            if part.offset_ns == 0:
                self._spawn(order, part)
            else:
                self.clock.set_time_alert_ns(
                    name=f"{key}:{i}", alert_time_ns=start + part.offset_ns, callback=self._on_slice
                )

    def _on_slice(self, event: TimeEvent) -> None:
        key, index = event.name.rsplit(":", 1)
        primary = self.cache.order(ClientOrderId(key))
        slices = self._remaining.get(key)
        if primary is None or slices is None:
            return
        self._spawn(primary, slices[int(index)])

    def _spawn(self, primary: Order, part: Slice) -> None:
        instrument = self.cache.instrument(primary.instrument_id)
        child = self.spawn_market(
            primary=primary,
            quantity=instrument.make_qty(part.quantity),
            time_in_force=TimeInForce.GTC,  # rests if larger than the touch; the caller
            # cancels what is still open when the execution window ends
            tags=primary.tags,
            reduce_primary=False,
        )
        self.submit_order(child)


class IcebergExecAlgorithm(ExecAlgorithm):
    """One visible limit child at a time, replenished as it fills."""

    def __init__(self) -> None:
        super().__init__(ScheduledExecAlgorithmConfig(exec_algorithm_id=ExecAlgorithmId("ICEBERG")))
        self._states: dict[str, IcebergState] = {}
        self._params: dict[str, IcebergParams] = {}
        self._working: dict[str, str] = {}  # child id -> primary id

    def on_order(self, order: Order) -> None:
        instrument = self.cache.instrument(order.instrument_id)
        _, params = parse_algorithm("ICEBERG", _params(order))
        assert isinstance(params, IcebergParams)
        key = order.client_order_id.value
        self._params[key] = params
        self._states[key] = IcebergState.start(
            order.quantity.as_double(), params, float(instrument.size_increment)
        )
        self.clock.set_time_alert_ns(
            name=f"{key}:end",
            alert_time_ns=IcebergState.deadline_ns(self.clock.timestamp_ns(), params),
            callback=self._on_end,
        )
        self._show_next(order)

    def _show_next(self, primary: Order) -> None:
        key = primary.client_order_id.value
        state = self._states[key]
        quantity = state.next_child()
        if quantity is None:
            return
        instrument = self.cache.instrument(primary.instrument_id)
        quote = self.cache.quote_tick(primary.instrument_id)
        raw = child_limit_price(
            Side.BUY if primary.side == OrderSide.BUY else Side.SELL,
            quote.bid_price.as_double(),
            quote.ask_price.as_double(),
            self._params[key].limit_offset_bps,
            float(instrument.price_increment),
        )
        child = self.spawn_limit(
            primary=primary,
            quantity=instrument.make_qty(quantity),
            price=instrument.make_price(raw),
            time_in_force=TimeInForce.GTC,
            tags=primary.tags,
            reduce_primary=False,
        )
        self._working[child.client_order_id.value] = key
        self.submit_order(child)

    def on_order_filled(self, event: OrderFilled) -> None:
        key = self._working.get(event.client_order_id.value)
        if key is None:
            return
        state = self._states[key]
        state.on_fill(event.last_qty.as_double())
        child = self.cache.order(event.client_order_id)
        if child is not None and child.is_closed:
            del self._working[event.client_order_id.value]
            if not state.done:
                self._show_next(self.cache.order(ClientOrderId(key)))

    def _closed(self, event: OrderCanceled | OrderExpired | OrderRejected) -> None:
        key = self._working.pop(event.client_order_id.value, None)
        if key is not None:
            self._states[key].on_child_closed()

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._closed(event)

    def on_order_expired(self, event: OrderExpired) -> None:
        self._closed(event)

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._closed(event)

    def _on_end(self, event: TimeEvent) -> None:
        key = event.name.rsplit(":", 1)[0]
        state = self._states.get(key)
        if state is None:
            return
        state.cancel()
        for child_id, primary_id in list(self._working.items()):
            if primary_id == key:
                child = self.cache.order(ClientOrderId(child_id))
                if child is not None and child.is_open:
                    self.cancel_order(child)
        # The primary never goes to a venue; closing it tells whoever submitted it that
        # the iceberg is over (its children's fills say how much was done).
        # (``cancel_order`` would send the cancel to a venue; ``execute`` cancels locally.)
        primary = self.cache.order(ClientOrderId(key))
        if primary is not None and not primary.is_closed:
            self.execute(
                CancelOrder(
                    trader_id=primary.trader_id,
                    strategy_id=primary.strategy_id,
                    instrument_id=primary.instrument_id,
                    client_order_id=primary.client_order_id,
                    venue_order_id=primary.venue_order_id,
                    command_id=UUID4(),
                    ts_init=self.clock.timestamp_ns(),
                )
            )


def all_exec_algorithms() -> list[ExecAlgorithm]:
    """One instance of each algorithm, to register with an engine or a node."""
    return [
        ScheduledExecAlgorithm(AlgorithmName.TWAP),
        ScheduledExecAlgorithm(AlgorithmName.VWAP),
        IcebergExecAlgorithm(),
    ]
