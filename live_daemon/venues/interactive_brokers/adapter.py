"""The Interactive Brokers adapter: :class:`InteractiveBrokersAdapter` on ib_async.

- **connect**: ``IB.connectAsync`` with the startup sync of positions, open orders, completed
  orders and executions (account updates skipped: the adapter reads no account values), in
  a background loop that reconnects with exponential backoff (tenacity) until
  :meth:`disconnect`, telling each change through ``tell_connection``;
- **events**: ``orderStatusEvent`` → ``accepted`` (``venue_order_id`` = permId, else
  orderId), ``canceled``, ``rejected`` (IB's error code and text in ``reason``);
  ``execDetailsEvent`` + ``commissionReportEvent`` → one ``filled`` per execution, with the
  commission of its report (a fill whose report does not come within
  ``request_timeout_s`` goes out with a zero fee, logged);
- **our order id is the IB orderRef**: :meth:`submit_order` first looks for the orderRef
  among the orders IB reported, and never sends an order it finds; the venue's record is
  read back by orderRef (open orders, completed orders, executions).

- **market data**: ``reqMktData`` per subscribed key (again after each reconnect): every
  configured instrument with a ``con_id`` from the start (``market_data``), others by
  :meth:`subscribe_market_data`; :meth:`last_quote` is the ticker's bid/ask and sizes,
  ``None`` until both sides came (the router cannot price an order without it).

Known limit: an order placed under another client id cannot be canceled by this one
(TWS's rule).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from ib_async import IB, Ticker, Trade
from ib_async import Fill as IBFill
from ib_async.ib import StartupFetch
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from live_daemon.domain import Fill
from live_daemon.operations import Operation, TimeInForce, VenueCapabilities, VenueType
from live_daemon.venues.external.adapter import ExternalVenueAdapter, VenueRejected
from live_daemon.venues.gateway import (
    Quote,
    VenueError,
    VenueEvent,
    VenueEventKind,
    VenueOrder,
    VenueOrderRecord,
    VenueUnavailable,
)
from live_daemon.venues.interactive_brokers.config import VENUE, IBAdapterConfig
from live_daemon.venues.interactive_brokers.contracts import ContractMap
from live_daemon.venues.interactive_brokers.orders import (
    IBOrderError,
    order_status,
    side_of,
    to_decimal,
    to_ib_order,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

STARTUP_FETCH = (
    StartupFetch.POSITIONS
    | StartupFetch.ORDERS_OPEN
    | StartupFetch.ORDERS_COMPLETE
    | StartupFetch.EXECUTIONS
)
_ACKED = ("PreSubmitted", "Submitted", "Filled", "PendingCancel")
_CLOSED = ("Cancelled", "ApiCancelled", "Inactive")
_LIQUIDITY = {1: "MAKER", 2: "TAKER"}


class InteractiveBrokersAdapter(ExternalVenueAdapter):
    """IB through TWS / IB Gateway (module docstring)."""

    venue = VENUE

    def __init__(self, config: IBAdapterConfig) -> None:
        super().__init__()
        self.config = config
        self._contracts = ContractMap(list(config.instruments))
        self.instrument_keys = self._contracts.keys
        self._ib = IB()
        self._ib.orderStatusEvent += self._on_status
        self._ib.execDetailsEvent += self._on_execution
        self._ib.commissionReportEvent += self._on_commission
        self._ib.disconnectedEvent += self._on_disconnected
        self._completed_status: dict[int, str] = {}
        original = self._ib.wrapper.completedOrder

        def completed_order(contract: Any, order: Any, state: Any) -> None:
            self._completed_status[order.permId] = state.completedStatus  # kept for reasons
            original(contract, order, state)

        self._ib.wrapper.completedOrder = completed_order  # type: ignore[method-assign,assignment]
        self._task: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        self._lost = asyncio.Event()
        self._generation = 0
        self._lock = asyncio.Lock()  # one venue-record request at a time (ib_async keys)
        self._waiters: dict[str, asyncio.Future[tuple[str, int | None] | None]] = {}
        self._known: dict[str, str] = {}  # our order id -> venue_key, orders we followed
        self._accepted: set[str] = set()
        self._closed: set[str] = set()
        self._fills_told: set[str] = set()
        self._quote_keys: list[str] = []  # subscribed, kept across reconnects
        self._tickers: dict[str, Ticker] = {}
        if config.market_data:  # the router prices an IB order from these quotes
            self._quote_keys = [i.key for i in config.instruments if i.con_id]
            for i in config.instruments:
                if not i.con_id:
                    log.warning(
                        "ib_no_market_data key=%s: its con_id is not configured (ib_async "
                        "keys quotes by IB's contract id), so the router cannot price it",
                        i.key,
                    )

    # -- lifecycle ---------------------------------------------------------------------------

    async def connect(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ib-adapter")
        try:
            await asyncio.wait_for(self._up.wait(), self.config.start_timeout_s)
        except TimeoutError:
            raise VenueError(
                f"IB at {self.config.host}:{self.config.port} (client id "
                f"{self.config.client_id}) not connected within {self.config.start_timeout_s}s; "
                "still retrying in the background"
            ) from None

    async def disconnect(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        was_up = self._up.is_set()
        self._up.clear()
        self._ib.disconnect()
        if was_up:
            self.tell_connection(False)

    def is_connected(self) -> bool:
        return self._up.is_set() and self._ib.isConnected()

    def capabilities(self) -> VenueCapabilities:
        return VenueCapabilities(
            VenueType.EXTERNAL_SDK,
            frozenset({Operation.TRADE}),
            frozenset({TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
        )

    def health(self) -> dict[str, Any]:
        return {**super().health(), "client_id": self.config.client_id, "port": self.config.port}

    async def _run(self) -> None:
        cfg = self.config
        while True:
            async for attempt in AsyncRetrying(
                wait=wait_exponential(multiplier=cfg.reconnect_initial_s, max=cfg.reconnect_max_s),
                retry=retry_if_exception_type(Exception),
                before_sleep=lambda s: log.warning(
                    "ib connect_failed attempt=%d error=%r",
                    s.attempt_number,
                    s.outcome and s.outcome.exception(),
                ),
            ):
                with attempt:
                    self._lost.clear()
                    await self._ib.connectAsync(
                        cfg.host,
                        cfg.port,
                        cfg.client_id,
                        timeout=cfg.connect_timeout_s,
                        account=cfg.account,
                        raiseSyncErrors=True,
                        fetchFields=STARTUP_FETCH,
                    )
            self._generation += 1
            self._up.set()
            log.info("ib connected port=%d client_id=%d", cfg.port, cfg.client_id)
            self.tell_connection(True)
            self._tickers.clear()  # ib_async forgot them with the connection
            self._subscribe_quotes()
            self._catch_up()
            await self._lost.wait()
            self._up.clear()
            log.warning("ib connection_lost port=%d", cfg.port)
            self.tell_connection(False)

    def _on_disconnected(self) -> None:
        self._lost.set()
        for order_id, waiter in self._waiters.items():
            if not waiter.done():
                waiter.set_exception(
                    VenueUnavailable(f"IB connection lost before order {order_id} was answered")
                )

    # -- events ------------------------------------------------------------------------------

    def _key(self, trade: Trade) -> str:
        return self._known.get(trade.order.orderRef) or self._contracts.key_for(trade.contract)

    def _on_status(self, trade: Trade) -> None:
        ref = trade.order.orderRef
        if not ref or ref in self._closed:
            return
        status = trade.orderStatus.status
        if status in _ACKED:
            self._accept(trade)
        elif status in _CLOSED:
            errors = [e for e in trade.log if e.errorCode]
            if ref not in self._accepted and (errors or status == "Inactive"):
                code = errors[-1].errorCode if errors else None
                text = errors[-1].message if errors else f"IB status {status}"
                self._close(trade, VenueEventKind.REJECTED, f"IB error {code}: {text}", code)
            else:
                why = f"IB error {errors[-1].errorCode}: {errors[-1].message}" if errors else ""
                self._close(trade, VenueEventKind.CANCELED, why or "canceled at IB", None)

    def _accept(self, trade: Trade) -> None:
        ref = trade.order.orderRef
        if ref in self._accepted:
            return
        self._accepted.add(ref)
        venue_order_id = trade.order.permId or trade.orderStatus.permId or trade.order.orderId
        self.emit(
            VenueEvent(
                VenueEventKind.ACCEPTED,
                ref,
                self._key(trade),
                {"venue_order_id": str(venue_order_id)},
            )
        )
        waiter = self._waiters.get(ref)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _close(self, trade: Trade, kind: VenueEventKind, reason: str, code: int | None) -> None:
        ref = trade.order.orderRef
        self._closed.add(ref)
        self.emit(VenueEvent(kind, ref, self._key(trade), {"reason": reason}))
        waiter = self._waiters.get(ref)
        if waiter is not None and not waiter.done():
            waiter.set_result((reason, code))

    def _on_execution(self, trade: Trade, fill: IBFill) -> None:
        if not trade.order.orderRef:
            return
        self._accept(trade)  # a fill acknowledges the order whatever came first
        loop = asyncio.get_running_loop()
        loop.call_later(self.config.request_timeout_s, self._tell_fill, trade, fill, True)

    def _on_commission(self, trade: Trade, fill: IBFill, report: Any) -> None:
        if trade.order.orderRef:
            self._tell_fill(trade, fill, False)

    def _tell_fill(self, trade: Trade, fill: IBFill, late: bool) -> None:
        exec_id = fill.execution.execId
        if exec_id in self._fills_told:
            return
        if late:
            log.warning("ib commission_report_missing exec_id=%s fee=0", exec_id)
        self._fills_told.add(exec_id)
        ours = self._fill(fill)
        self.emit(VenueEvent(VenueEventKind.FILLED, ours.order_id, self._key(trade), fill=ours))

    def _fill(self, fill: IBFill) -> Fill:
        ex, report = fill.execution, fill.commissionReport
        return Fill(
            fill_id=ex.execId,
            order_id=ex.orderRef,
            quantity=to_decimal(ex.shares),
            price=to_decimal(ex.price),
            fee=to_decimal(report.commission),
            fee_currency=report.currency or fill.contract.currency,
            liquidity_side=_LIQUIDITY.get(ex.lastLiquidity, "TAKER"),
            ts=ex.time,
        )

    def _catch_up(self) -> None:
        """After a (re)connect: what happened to the orders we follow while we were away."""
        for trade in self._ib.trades():
            if trade.order.orderRef in self._known:
                self._on_status(trade)
        for fill in self._ib.fills():
            ref = fill.execution.orderRef
            if ref in self._known and fill.execution.execId not in self._fills_told:
                self._fills_told.add(fill.execution.execId)
                ours = self._fill(fill)
                self.emit(VenueEvent(VenueEventKind.FILLED, ref, self._known[ref], fill=ours))

    # -- trading -----------------------------------------------------------------------------

    def _require_connected(self) -> None:
        if not self.is_connected():
            raise VenueUnavailable(f"IB at {self.config.host}:{self.config.port} is not connected")

    async def submit_order(self, order: VenueOrder) -> None:
        self._require_connected()
        oid = order.order_id
        try:
            contract = self._contracts.contract(order.venue_key)
            ib_order = to_ib_order(order, self.config.account)
        except (IBOrderError, ValueError) as exc:
            self._closed.add(oid)
            self.emit(
                VenueEvent(VenueEventKind.REJECTED, oid, order.venue_key, {"reason": str(exc)})
            )
            raise VenueRejected(str(exc)) from exc
        self._known[oid] = order.venue_key
        existing = [t for t in self._ib.trades() if t.order.orderRef == oid]
        if existing:  # IB has it: never send it again
            log.info("ib order_already_at_venue order_id=%s", oid)
            self._on_status(existing[-1])
            if oid in self._accepted or oid in self._closed:
                return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[str, int | None] | None] = loop.create_future()
        self._waiters[oid] = waiter
        try:
            if not existing:
                try:
                    self._ib.placeOrder(contract, ib_order)
                except ConnectionError as exc:
                    raise VenueUnavailable(f"IB connection lost sending order {oid}") from exc
            try:
                outcome = await asyncio.wait_for(waiter, self.config.submit_timeout_s)
            except TimeoutError:
                raise VenueUnavailable(
                    f"no acknowledgement from IB for order {oid} within "
                    f"{self.config.submit_timeout_s}s; look it up by its orderRef"
                ) from None
        finally:
            self._waiters.pop(oid, None)
        if outcome is not None:
            reason, code = outcome
            raise VenueRejected(reason, code=code)

    async def cancel_order(self, order_id: str) -> None:
        self._require_connected()
        trades = [t for t in self._ib.openTrades() if t.order.orderRef == order_id]
        if not trades:
            opened = await self._request(lambda: self._ib.reqAllOpenOrdersAsync())
            trades = [t for t in opened if t.order.orderRef == order_id]
        for trade in trades:
            self._ib.cancelOrder(trade.order)
        if not trades:
            log.info("ib cancel_not_open order_id=%s", order_id)

    # -- the venue's record ------------------------------------------------------------------

    async def _request(self, make: Callable[[], Awaitable[T]]) -> T:
        """One venue-record request, answered on the connection it was asked on."""
        self._require_connected()
        generation = self._generation
        try:
            result = await asyncio.wait_for(make(), self.config.request_timeout_s)
        except TimeoutError:
            raise VenueUnavailable(
                f"no answer from IB within {self.config.request_timeout_s}s"
            ) from None
        except ConnectionError as exc:
            raise VenueUnavailable(f"IB connection lost during a request: {exc}") from exc
        if generation != self._generation or not self.is_connected():
            raise VenueUnavailable("IB connection lost during a request")
        return result

    async def _executions(self) -> list[IBFill]:
        fills = await self._request(lambda: self._ib.reqExecutionsAsync())
        stored = self._ib.wrapper.fills  # the copies the commission reports updated
        return [stored.get(f.execution.execId, f) for f in fills if f.execution.orderRef]

    async def get_order_state(self, order_id: str) -> VenueOrderRecord | None:
        async with self._lock:
            trades = list(await self._request(lambda: self._ib.reqAllOpenOrdersAsync()))
            trades += await self._request(lambda: self._ib.reqCompletedOrdersAsync(False))
            fills = [f for f in await self._executions() if f.execution.orderRef == order_id]
        matches = [t for t in trades if t.order.orderRef == order_id]
        if not matches and not fills:
            return None
        ours = tuple(sorted((self._fill(f) for f in fills), key=lambda f: (f.ts, f.fill_id)))
        filled = sum((f.quantity for f in ours), Decimal(0))
        if not matches:  # executions only: the order's own record is gone
            key = self._contracts.key_for(fills[0].contract)
            side = side_of(fills[0].execution.side)
            return VenueOrderRecord(order_id, key, side, filled, "FILLED", filled, None, ours)
        trade = matches[0]
        self._known.setdefault(order_id, self._contracts.key_for(trade.contract))
        status = order_status(trade.orderStatus.status, filled)
        reason = self._completed_status.get(trade.order.permId) if status == "CANCELED" else None
        if status == "CANCELED" and reason and "reject" in reason.lower() and not filled:
            status = "REJECTED"
        return VenueOrderRecord(
            order_id=order_id,
            venue_key=self._contracts.key_for(trade.contract),
            side=side_of(trade.order.action),
            quantity=to_decimal(trade.order.totalQuantity),
            status=status,
            filled_quantity=filled,
            reason=reason,
            fills=ours,
        )

    async def get_open_orders(self) -> list[VenueOrderRecord]:
        async with self._lock:
            trades = await self._request(lambda: self._ib.reqAllOpenOrdersAsync())
        return [
            VenueOrderRecord(
                order_id=t.order.orderRef,
                venue_key=self._contracts.key_for(t.contract),
                side=side_of(t.order.action),
                quantity=to_decimal(t.order.totalQuantity),
                status=order_status(t.orderStatus.status, to_decimal(t.orderStatus.filled)),
                filled_quantity=to_decimal(t.orderStatus.filled),
                reason=None,
            )
            for t in trades
            if t.order.orderRef and t.orderStatus.status not in ("Filled", *_CLOSED)
        ]

    async def get_fills(self, since: dt.datetime | None = None) -> list[tuple[str, Fill]]:
        async with self._lock:
            fills = await self._executions()
        out = [(self._contracts.key_for(f.contract), self._fill(f)) for f in fills]
        out = [(k, f) for k, f in out if since is None or f.ts >= since]
        return sorted(out, key=lambda kf: (kf[1].ts, kf[1].fill_id))

    async def get_positions(self) -> dict[str, Decimal]:
        async with self._lock:
            positions = await self._request(lambda: self._ib.reqPositionsAsync())
        out: dict[str, Decimal] = {}
        for p in positions:
            if self.config.account and p.account != self.config.account:
                continue
            key = self._contracts.key_for(p.contract)
            out[key] = out.get(key, Decimal(0)) + to_decimal(p.position)
        return {k: v for k, v in out.items() if v}

    # -- market data -------------------------------------------------------------------------

    async def subscribe_market_data(self, venue_keys: Iterable[str]) -> None:
        for key in venue_keys:
            if not self._contracts.contract(key).conId:  # raises if the key is not configured
                raise ValueError(
                    f"instrument {key!r}: market data needs its con_id configured "
                    "(ib_async keys tickers by IB's contract id)"
                )
            if key not in self._quote_keys:
                self._quote_keys.append(key)
        if self.is_connected():
            self._subscribe_quotes()

    def _subscribe_quotes(self) -> None:
        for key in self._quote_keys:
            if key not in self._tickers:
                self._tickers[key] = self._ib.reqMktData(self._contracts.contract(key))

    def last_quote(self, venue_key: str) -> Quote | None:
        ticker = self._tickers.get(venue_key)
        if ticker is None:
            return None
        values = (ticker.bid, ticker.bidSize, ticker.ask, ticker.askSize)
        if any(v != v or v <= 0 for v in values):  # NaN or IB's empty -1: no quote yet
            return None
        bid, bid_size, ask, ask_size = (to_decimal(v) for v in values)
        ts = ticker.time or dt.datetime.now(dt.UTC)
        return bid, bid_size, ask, ask_size, int(ts.timestamp() * 1_000_000_000)
