"""Trading on Deribit and reading its record of our orders: :class:`DeribitExecution`.

It sends through ``call(build, idempotent=...)`` (the adapter's authenticated session) and
tells what Deribit says through ``emit`` (the events of :mod:`.tracking`).

- **submit** checks the order before anything leaves (:func:`.orders.order_params`: a
  refusal names the field), sends ``private/buy``/``sell`` once with our id in ``label``,
  and returns once Deribit acknowledged it (``accepted`` emitted). A Deribit error is a
  :class:`VenueRejected` naming the code, after the ``rejected`` event, except 10028 (the
  session is closed): that one, a timeout and a lost connection raise
  :class:`VenueUnavailable` and the order is not sent again: it is looked up by its label;
- **cancel** finds Deribit's order id (known, or by label) and cancels; an order no longer
  open is not an error;
- **the record**: order by label (``private/get_order_state_by_label``) with its trades
  (``private/get_user_trades_by_instrument`` since its creation, filtered to it), open
  orders per instrument (ours: with a label), trades since a time per instrument,
  positions per currency (signed, Deribit's units).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from live_daemon.domain import Fill
from live_daemon.venues.deribit import messages as m
from live_daemon.venues.deribit.connection import RequestBuilder
from live_daemon.venues.deribit.errors import DeribitError, DeribitErrorCode
from live_daemon.venues.deribit.instruments import DeribitInstrument
from live_daemon.venues.deribit.orders import OrderInputError, fill, order_params, order_record
from live_daemon.venues.deribit.tracking import OrderTracker
from live_daemon.venues.external.adapter import VenueRejected
from live_daemon.venues.gateway import VenueEvent, VenueOrder, VenueOrderRecord, VenueUnavailable

log = logging.getLogger(__name__)

# a cancel answered with one of these found the order already closed: nothing to do
_ALREADY_CLOSED = frozenset(
    {
        DeribitErrorCode.order_not_found,
        DeribitErrorCode.not_open_order,
        DeribitErrorCode.already_closed,
    }
)
_PAGE = 1000  # Deribit's maximum count per trades request


class Caller(Protocol):
    def __call__(self, build: RequestBuilder, *, idempotent: bool) -> Awaitable[Any]: ...


class DeribitExecution:
    """Orders and the record (module docstring); ``instruments`` by canonical key."""

    def __init__(
        self,
        instruments: dict[str, DeribitInstrument],
        call: Caller,
        emit: Callable[[VenueEvent], None],
    ) -> None:
        self.instruments = instruments
        self._by_name = {rules.name: rules for rules in instruments.values()}
        self._call = call
        self._emit = emit
        self.tracker = OrderTracker(self.key_of)

    def key_of(self, instrument_name: str) -> str | None:
        rules = self._by_name.get(instrument_name)
        return None if rules is None else rules.key

    def _emit_all(self, events: list[VenueEvent]) -> None:
        for event in events:
            self._emit(event)

    # -- notifications -------------------------------------------------------------------

    def on_user_orders(self, data: Any) -> None:
        for item in data if isinstance(data, list) else [data]:
            self._emit_all(self.tracker.on_order(m.Order.model_validate(item)))

    def on_user_trades(self, data: Any) -> None:
        for item in data if isinstance(data, list) else [data]:
            self._emit_all(self.tracker.on_trade(m.Trade.model_validate(item)))

    # -- trading -------------------------------------------------------------------------

    async def submit(self, order: VenueOrder) -> None:
        rules = self.instruments.get(order.venue_key)
        try:
            direction, params = order_params(order, rules)
        except OrderInputError as exc:
            log.warning("deribit_order_refused order_id=%s error=%s", order.order_id, exc)
            self._emit(self.tracker.rejected(order.order_id, order.venue_key, str(exc), None))
            raise VenueRejected(f"order {order.order_id} not sent to Deribit: {exc}") from exc
        self.tracker.expect(order.order_id, order.venue_key)
        builder = m.buy if direction is m.Direction.buy else m.sell
        try:
            result = await self._call(partial(builder, params=params), idempotent=False)
        except DeribitError as exc:
            if exc.closes_session:
                raise VenueUnavailable(
                    f"order {order.order_id}: {exc}; the session is closed, the order is "
                    "looked up by its label, not sent again"
                ) from exc
            self._emit(self.tracker.rejected(order.order_id, order.venue_key, str(exc), exc.code))
            raise VenueRejected(
                f"order {order.order_id} refused by Deribit: {exc}", code=exc.code
            ) from exc
        parsed = m.OrderResult.model_validate(result)
        self._emit_all(self.tracker.on_order(parsed.order))
        for trade in parsed.trades:
            self._emit_all(self.tracker.on_trade(trade))
        if parsed.order.order_state is m.OrderState.rejected:
            raise VenueRejected(f"order {order.order_id} rejected by Deribit")

    async def cancel(self, order_id: str) -> None:
        tracked = self.tracker.get(order_id)
        venue_order_id = tracked.venue_order_id if tracked is not None else None
        if venue_order_id is None:
            found = await self._find(order_id)
            if found is None:
                log.info("deribit_cancel_unknown_order order_id=%s", order_id)
                return
            self._emit_all(self.tracker.on_order(found))
            if found.order_state not in (m.OrderState.open, m.OrderState.untriggered):
                return
            venue_order_id = found.order_id
        try:
            result = await self._call(partial(m.cancel, order_id=venue_order_id), idempotent=True)
        except DeribitError as exc:
            if exc.code in _ALREADY_CLOSED:
                log.info("deribit_cancel_of_closed_order order_id=%s error=%s", order_id, exc)
                return
            raise VenueRejected(
                f"cancel of {order_id} refused by Deribit: {exc}", code=exc.code
            ) from exc
        self._emit_all(self.tracker.on_order(m.Order.model_validate(result)))

    # -- the record ----------------------------------------------------------------------

    async def _read(self, build: RequestBuilder) -> Any:
        """A read (resent once after a 13009); a Deribit refusal is a VenueRejected."""
        try:
            return await self._call(build, idempotent=True)
        except DeribitError as exc:
            if exc.needs_reauth:
                raise VenueUnavailable(f"Deribit read not authorized: {exc}") from exc
            raise VenueRejected(f"Deribit refused a read: {exc}", code=exc.code) from exc

    async def _find(self, order_id: str) -> m.Order | None:
        """Our order ``order_id`` by its label, or ``None`` if Deribit has none."""
        tracked = self.tracker.get(order_id)
        if tracked is not None and tracked.venue_key in self.instruments:
            currencies = [self.instruments[tracked.venue_key].currency]
        else:
            currencies = sorted({rules.currency for rules in self.instruments.values()})
        found: list[m.Order] = []
        for currency in currencies:
            result = await self._read(
                partial(m.get_order_state_by_label, currency=currency, label=order_id)
            )
            found += [m.Order.model_validate(o) for o in result or []]
        found = [o for o in found if o.label == order_id]
        if len(found) > 1:
            log.error("deribit_label_on_several_orders order_id=%s count=%d", order_id, len(found))
        return max(found, key=lambda o: o.creation_timestamp) if found else None

    async def get_order_state(self, order_id: str) -> VenueOrderRecord | None:
        order = await self._find(order_id)
        if order is None:
            return None
        key = self.key_of(order.instrument_name)
        if key is None:
            log.warning("deribit_order_on_unknown_instrument order_id=%s", order_id)
            return None
        # its trades from the instrument's since the order was created: the by-instrument
        # read every Deribit (and the stand-in) serves, filtered to this order
        rules = self.instruments[key]
        trades = [
            t
            for t in await self._trades_since(rules.name, order.creation_timestamp)
            if t.order_id == order.order_id
        ]
        return order_record(order, key, trades)

    async def get_open_orders(self) -> list[VenueOrderRecord]:
        records: list[VenueOrderRecord] = []
        for key, rules in self.instruments.items():
            result = await self._read(
                partial(m.get_open_orders_by_instrument, instrument_name=rules.name)
            )
            orders = [m.Order.model_validate(o) for o in result or []]
            records += [order_record(o, key) for o in orders if o.label]
        return records

    async def _trades_since(self, name: str, start_ms: int) -> list[m.Trade]:
        """Every trade of ``name`` at or after ``start_ms``, paged on ``has_more``."""
        found: dict[str, m.Trade] = {}
        page_start = start_ms
        while True:
            result = await self._read(
                partial(
                    m.get_user_trades_by_instrument_since,
                    instrument_name=name,
                    start_timestamp=page_start,
                    count=_PAGE,
                )
            )
            page = m.UserTrades.model_validate(result)
            new = [t for t in page.trades if t.trade_id not in found]
            found.update((t.trade_id, t) for t in new)
            if not page.has_more or not new:
                break
            page_start = page.trades[-1].timestamp
        return list(found.values())

    async def get_fills(self, since: dt.datetime | None) -> list[tuple[str, Fill]]:
        start = 0 if since is None else int(since.timestamp() * 1000)
        found: list[tuple[int, int, str, Fill]] = []
        for key, rules in self.instruments.items():
            for trade in await self._trades_since(rules.name, start):
                order_id = trade.label or self.tracker.order_id_of(trade.order_id)
                if order_id and trade.timestamp >= start:
                    found.append(
                        (trade.timestamp, trade.trade_seq or 0, key, fill(trade, order_id))
                    )
        found.sort(key=lambda x: x[:2])
        return [(key, f) for _, _, key, f in found]

    async def get_positions(self) -> dict[str, Decimal]:
        positions: dict[str, Decimal] = {}
        for currency in sorted({rules.currency for rules in self.instruments.values()}):
            result = await self._read(partial(m.get_positions, currency=currency))
            for item in result or []:
                position = m.Position.model_validate(item)
                key = self.key_of(position.instrument_name)
                if key is None:
                    continue
                sign = -1 if position.direction is m.PositionDirection.sell else 1
                size = abs(position.size) * sign
                positions[key] = (
                    Decimal(0) if position.direction is m.PositionDirection.zero else size
                )
        return positions
