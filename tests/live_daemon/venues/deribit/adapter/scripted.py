"""A scripted Deribit venue for the adapter's tests: a websockets server on 127.0.0.1 that
answers with fixture-shaped messages (Deribit's field names) and records what it got."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

Handler = Callable[["ScriptedVenue", ServerConnection, dict[str, Any]], Awaitable[bool]]


def order(label: str, state: str = "open", oid: str = "BTC-1", filled: int = 0) -> dict[str, Any]:
    return {
        "order_id": oid,
        "instrument_name": "BTC-PERPETUAL",
        "order_state": state,
        "direction": "buy",
        "order_type": "limit",
        "amount": 100,
        "filled_amount": filled,
        "price": 50000.5,
        "label": label,
        "time_in_force": "good_til_cancelled",
        "creation_timestamp": 1704153600000,
        "last_update_timestamp": 1704153600000,
    }


def trade(label: str, trade_id: str, oid: str = "BTC-1", amount: int = 50) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "order_id": oid,
        "instrument_name": "BTC-PERPETUAL",
        "direction": "buy",
        "price": 50000.5,
        "amount": amount,
        "fee": 0.00000050,
        "fee_currency": "BTC",
        "liquidity": "T",
        "timestamp": 1704153600001,
        "trade_seq": 7,
        "state": "filled",
        "label": label,
    }


class ScriptedVenue:
    """Answers auth, set_heartbeat, subscribe, test; ``handlers`` may take over any
    request (return True when handled). ``requests`` holds every request received."""

    def __init__(self, expires_in: int = 900) -> None:
        self.requests: list[dict[str, Any]] = []
        self.handlers: list[Handler] = []
        self.expires_in = expires_in
        self.connections: list[ServerConnection] = []
        self.orders: dict[str, dict[str, Any]] = {}  # by label
        self._server: Server | None = None
        self.port = 0

    def methods(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == name]

    async def __aenter__(self) -> ScriptedVenue:
        self._server = await serve(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/api/v2"

    @staticmethod
    async def reply(ws: ServerConnection, rid: Any, result: Any) -> None:
        await ws.send(
            json.dumps(
                {"jsonrpc": "2.0", "id": rid, "result": result, "usIn": 1, "usOut": 2, "usDiff": 1}
            )
        )

    @staticmethod
    async def error(ws: ServerConnection, rid: Any, code: int, message: str) -> None:
        await ws.send(
            json.dumps({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}})
        )

    @staticmethod
    async def notify(ws: ServerConnection, channel: str, data: Any) -> None:
        await ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "subscription",
                    "params": {"channel": channel, "data": data},
                }
            )
        )

    async def _serve(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        async for raw in ws:
            req = json.loads(raw)
            self.requests.append(req)
            handled = False
            for handler in self.handlers:
                if await handler(self, ws, req):
                    handled = True
                    break
            if not handled:
                await self._default(ws, req)

    async def _default(self, ws: ServerConnection, req: dict[str, Any]) -> None:
        method, rid, params = req["method"], req["id"], req.get("params", {})
        if method == "public/auth":
            n = len(self.methods("public/auth"))
            await self.reply(
                ws,
                rid,
                {
                    "access_token": f"a{n}",
                    "expires_in": self.expires_in,
                    "refresh_token": f"r{n}",
                    "scope": "connection",
                    "token_type": "bearer",
                },
            )
        elif method in ("public/set_heartbeat",):
            await self.reply(ws, rid, "ok")
        elif method in ("private/subscribe", "private/unsubscribe"):
            await self.reply(ws, rid, params["channels"])
        elif method == "public/test":
            await self.reply(ws, rid, {"version": "1.2.26"})
        elif method in ("private/buy", "private/sell"):
            label = params["label"]
            o = order(label, oid=f"BTC-{len(self.orders) + 1}")
            self.orders[label] = o
            await self.reply(ws, rid, {"order": o, "trades": []})
        elif method == "private/get_order_state_by_label":
            found = self.orders.get(params["label"])
            await self.reply(ws, rid, [found] if found else [])
        elif method == "private/get_user_trades_by_instrument":
            await self.reply(ws, rid, {"trades": [], "has_more": False})
        elif method == "private/get_user_trades_by_order":
            await self.reply(ws, rid, [])
        elif method == "private/cancel":
            o = next(o for o in self.orders.values() if o["order_id"] == params["order_id"])
            o["order_state"] = "cancelled"
            await self.reply(ws, rid, o)
        else:
            await self.error(ws, rid, -32601, "method_not_found")


async def wait_until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait until ``check()``; fail naming ``what`` after ``timeout`` seconds."""

    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"gave up after {timeout} s waiting for {what}") from None
