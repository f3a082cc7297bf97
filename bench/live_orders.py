"""Benchmark: orders over HTTP into the live daemon (paper venues, embedded PostgreSQL).

    .venv/bin/python bench/live_orders.py                 # paced 200/s, then unpaced
    .venv/bin/python bench/live_orders.py --paced 2000 --unpaced 5000 --concurrency 64

Starts PostgreSQL (pgserver, synchronous_commit on) and the daemon (``exec-live``) on a free
loopback port, submits NORMAL market orders on ANY venue (small, alternating sides) and
measures submit→ack at the client: once paced at ``--rate`` orders/s (latency), once as
fast as ``--concurrency`` connections allow (throughput). Then it counts the rows in
PostgreSQL. The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BENCH = REPO / "runtime" / "bench" / "live"
TOKEN = "bench-token-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_ticks() -> Path:
    """A small demo day for the paper venues' replay (generated once)."""
    import datetime as dt

    from execution_core.demo.config import DemoConfig
    from execution_core.demo.publish import publish_demo_day
    from execution_core.instruments.reference import load_reference
    from execution_core.stores import LocalObjectStore

    ticks = BENCH / "ticks"
    if not (BENCH / "ticks.done").exists():
        config = DemoConfig(date=dt.date(2025, 1, 15), ticks_scale=0.05)
        publish_demo_day(
            config, LocalObjectStore(ticks), LocalObjectStore(BENCH / "signals"), load_reference()
        )
        (BENCH / "ticks.done").write_text("ok")
    return ticks


def order(i: int, run: str) -> dict:
    return {
        "operation_id": f"{run}-{i}",
        "instrument_key": "ANY:PERPETUAL:BTC-USDT@LIN",
        "side": "BUY" if i % 2 == 0 else "SELL",
        "quantity": "0.001",
        "price": None,
        "order_type": "MARKET",
        "strategy_id": f"bench-{i % 50}",
        "exec_algorithm": "NORMAL",
        "exec_algorithm_params": {},
    }


async def submit_all(
    url: str, n: int, run: str, concurrency: int, rate: float | None
) -> tuple[list[float], int]:
    latencies: list[float] = []
    acked = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    start = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        base_url=url, limits=limits, headers=headers, timeout=30
    ) as client:

        async def worker() -> None:
            nonlocal acked
            while not queue.empty():
                i = queue.get_nowait()
                if rate:  # paced: order i leaves at start + i / rate
                    delay = start + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                sent = time.perf_counter()
                response = await client.post("/api/orders", json=order(i, run))
                latencies.append((time.perf_counter() - sent) * 1000)
                if response.status_code in (200, 201):
                    acked += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, acked


async def count_rows(database_url: str) -> int:
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM unified_orders"))
    finally:
        await connection.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--paced", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--unpaced", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    import pgserver

    ticks = ensure_ticks()
    shutil.rmtree(BENCH / "pg", ignore_errors=True)
    server = pgserver.get_server(str(BENCH / "pg"), cleanup_mode="stop")
    database_url = server.get_uri()
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "EXEC_DAEMON_PORT": str(port),
        "EXEC_DAEMON_TOKEN": TOKEN,
        "EXEC_TICKS_STORE_URL": ticks.as_uri(),
        "EXEC_DAEMON_LOG_LEVEL": os.environ.get("BENCH_DAEMON_LOG_LEVEL", "WARNING"),
        "EXEC_DAEMON_RISK": json.dumps(
            {"max_orders_per_second": 1_000_000, "max_orders_per_minute": 10_000_000}
        ),
    }
    daemon = subprocess.Popen([str(REPO / ".venv" / "bin" / "exec-live")], env=env, cwd=BENCH)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or daemon.poll() is not None:
                raise SystemExit("the daemon did not start")
            time.sleep(0.2)
        paced, paced_acked = asyncio.run(submit_all(url, args.paced, "paced", 16, args.rate))
        started = time.perf_counter()
        _, unpaced_acked = asyncio.run(
            submit_all(url, args.unpaced, "unpaced", args.concurrency, None)
        )
        unpaced_s = time.perf_counter() - started
        persisted = asyncio.run(count_rows(database_url))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        server.cleanup()
    result = {
        "orders": args.paced + args.unpaced,
        "acked": paced_acked + unpaced_acked,
        "persisted": persisted,
        "p50_ms": round(percentile(paced, 0.50), 3),
        "p99_ms": round(percentile(paced, 0.99), 3),
        "paced_rate": args.rate,
        "orders_per_s": round(args.unpaced / unpaced_s, 1),
        "concurrency": args.concurrency,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
