"""The real daemon (``exec-live``) trading on the local Deribit venue (``exec-venue
deribit``), for end-to-end fault tests: :class:`DeribitDaemon`, the venue's faults at run
time (:func:`set_faults`, the ``standin/set_faults`` JSON-RPC method over its WebSocket),
and its own record read beside it (:func:`venue_orders`, :func:`venue_positions`).

Units: the API and the OMS's orders and fills speak base units (BTC); Deribit's orders,
trades and positions, and the OMS's position rows of an inverse instrument, speak USD
(contracts of 10 USD for BTC-PERPETUAL).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import connect

from tests.live_daemon.daemon_process import (
    EXEC_VENUE,
    Daemon,
    free_port,
)

KEY = "DERIBIT:PERPETUAL:BTC-USD@INV"
NAME = "BTC-PERPETUAL"
FINAL = ("FILLED", "CANCELED", "REJECTED")
# the NautilusTrader paper venue always runs beside: one instrument starts it soonest
NAUTILUS_INSTRUMENTS = '["BYBIT:PERPETUAL:BTC-USDT@LIN"]'


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, OSError, asyncpg.PostgresError, sqlite3.Error) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.2)
    raise AssertionError(f"gave up after {timeout}s waiting for {what}; last seen: {last!r}")


class DeribitDaemon(Daemon):
    """``exec-live`` with Deribit on (``DERIBIT:PERPETUAL:BTC-USD@INV``) on a local Deribit
    venue of its own: a free port, its record in ``workdir/deribit``. The daemon starts the
    venue; it outlives the daemon: :meth:`stop_deribit` in teardown."""

    def __init__(self, database_url: str, ticks: Path, workdir: Path, **env: str) -> None:
        self.deribit_port = free_port()
        self.deribit_dir = (workdir / "deribit").absolute()
        self.ticks = ticks
        self.log_path = workdir / "daemon.log"  # what it logs is part of what tests check
        super().__init__(
            database_url,
            ticks,
            workdir,
            EXEC_DAEMON_INSTRUMENTS=NAUTILUS_INSTRUMENTS,
            EXEC_DAEMON_DERIBIT__INSTRUMENTS=json.dumps([KEY]),
            EXEC_DAEMON_DERIBIT__PORT=str(self.deribit_port),
            EXEC_DAEMON_DERIBIT__STATE_DIR=str(self.deribit_dir),
            **env,
        )

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.deribit_port}/ws/api/v2"

    def deribit_pid(self) -> int | None:
        from live_daemon.venues.state_dir import VenueDir

        return VenueDir(self.deribit_dir).running_pid()

    def kill_deribit(self) -> int:
        """SIGKILL the local Deribit venue (its pid from ``<dir>/venue.pid``); its pid once
        it is gone."""
        import psutil

        pid = self.deribit_pid()
        assert pid is not None, f"no Deribit venue runs on {self.deribit_dir}"
        process = psutil.Process(pid)
        process.send_signal(signal.SIGKILL)

        def gone() -> bool:  # the daemon launched it: dead, it is a zombie until reaped
            try:
                return process.status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return True

        wait_for(f"the Deribit venue (pid {pid}) to die of its SIGKILL", gone, timeout=30)
        return pid

    def start_deribit(self) -> None:
        """``exec-venue deribit start`` on the same port, directory, tick store and day (as
        an operator would restart it), waiting until it listens."""
        result = subprocess.run(
            [str(EXEC_VENUE), "deribit", "start", "--port", str(self.deribit_port), "--dir",
             str(self.deribit_dir), "--ticks-store-url", self.ticks.as_uri(), "--day", "2025-01-15",
             "--speed", self.env["EXEC_DAEMON_REPLAY_SPEED"], "--instruments", KEY,
             "--timeout", "120"],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert result.returncode == 0, f"exec-venue deribit start: {result.stderr}"

    def stop_deribit(self) -> None:
        result = subprocess.run(
            [str(EXEC_VENUE), "deribit", "stop", "--dir", str(self.deribit_dir)],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert result.returncode == 0, f"exec-venue deribit stop: {result.stderr}"
        assert self.deribit_pid() is None, f"a Deribit venue still runs on {self.deribit_dir}"

    def health(self) -> dict[str, Any]:
        return httpx.get(self.url + "/api/health", timeout=5).json()

    def deribit_health(self) -> dict[str, Any]:
        return dict(self.health()["venues"]["DERIBIT"])


# -- the venue's faults ----------------------------------------------------------------------


async def _rpc(ws_url: str, method: str, params: dict[str, Any]) -> Any:
    async with connect(ws_url, open_timeout=10) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
        while True:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if reply.get("id") == 1:
                break
    if "error" in reply:
        raise AssertionError(f"{method} {params}: {reply['error']}")
    return reply["result"]


def set_faults(ws_url: str, **faults: int | bool) -> dict[str, Any]:
    """Set the venue's faults (``Faults`` of the stand-in's config); what it now has."""
    return dict(asyncio.run(_rpc(ws_url, "standin/set_faults", faults)))


NO_FAULTS: dict[str, int | bool] = {
    "drop_before_order": 0,
    "drop_after_order": 0,
    "no_reply": 0,
    "too_many_requests": 0,
    "duplicate_notifications": 0,
    "reorder_notifications": 0,
    "expire_tokens": False,
}


# -- the venue's own record ------------------------------------------------------------------


@dataclass(frozen=True)
class VenueOrderRow:
    order_id: str  # Deribit's
    label: str  # ours
    state: str
    direction: str
    amount: Decimal  # USD
    filled_amount: Decimal


def _read(record: Path, sql: str) -> list[tuple[Any, ...]]:
    if not record.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{record}?mode=ro", uri=True)) as db:
        db.execute("PRAGMA busy_timeout=5000")
        return db.execute(sql).fetchall()


def venue_orders(deribit_dir: Path) -> list[VenueOrderRow]:
    """Every order in the venue's record (``<dir>/record.sqlite``), latest state."""
    rows = []
    for order_id, label, body in _read(
        deribit_dir / "record.sqlite", "SELECT order_id, label, body FROM orders ORDER BY rowid"
    ):
        wire = json.loads(body)
        rows.append(
            VenueOrderRow(
                order_id,
                label,
                wire["order_state"],
                wire["direction"],
                Decimal(str(wire["amount"])),
                Decimal(str(wire["filled_amount"])),
            )
        )
    return rows


def venue_trades(deribit_dir: Path) -> list[dict[str, Any]]:
    return [
        json.loads(body)
        for (body,) in _read(deribit_dir / "record.sqlite", "SELECT body FROM trades ORDER BY seq")
    ]


def venue_positions(deribit_dir: Path) -> dict[str, Decimal]:
    """Signed position per Deribit instrument name, USD, summed from the record's trades
    (what the venue computes its positions from)."""
    held: dict[str, Decimal] = {}
    for trade in venue_trades(deribit_dir):
        sign = 1 if trade["direction"] == "buy" else -1
        name = trade["instrument_name"]
        held[name] = held.get(name, Decimal(0)) + sign * Decimal(str(trade["amount"]))
    return held


def record_fill_as_the_venue_did(
    deribit_dir: Path, label: str, amount_usd: Decimal, price: Decimal
) -> str:
    """Write into a *stopped* venue's record what it commits for a market BUY that fills
    at once (order and trade, through the venue's own writer) — what a venue that died
    after its commit and before its reply and notifications leaves. Its trade id."""
    from live_daemon.venues.deribit.messages import Direction, Liquidity, OrderState, OrderType
    from live_daemon.venues.deribit.standin.engine import _counter
    from live_daemon.venues.deribit.standin.matching import FEE_QUANTUM
    from live_daemon.venues.deribit.standin.model import StandinOrder, StandinTrade
    from live_daemon.venues.deribit.standin.record import StandinRecord

    record = StandinRecord(deribit_dir / "record.sqlite")
    try:
        loaded = record.load()
        now = time.time_ns() // 1_000_000
        order = StandinOrder(
            order_id=f"BTC-{_counter(list(loaded.orders)) + 1}",
            instrument_name=NAME,
            direction=Direction.buy,
            order_type=OrderType.market,
            amount=amount_usd,
            price=None,
            label=label,
            time_in_force="good_til_cancelled",
            post_only=False,
            reduce_only=False,
            creation_timestamp=now,
            last_update_timestamp=now,
            order_state=OrderState.filled,
            filled_amount=amount_usd,
            average_price=price,
        )
        trade = StandinTrade(
            trade_id=f"BTC-T{_counter([t.trade_id for t in loaded.trades]) + 1}",
            trade_seq=max((t.trade_seq for t in loaded.trades), default=0) + 1,
            order_id=order.order_id,
            instrument_name=NAME,
            direction=Direction.buy,
            price=price,
            amount=amount_usd,
            fee=(Decimal("0.0005") * amount_usd / price).quantize(FEE_QUANTUM),
            fee_currency="BTC",
            liquidity=Liquidity.taker,
            timestamp=now,
            order_type=OrderType.market,
            label=label,
            state=OrderState.filled,
        )
        record.write([order], [trade])
        return trade.trade_id
    finally:
        record.close()
