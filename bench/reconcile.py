"""Reconciliation at scale, recovery through Dagster, and the daemon's start (not a test).

On real processes: an embedded PostgreSQL OMS, the paper venue (``exec-venue paper``)
with its own record, ``exec-live``, and the Dagster definitions of ``pipelines.defs.live``.

1. ``daemon_cold_start_seconds``: ``exec-live`` started with no venue running (it starts
   the venue) until ``/api/health`` answers; ``daemon_start_seconds``: started again with
   the venue already running (the demo day, an empty book).
2. The OMS and the venue's record are filled with ``--orders`` filled orders and their
   fills (COPY into PostgreSQL; the venue's own journal API), then breaks are injected:
   an OMS status changed, an OMS filled quantity changed, a fill price changed in the OMS,
   an order only the venue has, and an OMS position row moved (a position row is compared
   with the venue *and* with the OMS's own fills: two break rows). ``breaks_injected``
   counts the break rows these must give.
3. One reconciliation: the ``live_reconciliation`` assets materialized in this process
   against the running daemon (the daemon reads the venue's record, the asset reads the
   OMS, computes, validates and commits the breaks). ``seconds`` is that materialization;
   ``peak_rss_mb`` this process's peak, ``daemon_rss_mb`` the daemon's after it.
4. ``recovery_seconds`` (unless ``--skip-recovery``): the daemon is killed with SIGKILL;
   ``live_daemon_sensor`` is evaluated every ``--sensor-interval`` seconds, as the Dagster
   daemon would, its first tick one interval after the kill (a tick had just seen the
   daemon alive: the slow case); its restart request is run (``restart_live_daemon``,
   the embedded launcher) until the new daemon is healthy.

The last stdout line is one JSON object with these figures.

    .venv/bin/python bench/reconcile.py                      # 100,000 orders, 30 s sensor
    .venv/bin/python bench/reconcile.py --orders 1000000 --skip-recovery
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import dagster as dg
import httpx
import psutil

from execution_core.database import EmbeddedPostgres
from execution_core.demo.config import DemoConfig
from execution_core.demo.publish import publish_demo_day
from execution_core.instruments.reference import load_reference
from execution_core.stores import LocalObjectStore
from live_daemon.domain import Fill
from live_daemon.oms import create_pool, migrate
from live_daemon.venues.gateway import VenueEvent, VenueEventKind
from live_daemon.venues.journal import ReceivedOrder, VenueJournal
from pipelines.defs.live.assets import live_reconciliation
from pipelines.defs.live.jobs import restart_live_daemon
from pipelines.defs.live.resources import LiveDaemonLauncher, LiveDaemonResource
from pipelines.defs.live.sensors import live_daemon_sensor
from pipelines.defs.resources import StoresResource

BIN = Path(sys.executable).parent
TOKEN = "bench-token-1234"
VENUE_KEY = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"  # venue units are base units
DAY = dt.date(2025, 1, 15)
PRICE = Decimal("100000")
QUANTITY = Decimal("0.01")


def log(message: str) -> None:
    print(f"[reconcile] {message}", flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """``exec-live`` on the bench's database, venue port and directories."""

    def __init__(self, workdir: Path, database_url: str, ticks: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.venue_dir = workdir / "venue"
        self.env = {
            "DATABASE_URL": database_url,
            "EXEC_DAEMON_PORT": str(self.port),
            "EXEC_DAEMON_TOKEN": TOKEN,
            "EXEC_TICKS_STORE_URL": ticks.as_uri(),
            "EXEC_DAEMON_LOG_LEVEL": "WARNING",
            "EXEC_DAEMON_VENUE_PORT": str(free_port()),
            "EXEC_DAEMON_VENUE_DIR": str(self.venue_dir),
            "EXEC_DAEMON_HEARTBEAT_SECS": "2",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 600) -> float:
        """Start and wait until healthy; returns the seconds it took."""
        started = time.perf_counter()
        log_file = (self.workdir / "daemon.log").open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "exec-live")],
            env=os.environ | self.env,
            cwd=self.workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        wait_healthy(self.url, timeout, self.process)
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=120)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=60)

    def stop_venue(self) -> None:
        subprocess.run([str(BIN / "exec-venue"), "stop", "--dir", str(self.venue_dir)], check=False)


def wait_healthy(url: str, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"exec-live exited with {process.returncode} (see daemon.log)")
        try:
            response = httpx.get(f"{url}/api/health", timeout=2)
            if response.status_code == 200 and response.json()["status"] == "ok":
                return
            last = response.json()
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise SystemExit(f"exec-live at {url} not healthy after {timeout:g}s; last seen: {last!r}")


# --- the book: N filled orders in the OMS and in the venue's record -----------------------


def order_id(i: int) -> str:
    return f"BENCH-{i:08d}"


def fill_venue_record(venue_dir: Path, n: int) -> None:
    journal = VenueJournal(venue_dir / "record.sqlite")
    ts = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
    try:
        with journal.transaction():
            for i in range(n + 1):  # the last one is the order the OMS never saw
                side = "BUY" if i % 2 == 0 else "SELL"
                oid = order_id(i)
                journal.add_order(
                    ReceivedOrder(oid, VENUE_KEY, side, QUANTITY, "MARKET", None, "NORMAL", {}, 0)
                )
                journal.add_event(VenueEvent(VenueEventKind.ACCEPTED, oid, VENUE_KEY, {}))
                if i < n:
                    fill = Fill(f"T{i:08d}", oid, QUANTITY, PRICE, Decimal("0.4"), "USDT",
                                "TAKER", ts)  # fmt: skip
                    journal.add_event(VenueEvent(VenueEventKind.FILLED, oid, VENUE_KEY, {}, fill))
    finally:
        journal.close()


async def fill_oms(url: str, n: int) -> None:
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    ts = dt.datetime(2025, 1, 15, 12, tzinfo=dt.UTC)
    orders, fills = [], []
    positions: dict[str, Decimal] = {}
    for i in range(n):
        side = "BUY" if i % 2 == 0 else "SELL"
        strategy = f"s{i % 50}"
        orders.append((
            order_id(i), f"op-{i}", strategy, "ANY:PERPETUAL:BTC-USDT@LIN", VENUE_KEY, side,
            "MARKET", QUANTITY, "NORMAL", "h", "FILLED", QUANTITY, PRICE, QUANTITY * PRICE,
            created, created,
        ))  # fmt: skip
        fills.append((VENUE_KEY, f"T{i:08d}", order_id(i), QUANTITY, PRICE, Decimal("0.4"),
                      "USDT", "TAKER", ts))  # fmt: skip
        signed = QUANTITY if side == "BUY" else -QUANTITY
        positions[strategy] = positions.get(strategy, Decimal(0)) + signed
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "unified_orders",
            records=orders,
            columns=["order_id", "operation_id", "strategy_id", "instrument_key", "venue_key",
                     "side", "order_type", "quantity", "exec_algorithm", "payload_hash",
                     "status", "filled_quantity", "avg_fill_price", "filled_notional",
                     "created_at", "updated_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "fills",
            records=fills,
            columns=["venue_key", "fill_id", "order_id", "quantity", "price", "fee",
                     "fee_currency", "liquidity_side", "ts"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "unified_positions",
            records=[(s, VENUE_KEY, "BINANCE-FUTURES", "PERPETUAL:BTC-USDT@LIN", q, PRICE)
                     for s, q in positions.items()],
            columns=["strategy_id", "instrument_key", "venue_key", "canonical_key", "quantity",
                     "avg_entry_price"],
        )  # fmt: skip
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


INJECTED = [
    ("UPDATE unified_orders SET status = 'CANCELED' WHERE order_id = $1", 1, 1),  # status
    ("UPDATE unified_orders SET filled_quantity = 0.02 WHERE order_id = $1", 3, 1),
    ("UPDATE fills SET price = price + 1 WHERE order_id = $1", 5, 1),  # fill_mismatch
    ("UPDATE unified_positions SET quantity = quantity + 1 WHERE strategy_id = $1", "s7", 2),
]
ONLY_AT_VENUE = 1  # the order the OMS never saw (missing_in_oms)


async def inject_breaks(url: str, n: int) -> int:
    conn = await asyncpg.connect(url)
    try:
        for sql, which, _ in INJECTED:
            key = which if isinstance(which, str) else order_id(min(int(which), n - 1))
            await conn.execute(sql, key)
    finally:
        await conn.close()
    return sum(rows for *_, rows in INJECTED) + ONLY_AT_VENUE


# --- phases --------------------------------------------------------------------------------


def reconcile_once(live: LiveDaemonResource, stores: StoresResource) -> tuple[float, int]:
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [live_reconciliation],
            resources={"live_daemon": live, "stores": stores},
            instance=instance,
            raise_on_error=False,
        )
    seconds = time.perf_counter() - started
    if not result.success:
        raise SystemExit("the reconciliation run failed (see the Dagster logs above)")
    found = sum(
        int(str(m.metadata["n_breaks"].value))
        for m in result.asset_materializations_for_node("live_reconciliation")
    )
    return seconds, found


def recover(daemon: Daemon, live: LiveDaemonResource, interval: float) -> float:
    """SIGKILL, then the sensor every ``interval`` s and its restart run; seconds to healthy."""
    launcher = LiveDaemonLauncher(cwd=str(daemon.workdir), extra_env=daemon.env, wait_secs=600)
    daemon.kill()
    killed = time.monotonic()
    log(f"daemon killed; the sensor ticks every {interval:g}s")
    with dg.DagsterInstance.ephemeral() as instance:
        for tick in range(1, 100):
            time.sleep(max(0.0, killed + tick * interval - time.monotonic()))
            context = dg.build_sensor_context(instance=instance, resources={"live_daemon": live})
            result = live_daemon_sensor(context)
            requests = (result.run_requests or []) if isinstance(result, dg.SensorResult) else []
            log(f"sensor tick {tick}: {len(requests)} restart request(s)")
            if requests:
                run = restart_live_daemon.execute_in_process(
                    run_config=requests[0].run_config,
                    resources={"live_daemon": live, "live_daemon_launcher": launcher},
                    instance=instance,
                )
                if not run.success:
                    raise SystemExit("the restart run failed")
                wait_healthy(daemon.url, 600, None)
                return time.monotonic() - killed
    raise SystemExit("no restart was requested after 99 sensor ticks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--sensor-interval", type=float, default=30.0)
    parser.add_argument("--skip-recovery", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("runtime/bench/reconcile"))
    args = parser.parse_args()

    workdir = args.workdir.absolute()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    ticks = workdir / "store" / "ticks"
    publish_demo_day(
        DemoConfig(date=DAY, ticks_scale=0.05),
        LocalObjectStore(ticks),
        LocalObjectStore(workdir / "store" / "signals"),
        load_reference(),
    )
    server = EmbeddedPostgres(workdir / "pg", cleanup_mode="delete")
    url = server.start()

    async def prepare() -> None:
        pool = await create_pool(url, min_size=1, max_size=1)
        await migrate(pool)
        await pool.close()

    asyncio.run(prepare())
    daemon = Daemon(workdir, url, ticks)
    figures: dict[str, Any] = {"orders": args.orders}
    try:
        figures["daemon_cold_start_seconds"] = round(daemon.start(), 2)
        log(f"cold start (the venue too): {figures['daemon_cold_start_seconds']}s")
        daemon.stop()
        figures["daemon_start_seconds"] = round(daemon.start(), 2)
        log(f"start with the venue running: {figures['daemon_start_seconds']}s")
        daemon.stop()
        daemon.stop_venue()

        log(f"filling the venue's record and the OMS with {args.orders:,} orders and fills")
        fill_venue_record(daemon.venue_dir, args.orders)
        asyncio.run(fill_oms(url, args.orders))
        figures["breaks_injected"] = asyncio.run(inject_breaks(url, args.orders))
        daemon.start()

        live = LiveDaemonResource(
            api_url=daemon.url, token=TOKEN, database_url=url, reconciliation_timeout_secs=600
        )
        stores = StoresResource(results_url=(workdir / "store" / "results").as_uri())
        seconds, found = reconcile_once(live, stores)
        figures["breaks_found"] = found
        figures["seconds"] = round(seconds, 3)
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        assert daemon.process is not None
        figures["daemon_rss_mb"] = round(
            psutil.Process(daemon.process.pid).memory_info().rss / 2**20
        )
        injected = figures["breaks_injected"]
        log(f"reconciliation: {found} breaks (injected {injected}) in {seconds:.2f}s")

        if not args.skip_recovery:
            figures["sensor_interval_seconds"] = args.sensor_interval
            figures["recovery_seconds"] = round(recover(daemon, live, args.sensor_interval), 1)
            log(f"recovered through the sensor and the restart job: {figures['recovery_seconds']}s")
    finally:
        pid_file = workdir / "runtime" / "live" / "daemon.pid"  # the launcher's daemon
        if pid_file.exists():
            with contextlib.suppress(psutil.Error, ValueError):
                psutil.Process(int(pid_file.read_text())).terminate()
        daemon.stop()
        time.sleep(1)
        daemon.stop_venue()
        server.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
