"""Benchmark: orders over HTTP into the live daemon, routed to the local Deribit venue.

    .venv/bin/python bench/deribit_orders.py                    # ~3.5 minutes
    .venv/bin/python bench/deribit_orders.py --orders 400 --rate 20 --throughput-orders 5000

Everything runs on loopback with free ports in a temporary directory: PostgreSQL (pgserver,
one database per phase), the paper NautilusTrader venue (one instrument; the daemon starts
it), the local Deribit venue (``exec-venue deribit start``, started here first with the
rate limits of the phase, so the daemon finds it running) and ``exec-live`` with
``EXEC_DAEMON_DERIBIT__*`` on ``DERIBIT:PERPETUAL:BTC-USD@INV``. Orders are LIMIT orders of
0.001 BTC (40 USD at Deribit: the daemon rounds down to 10-USD contracts), alternating BUY
3 % under and SELL 3 % over the venue's mark price, so they rest and nothing fills; the
daemon's risk rate limits are raised (``EXEC_DAEMON_RISK``), its other limits are the
defaults. They are sent by a lean keep-alive HTTP/1.1 client (``http_load.py``'s
connection; httpx costs ~1 ms of CPU per request on this machine).

What is measured, per order: **submit → venue acknowledgement** = from the moment the
client writes ``POST /api/orders`` (wall clock) to the ``ts`` of the order's first
``acknowledged`` row in ``order_events`` (PostgreSQL's ``clock_timestamp()`` when the
daemon recorded Deribit's answer; same machine, same clock). That is REST, risk, routing,
the OMS commit, the adapter (its client-side credit buckets included), the WebSocket round
trip to the venue (which records the order in its SQLite record before answering), and
the OMS commit of the acknowledgement. The daemon's own ``exec_submit_ack_latency_seconds``
histogram stops when the order is handed to the venue, before Deribit answers, so it is
not used. ``http_p99_ms`` is the HTTP answer alone; ``server_p99_ms`` is the OMS's
``submitted`` row → its ``acknowledged`` row (no client, no HTTP). Percentiles are over the
orders that were acknowledged.

Counts, per run: ``acked`` = the run's orders in the venue's own record
(``<dir>/record.sqlite``, by label = our order id); ``persisted`` = those of them whose
acknowledgement is in the OMS; ``duplicates_at_venue`` = venue orders sharing a label
beyond the first; ``not_acked`` = the other orders, with the OMS's reasons.

Phases:

1. **Deribit's default rate limits** at the venue and in the adapter (matching engine: 5
   requests/s, burst 20; others 20/s, burst 100). ``--orders`` paced at ``--rate`` (the
   top-level figures; at 20/s the orders wait for matching-engine credits: 5/s is all the
   defaults allow), then ``within_limits``: ``--within-orders`` at ``--within-rate`` (under
   5/s: the latency without waiting for credits), then ``with_disconnects``:
   ``--disconnect-orders`` at ``--rate`` with ``--disconnects`` forced session closes due
   evenly over the run (``standin/set_faults`` on the venue, from 127.0.0.1:
   ``drop_after_order``, the order stored and the session closed without a reply,
   alternating with ``too_many_requests``, the next request answered 10028 and the session
   closed; each set once the previous one has closed the adapter's session, which then
   reconnects by itself; a ``drop_after_order`` that no order has met within 5 s, e.g.
   while the daemon's circuit for Deribit is open, becomes a ``too_many_requests``;
   ``faults`` says when each closed the session and when a new one was up). Each run
   starts with full credit buckets.
2. **Raised limits**: ``--raised-per-s`` requests/s (and burst) at the venue and in the
   adapter (the daemon's ``EXEC_DAEMON_DERIBIT__MATCHING_ENGINE_LIMIT`` and
   ``…__NON_MATCHING_LIMIT``). ``throughput``:
   ``--throughput-orders`` from ``--concurrency`` connections, each sending its next order
   once the last one is answered; ``orders_per_s`` = orders acknowledged in the OMS /
   (last acknowledgement − first submit): the daemon's whole path. Then ``paced`` and
   ``with_disconnects`` as in phase 1, without credit waits.
3. ``adapter_alone``: ``DeribitAdapter`` in this process against phase 2's venue (no
   daemon): ``--adapter-orders`` submits, ``--concurrency`` at a time; ``orders_per_s`` =
   orders / elapsed, latency = ``submit_order`` call → its return (the venue's answer).

``cpu_steal_pct`` is the hypervisor's share per run (``/proc/stat``); ``loadavg_at_start``
shows what else ran. Progress goes to stderr; the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BIN = REPO / ".venv" / "bin"
CACHE = REPO / "runtime" / "bench" / "deribit"
TOKEN = "bench-token-123"
KEY = "DERIBIT:PERPETUAL:BTC-USD@INV"
NAME = "BTC-PERPETUAL"
PAPER_INSTRUMENTS = ["BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"]  # the paper venue, kept light
BAND = 0.03  # resting orders this far from the mark price (risk tolerance: 5 %)
FAULTS = ("drop_after_order", "too_many_requests")
FALLBACK_AFTER_S = 5.0  # a drop_after_order no order has met by then: too_many_requests
RISK = {"max_orders_per_second": 1_000_000, "max_orders_per_minute": 10_000_000}


def log(message: str) -> None:
    print(f"[deribit_orders {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the processes --------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_ticks() -> Path:
    """The demo day (Deribit included) at scale 0.05, generated once under runtime/bench."""
    import datetime as dt

    from execution_core.demo.config import DemoConfig
    from execution_core.demo.publish import publish_demo_day
    from execution_core.instruments.reference import load_reference
    from execution_core.stores import LocalObjectStore

    ticks = CACHE / "ticks"
    done = CACHE / "ticks.done"
    if not done.exists():
        log("generating the demo day's ticks (once)")
        shutil.rmtree(ticks, ignore_errors=True)
        config = DemoConfig(date=dt.date(2025, 1, 15), ticks_scale=0.05)
        publish_demo_day(
            config, LocalObjectStore(ticks), LocalObjectStore(CACHE / "signals"), load_reference()
        )
        done.write_text("ok")
    return ticks


def run_cli(*args: str, check: bool = True) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=180)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])}: exit {result.returncode}: {result.stderr}")
    return result.stdout


def start_deribit_venue(state_dir: Path, port: int, ticks: Path, per_s: float | None) -> None:
    """``exec-venue deribit start`` with Deribit's default limits, or ``per_s`` requests/s
    (a burst of as many) in both buckets."""
    from live_daemon.venues.deribit.standin.config import Bucket, RateLimits, StandinConfig

    limits = RateLimits()
    if per_s is not None:
        burst = int(per_s)
        limits = RateLimits(
            matching_engine=Bucket(cost=1000, capacity=1000 * burst, refill_per_s=1000 * per_s),
            non_matching_engine=Bucket(cost=500, capacity=500 * burst, refill_per_s=500 * per_s),
        )
    config = StandinConfig(
        port=port,
        state_dir=state_dir,
        ticks_store_url=ticks.as_uri(),
        instruments=[KEY],
        rate_limits=limits,
        log_level="WARNING",
    )
    run_cli(str(BIN / "exec-venue"), "deribit", "start", "--config-json", config.model_dump_json())


def stop_deribit_venue(state_dir: Path) -> None:
    run_cli(str(BIN / "exec-venue"), "deribit", "stop", "--dir", str(state_dir), check=False)


def adapter_limits(per_s: float) -> dict[str, Any]:
    burst = int(per_s)
    return {
        "matching_engine": {
            "max_credits": 1000 * burst,
            "refill_per_s": 1000 * per_s,
            "cost": 1000,
        },
        "non_matching": {"max_credits": 500 * burst, "refill_per_s": 500 * per_s, "cost": 500},
    }


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> dict[str, Any]:
        import httpx

        return httpx.get(self.url + "/api/health", timeout=5).json()

    def deribit(self) -> dict[str, Any]:
        return self.health()["venues"].get("DERIBIT", {})

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_daemon(
    workdir: Path,
    database_url: str,
    ticks: Path,
    paper: tuple[int, Path],
    deribit: tuple[int, Path],
    name: str,
    raised_limits: dict[str, Any] | None = None,
) -> Daemon:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "EXEC_DAEMON_PORT": str(port),
        "EXEC_DAEMON_TOKEN": TOKEN,
        "EXEC_TICKS_STORE_URL": ticks.as_uri(),
        "EXEC_DAEMON_LOG_LEVEL": os.environ.get("BENCH_DAEMON_LOG_LEVEL", "WARNING"),
        "EXEC_DAEMON_INSTRUMENTS": json.dumps(PAPER_INSTRUMENTS),
        "EXEC_DAEMON_VENUE_PORT": str(paper[0]),
        "EXEC_DAEMON_VENUE_DIR": str(paper[1]),
        "EXEC_DAEMON_RISK": json.dumps(RISK),
        "EXEC_DAEMON_DERIBIT__INSTRUMENTS": json.dumps([KEY]),
        "EXEC_DAEMON_DERIBIT__PORT": str(deribit[0]),
        "EXEC_DAEMON_DERIBIT__STATE_DIR": str(deribit[1]),
    }
    for name_ in ("DERIBIT_CLIENT_ID", "DERIBIT_CLIENT_SECRET"):
        env.pop(name_, None)  # paper: the local venue's own secret
    if raised_limits is not None:  # the adapter's credit buckets (settings.deribit)
        env["EXEC_DAEMON_DERIBIT__MATCHING_ENGINE_LIMIT"] = json.dumps(
            raised_limits["matching_engine"]
        )
        env["EXEC_DAEMON_DERIBIT__NON_MATCHING_LIMIT"] = json.dumps(raised_limits["non_matching"])
    command = [str(BIN / "exec-live")]
    log_path = workdir / f"daemon-{name}.log"
    with open(log_path, "ab") as output:
        process = subprocess.Popen(
            command, env=env, cwd=workdir, stdout=output, stderr=subprocess.STDOUT
        )
    daemon = Daemon(process, port, log_path)
    deadline = time.time() + 420  # the daemon waits up to 300 s for its paper venue
    while True:
        try:
            if daemon.deribit().get("connected"):
                return daemon
        except Exception:  # not listening yet
            pass
        if time.time() > deadline or process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            daemon.stop()
            raise SystemExit(f"the daemon ({name}) did not start with Deribit connected:\n{tail}")
        time.sleep(0.2)


def wait_full_credits(daemon: Daemon, timeout: float = 30.0) -> None:
    """Until the adapter's matching-engine bucket is full again (each run starts alike)."""
    from live_daemon.venues.deribit.config import MATCHING_ENGINE_DEFAULT

    full = MATCHING_ENGINE_DEFAULT.client_max_credits
    deadline = time.time() + timeout
    while time.time() < deadline:
        if daemon.deribit().get("matching_engine_credits", 0) >= full:
            return
        time.sleep(0.25)


def mark_price(port: int) -> float:
    """The venue's mark price, from its ticker channel."""
    import websockets

    async def read() -> float:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/api/v2") as ws:
            channel = f"ticker.{NAME}.100ms"
            request = {"method": "public/subscribe", "params": {"channels": [channel]}}
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, **request}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("method") == "subscription":
                    return float(frame["params"]["data"]["mark_price"])

    return asyncio.run(asyncio.wait_for(read(), 30))


async def set_faults(port: int, faults: dict[str, int]) -> dict[str, Any]:
    """Faults at the venue (``standin/set_faults``, from 127.0.0.1), on a connection of its
    own that sends nothing after it."""
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/api/v2") as ws:
        request = {"method": "standin/set_faults", "params": faults}
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, **request}))
        return json.loads(await ws.recv())


# --- the load ---------------------------------------------------------------------------------


def order_body(run: str, i: int, mid: float) -> dict[str, Any]:
    buy = i % 2 == 0
    price = math.floor(mid * (1 - BAND)) if buy else math.ceil(mid * (1 + BAND))
    return {
        "operation_id": f"{run}-{i}",
        "instrument_key": KEY,
        "side": "BUY" if buy else "SELL",
        "quantity": "0.001",
        "order_type": "LIMIT",
        "price": str(price),
        "strategy_id": f"bench-{i % 10}",
        "exec_algorithm": "NORMAL",
        "exec_algorithm_params": {},
    }


@dataclass
class Sent:
    """Per request, by index: when it left (wall clock), its HTTP answer's time and status."""

    operation_ids: list[str]
    sent_wall: list[float] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    status: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0


async def send_orders(
    port: int,
    bodies: list[dict[str, Any]],
    concurrency: int,
    rate: float | None,
    during: Callable[[float], Any] | None = None,
) -> Sent:
    """Request i leaves at start + i / rate (or when a connection is free after that);
    unpaced, each connection sends its next request once the last one is answered.
    ``during(start)``: a coroutine run beside the load (the forced disconnects)."""
    from http_load import _Connection, post_request

    loop = asyncio.get_running_loop()
    raw = [post_request("127.0.0.1", port, "/api/orders", TOKEN, b) for b in bodies]
    n = len(raw)
    sent = Sent([b["operation_id"] for b in bodies], [0.0] * n, [0.0] * n, [0] * n)
    gc.collect()
    gc.freeze()  # the client's collector pauses would count as the daemon's latency

    async def connect() -> _Connection:
        return (await loop.create_connection(_Connection, "127.0.0.1", port))[1]

    connections = [await connect() for _ in range(concurrency)]
    next_index = 0
    start = time.perf_counter()

    async def drive(slot: int) -> None:
        nonlocal next_index
        while next_index < n:
            i = next_index
            next_index += 1
            if rate:
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            if connections[slot].lost:
                connections[slot] = await connect()
            sent.sent_wall[i] = time.time()
            began = time.perf_counter()
            try:
                status = await connections[slot].request(raw[i])
            except ConnectionError:  # idle connection closed by the server: once more
                connections[slot] = await connect()
                status = await connections[slot].request(raw[i])  # idempotent operation_id
            sent.http_ms[i] = (time.perf_counter() - began) * 1000
            sent.status[i] = status

    side = loop.create_task(during(start)) if during is not None else None
    try:
        await asyncio.gather(*(drive(slot) for slot in range(concurrency)))
        if side is not None:
            await side
    finally:
        sent.elapsed_s = time.perf_counter() - start
        for connection in connections:
            connection.close()
        gc.unfreeze()
    return sent


def disconnects(
    port: int, daemon_url: str, count: int, duration_s: float, fired: list[dict[str, Any]]
) -> Any:
    """The forced closes, due evenly over ``duration_s`` (alternating the two faults), each
    set once the previous one has closed the adapter's session (a fault waits at the venue
    for the next request: set twice, it would close one session, or this client's own)."""
    import httpx

    async def deribit(client: httpx.AsyncClient) -> tuple[int, bool]:
        health = (await client.get(daemon_url + "/api/health", timeout=10)).json()
        venue = health["venues"].get("DERIBIT", {})
        return int(venue.get("sessions", 0)), bool(venue.get("connected"))

    async def run(start: float) -> None:
        async with httpx.AsyncClient() as client:
            for k in range(count):
                due = start + duration_s * (k + 0.5) / count
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                sessions, _ = await deribit(client)
                fault = FAULTS[k % len(FAULTS)]
                set_at = time.perf_counter()
                # the venue's credits are the account's: at Deribit's defaults the adapter's
                # reads may have spent them, and this request is then refused (10028)
                attempts, reply = 0, {}
                while "result" not in reply and attempts < 40:
                    if attempts:
                        await asyncio.sleep(0.25)
                    attempts += 1
                    try:
                        reply = await set_faults(port, {fault: 1})
                    except Exception as exc:  # the venue closed this client's connection
                        reply = {"error": repr(exc)}
                closed = back = fallback = None  # s after set: session closed, new one up
                while time.perf_counter() - set_at < 30 and back is None:
                    now_sessions, connected = await deribit(client)
                    after = round(time.perf_counter() - set_at, 2)
                    if closed is None and (not connected or now_sessions > sessions):
                        closed = after
                    if now_sessions > sessions and connected:
                        back = after
                    if closed is None and fallback is None and after > FALLBACK_AFTER_S:
                        # no order reached the venue (the daemon's circuit open, say):
                        # close on the next request of any kind instead
                        fallback = after
                        await set_faults(port, {fault: 0, "too_many_requests": 1})
                    await asyncio.sleep(0.02)
                fired.append(
                    {
                        "fault": fault,
                        "at_s": round(set_at - start, 2),
                        "set": "result" in reply,
                        "set_attempts": attempts,
                        "fallback_to_too_many_requests_after_s": fallback,
                        "closed_after_s": closed,
                        "new_session_after_s": back,
                    }
                )
                log(
                    f"forced disconnect {k + 1}/{count} ({fault}) at {set_at - start:.1f} s: "
                    f"closed after {closed} s, new session after {back} s"
                )

    return run


def chaos_run(
    daemon: Daemon, database_url: str, venue: tuple[int, Path], run: str, args: Any, mid: float
) -> dict[str, Any]:
    """A paced run with ``args.disconnects`` forced session closes spread over it."""
    sessions_before = daemon.deribit().get("sessions", 0)
    fired: list[dict[str, Any]] = []
    n = args.disconnect_orders
    during = disconnects(venue[0], daemon.url, args.disconnects, n / args.rate, fired)
    chaos, _, _ = measured_run(
        daemon, database_url, venue[1], run, n, args.rate, 16, mid, args.drain_timeout, during
    )
    health = daemon.deribit()
    chaos["faults"] = fired
    chaos["sessions_added"] = health.get("sessions", 0) - sessions_before
    chaos["breaker_after"] = health.get("breaker", {}).get("state")
    return chaos


# --- the figures ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3) if ordered else None


async def oms_rows(database_url: str, run: str) -> list[dict[str, Any]]:
    """The run's orders in the OMS with their first ``submitted`` and ``acknowledged`` times."""
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            """
            SELECT o.operation_id, o.order_id, o.status, o.rejection_reason,
                   extract(epoch FROM min(e.ts) FILTER (WHERE e.kind = 'submitted'))::float8
                       AS submitted_at,
                   extract(epoch FROM min(e.ts) FILTER (WHERE e.kind = 'acknowledged'))::float8
                       AS acked_at
            FROM unified_orders o LEFT JOIN order_events e ON e.order_id = o.order_id
            WHERE o.operation_id LIKE $1
            GROUP BY o.order_id
            """,
            run + "-%",
        )
        return [dict(r) for r in rows]
    finally:
        await connection.close()


def unsettled(rows: list[dict[str, Any]]) -> int:
    """Orders neither acknowledged nor final: still on their way (or lost)."""
    final = ("REJECTED", "CANCELED", "FILLED")
    return sum(1 for r in rows if r["acked_at"] is None and r["status"] not in final)


def drain(database_url: str, run: str, n: int, timeout: float) -> tuple[list[dict], float | None]:
    """Wait until each of the run's ``n`` orders is acknowledged or final in the OMS."""
    started = time.perf_counter()
    while True:
        rows = asyncio.run(oms_rows(database_url, run))
        if len(rows) >= n and unsettled(rows) == 0:
            return rows, round(time.perf_counter() - started, 2)
        if time.perf_counter() - started > timeout:
            return rows, None
        time.sleep(0.25)


def venue_labels(state_dir: Path) -> Counter[str]:
    """Label → orders in the venue's own record (``record.sqlite``, read-only)."""
    path = state_dir / "record.sqlite"
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return Counter(
            {
                label: n
                for label, n in db.execute(
                    "SELECT label, count(*) FROM orders WHERE label != '' GROUP BY label"
                )
            }
        )
    finally:
        db.close()


def figures(
    sent: Sent, rows: list[dict[str, Any]], labels: Counter[str], drained_s: float | None
) -> dict[str, Any]:
    by_op = {r["operation_id"]: r for r in rows}
    latencies, server = [], []
    for op, at in zip(sent.operation_ids, sent.sent_wall, strict=True):
        row = by_op.get(op)
        if row is not None and row["acked_at"] is not None:
            latencies.append((row["acked_at"] - at) * 1000)
            server.append((row["acked_at"] - row["submitted_at"]) * 1000)
    at_venue = [r for r in rows if labels.get(r["order_id"], 0) > 0]
    reasons = Counter(
        re.sub(r"ORD-[0-9A-Z]+", "ORD-…", r["rejection_reason"] or r["status"])[:100]
        for r in rows
        if labels.get(r["order_id"], 0) == 0
    )
    return {
        "orders": len(sent.operation_ids),
        "acked": len(at_venue),
        "persisted": sum(1 for r in at_venue if r["acked_at"] is not None),
        "duplicates_at_venue": sum(labels.get(r["order_id"], 0) - 1 for r in at_venue),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": percentile(latencies, 1.0),
        "server_p99_ms": percentile(server, 0.99),
        "http_p99_ms": percentile(sent.http_ms, 0.99),
        "http_statuses": dict(Counter(str(s) for s in sent.status)),
        "oms_acked_not_at_venue": sum(
            1 for r in rows if r["acked_at"] is not None and labels.get(r["order_id"], 0) == 0
        ),
        "not_acked": dict(reasons.most_common(6)),
        "settled_after_s": drained_s,  # after the last submit: every order acked or final
    }


def cpu_times() -> list[int] | None:
    try:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None


def steal_pct(before: list[int] | None, after: list[int] | None) -> float | None:
    if before is None or after is None:
        return None
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return round(100 * spent[7] / (sum(spent) or 1), 1)


def measured_run(
    daemon: Daemon,
    database_url: str,
    deribit_dir: Path,
    run: str,
    n: int,
    rate: float | None,
    concurrency: int,
    mid: float,
    drain_timeout: float,
    during: Callable[[float], Any] | None = None,
) -> tuple[dict[str, Any], Sent, list[dict[str, Any]]]:
    import uvloop

    bodies = [order_body(run, i, mid) for i in range(n)]
    how = f"at {rate:g}/s" if rate else f"unpaced, {concurrency} connections"
    log(f"run {run}: {n} orders {how}")
    cpu = cpu_times()
    sent = uvloop.run(send_orders(daemon.port, bodies, concurrency, rate, during))
    steal = steal_pct(cpu, cpu_times())
    log(f"run {run}: sent in {sent.elapsed_s:.1f} s; waiting for every order to settle")
    rows, drained = drain(database_url, run, n, drain_timeout)
    result = figures(sent, rows, venue_labels(deribit_dir), drained)
    result["cpu_steal_pct"] = steal
    log(
        f"run {run}: acked {result['acked']}/{n}, p50 {result['p50_ms']} ms, "
        f"p99 {result['p99_ms']} ms, settled after {drained} s"
    )
    return result, sent, rows


# --- the adapter alone ------------------------------------------------------------------------


async def adapter_alone(
    port: int, state_dir: Path, n: int, concurrency: int, mid: float, per_s: float
) -> dict[str, Any]:
    from pydantic import SecretStr

    from live_daemon.venues.deribit.adapter import DeribitAdapter
    from live_daemon.venues.deribit.config import CreditLimit, DeribitAdapterConfig
    from live_daemon.venues.deribit.standin.process import secret_path
    from live_daemon.venues.gateway import VenueEventKind, VenueOrder

    limits = adapter_limits(per_s)
    config = DeribitAdapterConfig(
        url=f"ws://127.0.0.1:{port}/ws/api/v2",
        client_id="paper",
        client_secret=SecretStr(secret_path(state_dir).read_text().strip()),
        instruments=[KEY],
        market_data=False,
        matching_engine_limit=CreditLimit.model_validate(limits["matching_engine"]),
        non_matching_limit=CreditLimit.model_validate(limits["non_matching"]),
    )
    adapter = DeribitAdapter(config)
    accepted: set[str] = set()
    adapter.bind(
        lambda e: accepted.add(e.order_id) if e.kind == VenueEventKind.ACCEPTED else None,
        lambda venue, up: None,
    )
    await adapter.connect()
    orders = []
    for i in range(n):
        buy = i % 2 == 0
        price = math.floor(mid * (1 - BAND)) if buy else math.ceil(mid * (1 + BAND))
        orders.append(
            VenueOrder(
                f"ADAPTER-{i}", KEY, "BUY" if buy else "SELL", Decimal(40), "LIMIT", Decimal(price)
            )
        )
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    queue = iter(orders)

    async def worker() -> None:
        for order in queue:
            began = time.perf_counter()
            try:
                await adapter.submit_order(order)
            except Exception as exc:
                errors[type(exc).__name__] += 1
                continue
            latencies.append((time.perf_counter() - began) * 1000)

    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    gc.unfreeze()
    await adapter.disconnect()
    labels = venue_labels(state_dir)
    ours = [o.order_id for o in orders]
    return {
        "orders": n,
        "acked": sum(1 for o in ours if labels.get(o, 0) > 0),
        "accepted_events": len(accepted),
        "duplicates_at_venue": sum(max(0, labels.get(o, 0) - 1) for o in ours),
        "orders_per_s": round(n / elapsed, 1),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "errors": dict(errors),
        "concurrency": concurrency,
    }


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--orders", type=int, default=200, help="of the paced runs")
    add("--rate", type=float, default=20.0, help="orders/s of the paced runs")
    add("--warmup", type=int, default=10, help="orders before phase 1's runs")
    add("--within-orders", type=int, default=40)
    add("--within-rate", type=float, default=4.0)
    add("--disconnects", type=int, default=5, help="forced session closes per chaos run")
    add("--disconnect-orders", type=int, default=400, help="orders of each chaos run")
    add("--throughput-orders", type=int, default=3000)
    add("--throughput-warmup", type=int, default=500)
    add("--adapter-orders", type=int, default=3000)
    add("--concurrency", type=int, default=64, help="connections of the unpaced runs")
    add("--raised-per-s", type=float, default=100_000.0, help="requests/s (and burst)")
    add("--drain-timeout", type=float, default=90.0, help="s to wait for a run to settle")
    add("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    import pgserver
    import uvloop

    ticks = ensure_ticks()
    workdir = Path(tempfile.mkdtemp(prefix="deribit-bench-"))
    loadavg = [round(x, 2) for x in os.getloadavg()]
    log(f"working in {workdir} (load average {loadavg[0]})")
    pg = pgserver.get_server(str(workdir / "pg"), cleanup_mode="stop")
    paper = (free_port(), workdir / "paper")
    default_venue = (free_port(), workdir / "deribit-default")
    raised_venue = (free_port(), workdir / "deribit-raised")
    daemon: Daemon | None = None
    runs: list[dict[str, Any]] = []  # every run through the daemon, for the totals

    def run(name: str, n: int, rate: float | None, concurrency: int) -> dict[str, Any]:
        assert daemon is not None
        figures, _, _ = measured_run(
            daemon, url, venue[1], name, n, rate, concurrency, mid, args.drain_timeout
        )
        runs.append(figures)
        return figures

    try:
        for database in ("bench_default", "bench_raised"):
            pg.psql(f"CREATE DATABASE {database};")

        # 1. Deribit's default limits
        log("phase 1: the local Deribit venue and the daemon at Deribit's default limits")
        url, venue = pg.get_uri(database="bench_default"), default_venue
        start_deribit_venue(venue[1], venue[0], ticks, None)
        daemon = start_daemon(workdir, url, ticks, paper, venue, "default")
        mid = mark_price(venue[0])
        log(f"daemon up; mark price {mid}")
        if args.warmup:
            run("warmup", args.warmup, args.within_rate, 4)
        wait_full_credits(daemon)
        paced = run("paced", args.orders, args.rate, 16)
        wait_full_credits(daemon)
        within = run("within", args.within_orders, args.within_rate, 4) | {"rate": args.within_rate}
        wait_full_credits(daemon)
        chaos = chaos_run(daemon, url, venue, "chaos", args, mid)
        runs.append(chaos)
        daemon.stop()
        daemon = None

        # 2. raised limits: the daemon's throughput, and disconnects without credit waits
        log(f"phase 2: limits raised to {args.raised_per_s:g} requests/s (venue and adapter)")
        url, venue = pg.get_uri(database="bench_raised"), raised_venue
        start_deribit_venue(venue[1], venue[0], ticks, args.raised_per_s)
        daemon = start_daemon(
            workdir, url, ticks, paper, venue, "raised", adapter_limits(args.raised_per_s)
        )
        mid = mark_price(venue[0])
        if args.throughput_warmup:
            run("twarmup", args.throughput_warmup, None, args.concurrency)
        cpu_before = process_cpu_s(daemon.process.pid)
        throughput, sent, rows = measured_run(
            daemon, url, venue[1], "throughput", args.throughput_orders, None,
            args.concurrency, mid, args.drain_timeout,
        )  # fmt: skip
        cpu_after = process_cpu_s(daemon.process.pid)
        runs.append(throughput)
        acked_at = [r["acked_at"] for r in rows if r["acked_at"] is not None]
        throughput["orders_per_s"] = (
            round(len(acked_at) / (max(acked_at) - min(sent.sent_wall)), 1) if acked_at else 0.0
        )
        throughput["http_orders_per_s"] = round(len(sent.status) / sent.elapsed_s, 1)
        throughput["concurrency"] = args.concurrency
        if cpu_before is not None and cpu_after is not None:
            throughput["daemon_cpu_ms_per_order"] = round(
                (cpu_after - cpu_before) * 1000 / args.throughput_orders, 3
            )
        paced_raised = run("praised", args.orders, args.rate, 16)
        chaos_raised = chaos_run(daemon, url, venue, "craised", args, mid)
        runs.append(chaos_raised)
        daemon.stop()
        daemon = None

        # 3. the adapter alone, on the same venue
        log(f"phase 3: DeribitAdapter alone, {args.adapter_orders} orders")
        alone = uvloop.run(
            adapter_alone(
                venue[0], venue[1], args.adapter_orders, args.concurrency, mid, args.raised_per_s
            )
        )
        whole = [venue_labels(default_venue[1]), venue_labels(raised_venue[1])]
    finally:
        if daemon is not None:
            daemon.stop()
        run_cli(str(BIN / "exec-venue"), "stop", "--dir", str(paper[1]), check=False)
        stop_deribit_venue(default_venue[1])
        stop_deribit_venue(raised_venue[1])
        pg.cleanup()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    counts = ("orders", "acked", "persisted", "duplicates_at_venue")
    result = {
        # the paced run at Deribit's default limits
        **{k: paced[k] for k in counts},
        "p50_ms": paced["p50_ms"],
        "p99_ms": paced["p99_ms"],
        "rate": args.rate,
        # the daemon's whole path, limits raised
        "orders_per_s": throughput["orders_per_s"],
        "with_disconnects": chaos,
        "paced": paced,
        "within_limits": within,
        "raised_limits": {
            "per_s": args.raised_per_s,
            "paced": paced_raised,
            "with_disconnects": chaos_raised,
            "throughput": throughput,
        },
        "adapter_alone": alone,
        # every run through the daemon (warm-ups and disconnects included)
        "all_daemon_runs": {k: sum(r[k] for r in runs) for k in counts},
        # both venues' whole records, the adapter-alone orders included
        "duplicates_in_whole_records": sum(n - 1 for labels in whole for n in labels.values()),
        "default_limits": {"matching_engine_per_s": 5, "burst": 20},
        "loadavg_at_start": loadavg,
    }
    print(json.dumps(result))


def process_cpu_s(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
