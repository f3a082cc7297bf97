"""The stand-in's TCP server: one asyncio connection per API client, on 127.0.0.1.

A connection is the handshake (:mod:`.messages`), then ``startApi`` with the client id (a
second connection with an id in use is refused with IB's error 326, as TWS does), answered
with ``nextValidId`` and ``managedAccounts``; then the requests of the subset: placeOrder,
cancelOrder, reqOpenOrders, reqAllOpenOrders, reqCompletedOrders, reqExecutions,
reqPositions, reqIds, reqManagedAccts, reqCurrentTime, reqMktData / cancelMktData (bid and
ask ``tickPrice`` at the configured price, ``quote_size`` each, again on every
:meth:`StandInServer.set_price`), and the account requests
``IB.connectAsync`` makes at startup (reqAccountUpdates / reqAccountUpdatesMulti, answered
with their end message only: the stand-in keeps no account values). Anything else is logged
and ignored, as TWS ignores what it does not know.

An order's news goes to the connection of the client that placed it, in TWS's order:
openOrder and orderStatus ``Submitted`` when taken; execDetails, orderStatus ``Filled``,
openOrder and commissionReport when it fills; error 201 then orderStatus ``Cancelled``
when refused; orderStatus ``Cancelled`` then error 202 when canceled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from live_daemon.venues.interactive_brokers.standin import messages as m
from live_daemon.venues.interactive_brokers.standin.matching import (
    Book,
    BookExecution,
    BookOrder,
    Fees,
    Rejection,
    price_key,
)
from live_daemon.venues.interactive_brokers.standin.record import Journal

log = logging.getLogger(__name__)

INFO_FILE = "standin.json"
CLIENT_ID_IN_USE = 326


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Session:
    writer: asyncio.StreamWriter
    client_id: int | None = None

    def send(self, *frames: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(b"".join(frames))


class StandInServer:
    """The stand-in venue on ``host:port`` with its record in ``state_dir``."""

    def __init__(
        self,
        state_dir: Path,
        prices: dict[str, Decimal],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        accounts: tuple[str, ...] = ("DU1234567",),
        fees: Fees | None = None,
        quote_size: Decimal = Decimal(100),
    ) -> None:
        self.state_dir, self.host, self.port = Path(state_dir), host, port
        self.accounts = accounts
        self._prices, self._fees = dict(prices), fees or Fees()
        self._sessions: dict[int, _Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._quotes: dict[tuple[int, int], tuple[_Session, str]] = {}  # (client, reqId)
        self.quote_size = quote_size
        self._server: asyncio.Server | None = None
        self._journal: Journal | None = None
        self.book = Book(prices={})

    async def start(self) -> None:
        self._journal = Journal(self.state_dir)
        self.book = Book(prices=self._prices, fees=self._fees, record=self._journal.append)
        self.book.restore(self._journal.read())
        for key, price in self._prices.items():  # the prices may have moved while it was down
            self.book.set_price(key, price, _now())
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        info = {"host": self.host, "port": self.port, "pid": os.getpid()}
        (self.state_dir / INFO_FILE).write_text(json.dumps(info))
        log.info(
            "standin listening host=%s port=%d orders=%d executions=%d",
            self.host,
            self.port,
            len(self.book.orders),
            len(self.book.executions),
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    async def serve_forever(self) -> None:
        assert self._server is not None, "start() first"
        await self._server.serve_forever()

    def set_price(self, key: str, price: Decimal) -> None:
        """Move a price (resting limit orders it crosses fill and are reported)."""
        for order, execution in self.book.set_price(key, price, _now()):
            self._report_fill(order, execution)
        for (_, req_id), (session, quoted) in list(self._quotes.items()):
            if quoted == key:
                self._send_quote(session, req_id, key)

    def _send_quote(self, session: _Session, req_id: int, key: str) -> None:
        price = self.book.prices.get(key)
        if price is not None:  # bid = ask = the configured price, quote_size each side
            session.send(
                m.tick_price(req_id, m.BID, price, self.quote_size),
                m.tick_price(req_id, m.ASK, price, self.quote_size),
            )

    # -- a connection --------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            low, high = await m.read_handshake(reader)
            if not low <= m.SERVER_VERSION <= high:
                log.warning(
                    "standin versions=%d..%d refused server=%d", low, high, m.SERVER_VERSION
                )
                return
            session.send(m.server_hello(_now()))
            while True:
                fields = await m.read_message(reader)
                if fields and not self._handle(session, fields):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        except m.ProtocolError as exc:
            log.warning("standin protocol_error=%s", exc)
        finally:
            if session.client_id is not None and self._sessions.get(session.client_id) is session:
                del self._sessions[session.client_id]
            for sub, (owner, _) in list(self._quotes.items()):
                if owner is session:
                    del self._quotes[sub]
            self._tasks.discard(task)
            writer.close()

    def _handle(self, session: _Session, fields: list[str]) -> bool:
        """Answer one request; ``False`` closes the connection."""
        msg_id = int(fields[0])
        if msg_id == 71:  # startApi: version, clientId, optionalCapabilities
            return self._start_api(session, int(fields[2]))
        if session.client_id is None:
            log.warning("standin request=%d before startApi: closing", msg_id)
            return False
        handler = self._handlers.get(msg_id)
        if handler is None:
            log.info("standin unsupported_request=%d ignored", msg_id)
        else:
            handler(self, session, fields)
        return True

    def _start_api(self, session: _Session, client_id: int) -> bool:
        if client_id in self._sessions:
            session.send(
                m.error(
                    -1, CLIENT_ID_IN_USE, "Unable to connect as the client id is already in use."
                )
            )
            return False
        session.client_id = client_id
        self._sessions[client_id] = session
        session.send(m.next_valid_id(self.book.next_order_id()), m.managed_accounts(self.accounts))
        log.info("standin client_connected client_id=%d", client_id)
        return True

    # -- requests ------------------------------------------------------------------------------

    def _place_order(self, session: _Session, fields: list[str]) -> None:
        placed = m.parse_place_order(fields)
        if not placed.account:  # IB books an order without one to the login's account
            placed = replace(placed, account=self.accounts[0])
        assert session.client_id is not None
        try:
            order, executions = self.book.place(placed, session.client_id, _now())
        except Rejection as exc:
            session.send(m.error(placed.order_id, exc.code, str(exc)))
            refused = self.book.find(session.client_id, placed.order_id)
            if refused is not None and refused.order_ref == placed.order_ref:
                session.send(_status(refused))
            return
        session.send(m.open_order(_order_values(order, "Submitted")))
        session.send(_status(order, status="Submitted", filled=Decimal(0)))
        for execution in executions:
            self._report_fill(order, execution)
        if not executions and not order.is_open:  # IOC/FOK not marketable
            session.send(_status(order))

    def _cancel_order(self, session: _Session, fields: list[str]) -> None:
        order_id = int(fields[2])
        assert session.client_id is not None
        order = self.book.cancel(session.client_id, order_id, _now())
        if order is None:
            known = self.book.find(session.client_id, order_id)
            state = known.status if known else "unknown"
            text = f"OrderId {order_id} that needs to be cancelled cannot be cancelled, state: "
            text += f"{state}."
            session.send(m.error(order_id, 10148, text))
            return
        session.send(_status(order), m.error(order_id, 202, "Order Canceled - reason:"))

    def _open_orders(self, session: _Session, fields: list[str], *, every: bool = False) -> None:
        for order in self.book.orders.values():
            if order.is_open and (every or order.client_id == session.client_id):
                session.send(m.open_order(_order_values(order)), _status(order))
        session.send(m.open_order_end())

    def _all_open_orders(self, session: _Session, fields: list[str]) -> None:
        self._open_orders(session, fields, every=True)

    def _completed_orders(self, session: _Session, fields: list[str]) -> None:
        for order in self.book.orders.values():
            if not order.is_open:
                session.send(m.completed_order(_order_values(order)))
        session.send(m.completed_orders_end())

    def _executions(self, session: _Session, fields: list[str]) -> None:
        # version, reqId, clientId, acctCode, time, symbol, secType, exchange, side
        req_id, client_id, account, since, symbol, sec_type, _, side = fields[2:10]
        start = _filter_time(since)
        for ex in self.book.executions:
            if (
                (client_id in ("", "0") or int(client_id) == ex.client_id)
                and account in ("", ex.account)
                and symbol in ("", ex.contract["symbol"])
                and sec_type in ("", ex.contract["secType"])
                and side in ("", ex.side, {"BOT": "BUY", "SLD": "SELL"}[ex.side])
                and (start is None or ex.time >= start)
            ):
                session.send(
                    m.exec_details(_exec_values(ex, int(req_id))),
                    m.commission_report(ex.exec_id, ex.commission, ex.currency),
                )
        session.send(m.exec_details_end(int(req_id)))

    def _positions(self, session: _Session, fields: list[str]) -> None:
        for account, contract, qty, avg_cost in self.book.positions():
            if qty:
                values = {**contract, "account": account, "position": qty, "avgCost": avg_cost}
                session.send(m.position(values))
        session.send(m.position_end())

    def _account_updates(self, session: _Session, fields: list[str]) -> None:
        if fields[2] == "1":  # subscribe
            session.send(m.account_download_end(fields[3] or self.accounts[0]))

    def _account_updates_multi(self, session: _Session, fields: list[str]) -> None:
        session.send(m.account_update_multi_end(int(fields[2])))

    def _ids(self, session: _Session, fields: list[str]) -> None:
        session.send(m.next_valid_id(self.book.next_order_id()))

    def _managed_accounts(self, session: _Session, fields: list[str]) -> None:
        session.send(m.managed_accounts(self.accounts))

    def _current_time(self, session: _Session, fields: list[str]) -> None:
        session.send(m.frame([49, 1, int(_now().timestamp())]))

    def _market_data(self, session: _Session, fields: list[str]) -> None:
        req_id, contract = m.parse_market_data_request(fields)
        assert session.client_id is not None
        key = price_key(contract)
        self._quotes[(session.client_id, req_id)] = (session, key)
        self._send_quote(session, req_id, key)

    def _cancel_market_data(self, session: _Session, fields: list[str]) -> None:
        assert session.client_id is not None
        self._quotes.pop((session.client_id, int(fields[2])), None)

    def _ignore(self, session: _Session, fields: list[str]) -> None:
        return None

    _handlers: ClassVar[dict[int, Callable[..., None]]] = {
        1: _market_data,
        2: _cancel_market_data,
        3: _place_order,
        4: _cancel_order,
        5: _open_orders,
        6: _account_updates,
        7: _executions,
        8: _ids,
        15: _ignore,  # reqAutoOpenOrders
        16: _all_open_orders,
        17: _managed_accounts,
        49: _current_time,
        64: _ignore,  # cancelPositions
        76: _account_updates_multi,
        99: _completed_orders,
        61: _positions,
    }

    def _report_fill(self, order: BookOrder, execution: BookExecution) -> None:
        session = self._sessions.get(order.client_id)
        if session is None:  # the client hears of it from reqExecutions when back
            return
        session.send(
            m.exec_details(_exec_values(execution, -1)),
            _status(order),
            m.open_order(_order_values(order)),
            m.commission_report(execution.exec_id, execution.commission, execution.currency),
        )


def _status(order: BookOrder, status: str | None = None, filled: Decimal | None = None) -> bytes:
    done = order.filled if filled is None else filled
    return m.order_status(
        order.order_id,
        status or order.status,
        done,
        order.quantity - done if (status or order.status) == "Submitted" else Decimal(0),
        order.avg_price if done else Decimal(0),
        order.perm_id,
        order.last_price if done else Decimal(0),
        order.client_id,
    )


def _order_values(order: BookOrder, status: str | None = None) -> dict[str, object]:
    return {
        **order.contract,
        "orderId": order.order_id,
        "action": order.action,
        "totalQuantity": order.quantity,
        "orderType": order.order_type,
        "lmtPrice": order.lmt_price,
        "tif": order.tif,
        "account": order.account,
        "orderRef": order.order_ref,
        "clientId": order.client_id,
        "permId": order.perm_id,
        "status": status or order.status,
        "filledQuantity": order.filled,
        "completedTime": order.completed_time,
        "completedStatus": order.reason or order.status,
    }


def _exec_values(ex: BookExecution, req_id: int) -> dict[str, object]:
    return {
        **ex.contract,
        "reqId": req_id,
        "orderId": ex.order_id,
        "execId": ex.exec_id,
        "time": m.ib_time(ex.time),
        "acctNumber": ex.account,
        "execExchange": ex.contract.get("exchange", ""),
        "side": ex.side,
        "shares": ex.shares,
        "price": ex.price,
        "permId": ex.perm_id,
        "clientId": ex.client_id,
        "liquidation": 0,
        "cumQty": ex.cum_qty,
        "avgPrice": ex.avg_price,
        "orderRef": ex.order_ref,
        "lastLiquidity": ex.liquidity,
    }


def _filter_time(text: str) -> dt.datetime | None:
    """An execution filter's time (``yyyymmdd hh:mm:ss`` or ``yyyymmdd-hh:mm:ss``, UTC)."""
    if not text:
        return None
    compact = text.replace("-", " ")[:17]
    try:
        return dt.datetime.strptime(compact, "%Y%m%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        log.warning("standin bad_execution_filter_time=%r ignored", text)
        return None
