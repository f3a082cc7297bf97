"""The stand-in's WebSocket server: Deribit API v2 JSON-RPC at ``/ws/api/v2``.

Per connection: its access token (``public/auth``), its subscriptions, its heartbeat
(``public/set_heartbeat``: a ``test_request`` every interval; a connection that has not
answered the previous one with ``public/test`` is closed) and cancel-on-disconnect.
Across connections (one account): the rate limiter (10028 closes the session) and the
faults of :class:`~.config.Faults`, changed at run time by ``standin/set_faults`` from a
loopback peer only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from pydantic import ValidationError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse

from live_daemon.venues.deribit.errors import DeribitErrorCode
from live_daemon.venues.deribit.messages import (
    Direction,
    OrderParams,
    book_channel,
    ticker_channel,
)
from live_daemon.venues.deribit.protocol import ProtocolError, Request, dumps, loads
from live_daemon.venues.deribit.standin import book
from live_daemon.venues.deribit.standin.auth import AuthError, Sessions
from live_daemon.venues.deribit.standin.config import WS_PATH, Faults, StandinConfig
from live_daemon.venues.deribit.standin.engine import Exchange
from live_daemon.venues.deribit.standin.matching import OrderReject
from live_daemon.venues.deribit.standin.model import Touch
from live_daemon.venues.deribit.standin.ratelimit import RateLimiter

log = logging.getLogger(__name__)

VERSION = "1.2.26"
PUBLIC = frozenset({"public/auth", "public/test", "public/set_heartbeat", "public/subscribe"})


def _ms() -> int:
    return time.time_ns() // 1_000_000


class Failure(Exception):
    def __init__(self, code: DeribitErrorCode, reason: str, param: str | None = None) -> None:
        self.code, self.reason, self.param = code, reason, param
        super().__init__(reason)


class _Client:
    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.token: str | None = None
        self.channels: set[str] = set()
        self.heartbeat: asyncio.Task[None] | None = None
        self.answered_test = True
        self.cancel_on_disconnect = False


class StandinServer:
    def __init__(self, config: StandinConfig, exchange: Exchange, sessions: Sessions) -> None:
        self.config = config
        self.exchange = exchange
        exchange.notify = self.notify
        self.sessions = sessions
        self.limiter = RateLimiter(config.rate_limits, time.monotonic())
        self.faults = config.faults.model_copy()
        self.clients: set[_Client] = set()
        self._held: tuple[_Client, str] | None = None  # a notification held back (reorder)
        self._book_touch: dict[str, Touch] = {}  # the book as last published, per instrument
        self._change_id: dict[str, int] = dict.fromkeys(exchange.listings, 0)
        self.server: Server | None = None

    # -- life --------------------------------------------------------------------------

    async def start(self) -> int:
        """Listen; the port (the configured one, or the one given for port 0)."""
        self.server = await serve(
            self._connection,
            self.config.host,
            self.config.port,
            process_request=self._check_path,
            max_size=32 * 1024,  # Deribit's frame limit
        )
        port = int(next(iter(self.server.sockets)).getsockname()[1])
        log.info("deribit_standin_listening host=%s port=%d", self.config.host, port)
        return port

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def _check_path(self, ws: ServerConnection, request: HttpRequest) -> HttpResponse | None:
        if request.path.split("?")[0] != WS_PATH:
            return ws.respond(404, f"only {WS_PATH} is served\n")
        return None

    async def _connection(self, ws: ServerConnection) -> None:
        client = _Client(ws)
        client.cancel_on_disconnect = self.config.cancel_on_disconnect
        self.clients.add(client)
        try:
            async for raw in ws:
                if not await self._frame(client, raw):
                    break
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            if client.heartbeat is not None:
                client.heartbeat.cancel()
            if client.cancel_on_disconnect:
                count = self.exchange.cancel_all("cancel_on_disconnect")
                log.info("deribit_standin_cancel_on_disconnect cancelled=%d", count)
            await ws.close()

    # -- requests ----------------------------------------------------------------------

    async def _frame(self, client: _Client, raw: str | bytes) -> bool:
        """Handle one frame; False to close the connection."""
        us_in = time.time_ns() // 1000
        try:
            body = loads(raw)
            if not isinstance(body, dict) or "method" not in body or "id" not in body:
                raise ProtocolError("a request needs jsonrpc, id and method")
            request = Request.model_validate(body)
        except (ProtocolError, ValueError) as exc:
            await self._send_error(
                client, None, us_in, Failure(DeribitErrorCode.bad_request, str(exc))
            )
            return True
        method = request.method
        if self.faults.too_many_requests > 0 or not self.limiter.allow(method, time.monotonic()):
            self.faults.too_many_requests = max(0, self.faults.too_many_requests - 1)
            failure = Failure(DeribitErrorCode.too_many_requests, "credits exhausted")
            await self._send_error(client, request.id, us_in, failure)
            return False  # Deribit closes the session
        if method in ("private/buy", "private/sell") and self.faults.drop_before_order > 0:
            self.faults.drop_before_order -= 1
            log.warning("deribit_standin_fault drop_before_order id=%s", request.id)
            return False
        try:
            result = self._dispatch(client, request)
        except Failure as failure:
            await self._send_error(client, request.id, us_in, failure)
            return True
        if method in ("private/buy", "private/sell") and self.faults.drop_after_order > 0:
            self.faults.drop_after_order -= 1
            log.warning("deribit_standin_fault drop_after_order id=%s", request.id)
            return False
        if self.faults.no_reply > 0 and method != "standin/set_faults":
            self.faults.no_reply -= 1
            log.warning("deribit_standin_fault no_reply id=%s method=%s", request.id, method)
            return True
        await self._send(client, {"jsonrpc": "2.0", "id": request.id, "result": result}, us_in)
        return True

    def _dispatch(self, client: _Client, request: Request) -> Any:
        method, params = request.method, dict(request.params)
        token = params.pop("access_token", None) or client.token
        now = time.monotonic()
        if self.faults.expire_tokens:
            self.faults.expire_tokens = False
            self.sessions.expire_all(now)
        try:
            if method == "standin/set_faults":
                return self._set_faults(client, params)
            if method not in PUBLIC:
                self.sessions.check(token, now)
            return self._call(client, method, params, now)
        except AuthError as exc:
            raise Failure(exc.code, exc.reason) from None
        except OrderReject as exc:
            raise Failure(exc.code, exc.reason, exc.param) from None
        except ValidationError as exc:
            err = exc.errors()[0]
            param = ".".join(str(p) for p in err["loc"]) or "params"
            raise Failure(DeribitErrorCode.invalid_params, err["msg"], param) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise Failure(DeribitErrorCode.invalid_params, f"bad or missing param: {exc}") from None

    def _call(self, client: _Client, method: str, params: dict[str, Any], now: float) -> Any:
        exchange = self.exchange
        if method == "public/auth":
            grant = params.get("grant_type")
            if grant == "client_credentials":
                result = self.sessions.client_credentials(
                    params.get("client_id"), params.get("client_secret"), now
                )
            elif grant == "refresh_token":
                result = self.sessions.refresh(params.get("refresh_token"), now)
            else:
                raise Failure(DeribitErrorCode.invalid_params, "unsupported grant", "grant_type")
            client.token = str(result["access_token"])
            return result
        if method == "public/test":
            client.answered_test = True
            return {"version": VERSION}
        if method == "public/set_heartbeat":
            interval = float(params["interval"])
            if interval < self.config.min_heartbeat_s:
                raise Failure(
                    DeribitErrorCode.invalid_params,
                    f"must be at least {self.config.min_heartbeat_s:g}",
                    "interval",
                )
            if client.heartbeat is not None:
                client.heartbeat.cancel()
            client.heartbeat = asyncio.get_running_loop().create_task(
                self._heartbeat(client, interval)
            )
            return "ok"
        if method in ("public/subscribe", "private/subscribe"):
            return self._subscribe(client, list(params["channels"]), method)
        if method in ("private/buy", "private/sell"):
            direction = Direction.buy if method == "private/buy" else Direction.sell
            order, trades = exchange.place(direction, OrderParams.model_validate(params))
            return {"order": order.wire(), "trades": [t.wire() for t in trades]}
        if method == "private/cancel":
            return exchange.cancel(str(params["order_id"])).wire()
        if method == "private/cancel_all":
            return exchange.cancel_all("user_request")
        if method == "private/get_order_state":
            return exchange.order(str(params["order_id"])).wire()
        if method == "private/get_order_state_by_label":
            found = exchange.by_label(str(params["currency"]), str(params["label"]))
            return [o.wire() for o in found]
        if method == "private/get_open_orders_by_instrument":
            return [o.wire() for o in exchange.open_orders(str(params["instrument_name"]))]
        if method == "private/get_user_trades_by_instrument":
            return exchange.user_trades(
                str(params["instrument_name"]),
                None if params.get("start_seq") is None else int(params["start_seq"]),
                None if params.get("end_seq") is None else int(params["end_seq"]),
                int(params.get("count", 10)),
                str(params.get("sorting", "default")),
            )
        if method == "private/get_positions":
            return exchange.positions_of(str(params["currency"]))
        if method == "private/enable_cancel_on_disconnect":
            client.cancel_on_disconnect = True
            return "ok"
        if method == "private/disable_cancel_on_disconnect":
            client.cancel_on_disconnect = False
            return "ok"
        raise Failure(DeribitErrorCode.method_not_found, f"{method} is not served")

    def _subscribe(self, client: _Client, channels: list[str], method: str) -> list[str]:
        known = set(self.exchange.listings)
        done = []
        for channel in channels:
            parts = channel.split(".")
            private = parts[0] == "user"
            if len(parts) < 3 or parts[-2 if private else 1] not in known:
                continue  # Deribit leaves a channel it does not know out of the reply
            if private and method == "public/subscribe":
                continue
            if channel == book_channel(parts[1]):
                self.publish_market(parts[1])  # the book published up to now, then snapshot it
            client.channels.add(channel)
            done.append(channel)
            if channel == ticker_channel(parts[1]):
                self._send_later(client, channel, self._ticker(parts[1]))
            elif channel == book_channel(parts[1]):
                name = parts[1]
                data = book.snapshot(name, self._book_touch[name], self._change_id[name], _ms())
                self._send_later(client, channel, data)
        return done

    def _set_faults(self, client: _Client, params: dict[str, Any]) -> dict[str, Any]:
        host = (client.ws.remote_address or ("?",))[0]
        if host not in ("127.0.0.1", "::1"):
            raise Failure(DeribitErrorCode.method_not_found, "standin/set_faults is local only")
        self.faults = Faults.model_validate(self.faults.model_dump() | params)
        log.warning("deribit_standin_faults_set %s", self.faults.model_dump())
        return self.faults.model_dump()

    # -- pushes ------------------------------------------------------------------------

    def _ticker(self, name: str) -> dict[str, Any]:
        touch = self.exchange.touches[name]
        return {
            "instrument_name": name,
            # the time of this ticker: the venue's own ticker carries mark and index prices
            # that move all the time, so it is published each interval, touch changed or not
            "timestamp": _ms(),
            "best_bid_price": touch.bid,
            "best_bid_amount": touch.bid_amount,
            "best_ask_price": touch.ask,
            "best_ask_amount": touch.ask_amount,
            "mark_price": touch.mid,
            "index_price": touch.mid,
            "state": "open",
        }

    def publish_market(self, name: str) -> None:
        """Push the ticker, and the book's change since it was last published if the touch
        changed (:meth:`publish_every` calls this each ``book_interval_s``: the 100ms
        channels; Deribit's ticker moves with its mark price, its book only with orders)."""
        touch = self.exchange.touches[name]
        update = book.change(
            name, self._book_touch.get(name, Touch()), touch, self._change_id[name], _ms()
        )
        self._book_touch[name] = touch
        if update is not None:
            self._change_id[name] = update["change_id"]
        ticker = ticker_channel(name)
        data = self._ticker(name) if touch.mid is not None else None
        channel = book_channel(name)
        for client in list(self.clients):
            if update is not None and channel in client.channels:
                self._send_later(client, channel, update)
            if data is not None and ticker in client.channels:
                self._send_later(client, ticker, data)

    async def publish_every(self, interval: float) -> None:
        """Run until cancelled: publish every instrument's market each ``interval``."""
        while True:
            for name in self.exchange.listings:
                self.publish_market(name)
            await asyncio.sleep(interval)

    def notify(self, channel: str, data: Any) -> None:
        """A user.* notification for its subscribers, with the duplicate/reorder faults."""
        for client in list(self.clients):
            if channel not in client.channels:
                continue
            text = dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "subscription",
                    "params": {"channel": channel, "data": data},
                }
            )
            if self.faults.reorder_notifications > 0 and self._held is None:
                self.faults.reorder_notifications -= 1
                self._held = (client, text)  # goes out after the next one
                continue
            self._push(client, text)
            if self.faults.duplicate_notifications > 0:
                self.faults.duplicate_notifications -= 1
                self._push(client, text)
            if self._held is not None and self._held[0] is client:
                self._push(client, self._held[1])
                self._held = None

    def _send_later(self, client: _Client, channel: str, data: Any) -> None:
        text = dumps(
            {
                "jsonrpc": "2.0",
                "method": "subscription",
                "params": {"channel": channel, "data": data},
            }
        )
        self._push(client, text)

    def _push(self, client: _Client, text: str) -> None:
        async def send() -> None:
            with contextlib.suppress(ConnectionClosed):
                await client.ws.send(text)

        asyncio.get_running_loop().create_task(send())

    async def _heartbeat(self, client: _Client, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if not client.answered_test:
                log.warning("deribit_standin_heartbeat_missed: closing the connection")
                await client.ws.close(code=1000, reason="heartbeat: no public/test in time")
                return
            client.answered_test = False
            frame = {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
            with contextlib.suppress(ConnectionClosed):
                await client.ws.send(dumps(frame))

    async def _send(self, client: _Client, body: dict[str, Any], us_in: int) -> None:
        us_out = time.time_ns() // 1000
        body |= {"usIn": us_in, "usOut": us_out, "usDiff": us_out - us_in}
        with contextlib.suppress(ConnectionClosed):
            await client.ws.send(dumps(body))

    async def _send_error(
        self, client: _Client, request_id: Any, us_in: int, failure: Failure
    ) -> None:
        error: dict[str, Any] = {"code": int(failure.code), "message": failure.code.name}
        data = {"reason": failure.reason}
        if failure.param is not None:
            data["param"] = failure.param
        error["data"] = data
        await self._send(client, {"jsonrpc": "2.0", "id": request_id, "error": error}, us_in)
