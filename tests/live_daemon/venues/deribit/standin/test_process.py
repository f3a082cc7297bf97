"""The stand-in as a real process started with ``exec-venue deribit start``: an order
submitted, the process killed with SIGKILL and started again, and the order found by its
label with its trade; and the replay's pure parts."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import signal
import subprocess
import time
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from websockets.asyncio.client import connect

from execution_core.stores.local import LocalObjectStore
from execution_core.ticks.writer import write_tick_day
from live_daemon.venues.deribit import messages as m
from live_daemon.venues.deribit import protocol as p
from live_daemon.venues.deribit.standin.replay import due_index, whole_contracts
from live_daemon.venues.state_dir import VenueDir
from tests.live_daemon.daemon_process import EXEC_VENUE, free_port

DAY = dt.date(2024, 3, 1)
KEYS = ("DERIBIT:PERPETUAL:BTC-USD@INV", "DERIBIT:PERPETUAL:ETH-USD@INV")
WAIT = 60.0


def write_quotes(root: Path) -> str:
    """One quote a minute all day: BTC 50000/50000.5, ETH 3000/3000.05, 1000 USD each."""
    store = LocalObjectStore(root)
    ts = [dt.datetime(2024, 3, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i) for i in range(1440)]
    for key, bid, ask in ((KEYS[0], 50000.0, 50000.5), (KEYS[1], 3000.0, 3000.05)):
        frame = pl.DataFrame(
            {
                "ts_event": ts,
                "bid_price": bid,
                "bid_size": 1000.0,
                "ask_price": ask,
                "ask_size": 1000.0,
            }
        ).with_columns(pl.col("ts_event").cast(pl.Datetime("ns", "UTC")))
        write_tick_day(store, key, "quotes", DAY, frame)
    return f"file://{root}"


def test_sizes_become_whole_contracts_and_rows_come_due_in_order() -> None:
    assert whole_contracts(57.0, D(10)) == D(50)  # USD, the venue's units
    assert whole_contracts(3.0, D(10)) == D(10)  # at least one contract
    offsets = np.array([0, 10, 20])
    assert [due_index(offsets, n) for n in (0, 9, 10, 25)] == [0, 0, 1, 2]
    assert due_index(np.array([5]), 1) == -1


async def session(port: int, secret: str) -> tuple[Any, Any]:
    ws = await connect(f"ws://127.0.0.1:{port}/ws/api/v2")
    ids = itertools.count(1)

    async def call(method: str, **params: Any) -> Any:
        request_id = next(ids)
        await ws.send(p.dumps(p.request(request_id, method, params)))
        while True:
            frame = p.parse_frame(await asyncio.wait_for(ws.recv(), WAIT))
            if isinstance(frame, p.ErrorResponse) and frame.id == request_id:
                raise frame.exception()
            if isinstance(frame, p.Response) and frame.id == request_id:
                return frame.result

    await call(
        "public/auth", grant_type="client_credentials", client_id="paper", client_secret=secret
    )
    return ws, call


def start(state_dir: Path, store: str, port: int) -> int:
    result = subprocess.run(
        [
            str(EXEC_VENUE), "deribit", "start", "--dir", str(state_dir), "--port", str(port),
            "--ticks-store-url", store, "--day", DAY.isoformat(), "--speed", "60",
        ],
        capture_output=True, text=True, timeout=WAIT + 30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return int(json.loads(result.stdout)["pid"])


def test_killed_and_restarted_process_still_knows_the_order_by_label(tmp_path: Path) -> None:
    store = write_quotes(tmp_path / "ticks")
    state_dir = tmp_path / "deribit"
    port = free_port()
    pid = start(state_dir, store, port)
    try:
        secret = (state_dir / "client_secret").read_text().strip()

        async def before() -> dict[str, Any]:
            ws, call = await session(port, secret)
            result = await call(
                "private/buy",
                instrument_name="BTC-PERPETUAL",
                amount=30,
                type="market",
                label="ord-1",
            )
            await ws.close()
            return dict(result)

        placed = m.OrderResult.model_validate(asyncio.run(before()))
        assert placed.trades and placed.trades[0].price == D("50000.5")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + WAIT
        while VenueDir(state_dir).is_locked():  # the kernel frees the lock when it dies
            assert time.monotonic() < deadline, "the killed stand-in still holds its lock"
            time.sleep(0.05)
        pid = start(state_dir, store, port)

        async def after() -> tuple[Any, Any, Any]:
            ws, call = await session(port, secret)
            found = await call("private/get_order_state_by_label", currency="BTC", label="ord-1")
            trades = await call(
                "private/get_user_trades_by_instrument",
                instrument_name="BTC-PERPETUAL",
                start_seq=1,
            )
            positions = await call("private/get_positions", currency="BTC")
            await call("public/subscribe", channels=["ticker.ETH-PERPETUAL.100ms"])
            while True:  # the replayed touch, as the ticker shows it on subscribing
                frame = p.parse_frame(await asyncio.wait_for(ws.recv(), WAIT))
                if isinstance(frame, p.Notification):
                    ticker = m.Ticker.model_validate(frame.params.data)
                    break
            assert (ticker.best_bid_price, ticker.best_ask_price) == (D(3000), D("3000.05"))
            assert ticker.best_ask_amount == D(1000)  # USD as stored, whole 1 USD contracts
            await ws.close()
            return found, trades, positions

        found, trades, positions = asyncio.run(after())
        (order,) = [m.Order.model_validate(o) for o in found]
        assert order.order_id == placed.order.order_id and order.order_state is m.OrderState.filled
        got = m.UserTrades.model_validate(trades)
        assert [t.trade_id for t in got.trades] == [placed.trades[0].trade_id]
        assert [m.Position.model_validate(x).size for x in positions] == [D(30)]
    finally:
        subprocess.run(
            [str(EXEC_VENUE), "deribit", "stop", "--dir", str(state_dir)],
            timeout=WAIT + 30,
            check=False,
        )
        assert VenueDir(state_dir).running_pid() is None
