"""The signal-execution strategy: each target change becomes one routed primary order.

At a signal's time the strategy asks the smart router for the venue (among those listing
the instrument when the signal says ``ANY``), using the latest quote of each venue. Quotes
older than the router's limit do not count, and a window opens exactly at its signal, so
the strategy waits (polling the cache every 50 ms) up to ``decision_timeout_ms`` (the
backtest config's setting, 2 s by default) for every candidate venue to quote, then decides
among those that have. That setting bounds the wait: a signal with no venue quoting by then
is rejected (``no venue quoted within decision_timeout_ms``), never decided later. The
decision keeps its own time and the decision-time mid of the chosen venue
(``Decision.decision_price``); the arrival price that slippage is measured against is the
chosen venue's mid *at the signal*, set by the runner from the ticks
(:func:`pipelines.backtest.results.set_arrival_prices`). At the window's end every order of
the signal still open is cancelled, so no execution runs past its window. The primary order
carries the signal's execution algorithm; the ``execution_core.nautilus`` algorithms slice it
into the child orders that reach the venue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nautilus_trader.common.events import TimeEvent
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import ExecAlgorithmId, InstrumentId
from nautilus_trader.trading.strategy import Strategy

from execution_core.accounting.settlement import is_inverse
from execution_core.algorithms.params import lots_to_quantity, quantity_to_lots
from execution_core.errors import ExecutionServicesError
from execution_core.execution_window import EXECUTION_WINDOW_NS
from execution_core.instruments.ids import CanonicalId
from execution_core.orders import Side
from execution_core.routing.costs import TopOfBook, venue_quantity
from execution_core.routing.router import SmartRouter


@dataclass(frozen=True)
class SignalEvent:
    """One target change, as the strategy needs it."""

    operation_id: str
    strategy_id: str
    ts_ns: int
    signal_key: str  # canonical key, venue may be ANY
    quantity: float  # unsigned
    side: Side
    algorithm: str
    params: str | None
    signal_file: str | None
    signal_row: int


@dataclass
class Decision:
    """What the strategy did with a signal (recorded for the results and the summary)."""

    event: SignalEvent
    ts_decision: int = 0
    venue_key: str | None = None
    client_order_id: str | None = None
    quantity: float = 0.0
    arrival_price: float | None = None  # chosen venue's mid at the signal (set by the runner)
    arrival_source: str | None = None  # "at_or_before_signal" | "first_in_window"
    decision_price: float | None = None  # chosen venue's mid at the decision
    routing: dict[str, Any] = field(default_factory=dict)
    rejection: str | None = None

    @property
    def delay_ns(self) -> int:
        """Signal → decision."""
        return self.ts_decision - self.event.ts_ns


POLL_NS = 50_000_000  # while waiting for quotes, look at the cache every 50 ms
# Open orders are cancelled this long before the window ends, so that the cancel reaches the
# simulated venue (after its latency) while the window lasts. The runner puts a heartbeat at
# each window's end: the backtest clock only moves with data.
CANCEL_LEAD_NS = 1_000_000_000


class SignalExecutionConfig(StrategyConfig, frozen=True):
    decision_timeout_ms: int = 2_000


class SignalExecutionStrategy(Strategy):
    def __init__(
        self,
        config: SignalExecutionConfig,
        events: list[SignalEvent],
        router: SmartRouter,
        instrument_ids: dict[str, InstrumentId],  # concrete venue key -> Nautilus id
    ) -> None:
        super().__init__(config)
        self._events = {e.operation_id: e for e in events}
        self._router = router
        self._ids = instrument_ids
        self._keys = {iid: key for key, iid in instrument_ids.items()}
        self._pending: dict[str, SignalEvent] = {}
        self._overdue: set[str] = set()
        self._timeout_ns = config.decision_timeout_ms * 1_000_000
        self.decisions: list[Decision] = []

    def on_start(self) -> None:
        # No tick subscriptions: the data engine keeps the cache's latest quotes current, and a
        # Python callback on every tick would cost more than the whole decision logic.
        for event in self._events.values():
            self.clock.set_time_alert_ns(
                name=f"signal:{event.operation_id}",
                alert_time_ns=event.ts_ns,
                callback=self._on_signal,
            )

    def _on_signal(self, alert: TimeEvent) -> None:
        event = self._events[alert.name.split(":", 1)[1]]
        self._pending[event.operation_id] = event
        for name, at, callback in (
            ("deadline", event.ts_ns + self._timeout_ns, self._on_deadline),
            ("window_end", event.ts_ns + EXECUTION_WINDOW_NS - CANCEL_LEAD_NS, self._on_window_end),
        ):
            self.clock.set_time_alert_ns(
                name=f"{name}:{event.operation_id}", alert_time_ns=at, callback=callback
            )
        self._try_decide(event)
        if event.operation_id in self._pending:  # look again every POLL_NS until decided
            self.clock.set_timer_ns(
                name=f"poll:{event.operation_id}",
                interval_ns=POLL_NS,
                start_time_ns=0,
                stop_time_ns=event.ts_ns + EXECUTION_WINDOW_NS - 1,
                callback=self._on_poll,
            )

    def _on_deadline(self, alert: TimeEvent) -> None:
        operation_id = alert.name.split(":", 1)[1]
        self._overdue.add(operation_id)
        event = self._pending.get(operation_id)
        if event is None:
            return
        self._try_decide(event)
        if operation_id in self._pending:  # nothing quoted in time: the timeout is the bound
            del self._pending[operation_id]
            if f"poll:{operation_id}" in self.clock.timer_names:
                self.clock.cancel_timer(f"poll:{operation_id}")
            self.decisions.append(
                Decision(
                    event,
                    self.clock.timestamp_ns(),
                    rejection=(
                        "no venue quoted within decision_timeout_ms"
                        f" ({self._timeout_ns // 1_000_000} ms) of the signal"
                    ),
                )
            )

    def _on_window_end(self, alert: TimeEvent) -> None:
        operation_id = alert.name.split(":", 1)[1]
        event = self._pending.pop(operation_id, None)
        if f"poll:{operation_id}" in self.clock.timer_names:
            self.clock.cancel_timer(f"poll:{operation_id}")
        if event is not None:  # no venue quoted during the whole window
            self.decisions.append(
                Decision(
                    event, self.clock.timestamp_ns(), rejection="no venue quoted in the window"
                )
            )
        tag = f"op={operation_id}"
        for order in self.cache.orders_open(strategy_id=self.id):
            if tag in (order.tags or []):
                self.cancel_order(order)

    def _on_poll(self, timer: TimeEvent) -> None:
        event = self._pending.get(timer.name.split(":", 1)[1])
        if event is not None:
            self._try_decide(event)

    def _books(self, candidates: list[str]) -> dict[str, TopOfBook]:
        """The router's books, sizes in base units (an inverse contract's USD sizes are
        converted at their own prices)."""
        books = {}
        for key in candidates:
            quote = self.cache.quote_tick(self._ids[key])
            if quote is None:
                continue
            levels = (
                quote.bid_price.as_double(),
                quote.bid_size.as_double(),
                quote.ask_price.as_double(),
                quote.ask_size.as_double(),
            )
            if is_inverse(key):
                spec = self._router.reference.get(key)
                books[key] = TopOfBook.from_venue_units(spec, *levels, ts_ns=quote.ts_event)
            else:
                books[key] = TopOfBook(*levels, ts_ns=quote.ts_event)
        return books

    def _candidates(self, signal_key: str) -> list[str]:
        cid = CanonicalId.parse(signal_key)
        if not cid.is_any_venue:
            return [signal_key]
        tail = signal_key.split(":", 1)[1]
        return [key for key in self._ids if key.split(":", 1)[1] == tail]

    def _try_decide(self, event: SignalEvent) -> None:
        now = self.clock.timestamp_ns()
        candidates = self._candidates(event.signal_key)
        books = self._books(candidates)
        # Timers of an instant run after that instant's data, so a deadline falling between
        # two sparse quotes may find the later one in the cache already: not seen yet.
        fresh = {k: b for k, b in books.items() if event.ts_ns <= b.ts_ns <= now}
        overdue = event.operation_id in self._overdue
        if not fresh or (len(fresh) < len(candidates) and not overdue):
            return  # wait for the venues to quote inside the window
        del self._pending[event.operation_id]
        if f"poll:{event.operation_id}" in self.clock.timer_names:
            self.clock.cancel_timer(f"poll:{event.operation_id}")
        decision = Decision(event=event, ts_decision=now)
        self.decisions.append(decision)
        try:
            routed = self._router.route(event.signal_key, event.side, event.quantity, fresh, now)
        except ExecutionServicesError as exc:
            decision.rejection = f"routing: {exc}"
            return
        decision.routing = routed.as_dict()
        decision.venue_key = routed.venue_key
        book = fresh[routed.venue_key]
        decision.decision_price = (book.bid_price + book.ask_price) / 2
        self._submit(decision, book)

    def _submit(self, decision: Decision, book: TopOfBook) -> None:
        event = decision.event
        assert decision.venue_key is not None
        instrument = self.cache.instrument(self._ids[decision.venue_key])
        quantity_in_units = event.quantity  # base units; an inverse contract takes USD
        if is_inverse(decision.venue_key):
            spec = self._router.reference.get(decision.venue_key)
            price = book.touch(event.side)[0]
            quantity_in_units = float(venue_quantity(spec, event.quantity, price))
        lots = quantity_to_lots(quantity_in_units, float(instrument.size_increment))
        if lots == 0:
            decision.rejection = (
                f"quantity {event.quantity} is below the lot size {instrument.size_increment}"
            )
            return
        quantity = instrument.make_qty(lots_to_quantity(lots, float(instrument.size_increment)))
        decision.quantity = quantity.as_double()
        side = OrderSide.BUY if event.side is Side.BUY else OrderSide.SELL
        tags = [f"op={event.operation_id}", f"algo={event.algorithm}"]
        if event.algorithm == "NORMAL":
            order = self.order_factory.market(instrument.id, side, quantity, tags=tags)
        else:
            order = self.order_factory.market(
                instrument.id,
                side,
                quantity,
                tags=tags,
                exec_algorithm_id=ExecAlgorithmId(event.algorithm),
                exec_algorithm_params={
                    "params": event.params or "{}",
                    "window_end_ns": event.ts_ns + EXECUTION_WINDOW_NS,
                },
            )
        decision.client_order_id = order.client_order_id.value
        self.submit_order(order)
