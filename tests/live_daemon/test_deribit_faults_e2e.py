"""The Deribit path of the live daemon under faults, end to end: a real ``exec-live``, the
real local Deribit venue process (``exec-venue deribit``, with its own SQLite record) its
faults set at run time (``standin/set_faults``), real PostgreSQL.

One daemon and venue for the module (tests run in file order; each starts with the faults
reset and the adapter connected; the venue kill comes last). After each test:

* no duplicate at the venue: at most one venue order per label (our order id);
* no acknowledged order lost: every order the venue has is in the OMS, with the venue's
  final status and exactly the venue's trades as fills (each once);
* a definite final state (FILLED / CANCELED / REJECTED) for every order of the test;
* the OMS's position equals the venue's (both in USD contracts: the OMS keeps an inverse
  instrument's position in the venue's units, summed from fills in BTC taken back at
  their prices).

Orders are 0.01 BTC: at BTC ~43k that is ~432 USD, sent rounded down to 430 USD (43
contracts of 10 USD), so a venue order filled in full must end FILLED in the OMS although
its fill in BTC is a little less than 0.01.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect

from execution_core.database import EmbeddedPostgres
from execution_core.instruments.reference import load_reference
from tests.live_daemon.daemon_process import query
from tests.live_daemon.deribit_daemon import (
    FINAL,
    KEY,
    NAME,
    NO_FAULTS,
    DeribitDaemon,
    record_fill_as_the_venue_did,
    set_faults,
    venue_orders,
    venue_positions,
    venue_trades,
    wait_for,
)

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 300
LOOKUP_SECS = 6  # how long the daemon looks an unanswered order up before leaving it
QUANTITY = "0.01"  # BTC: not a whole number of 10-USD contracts at any plausible price
SETTLE_S = 60  # how long an order may take to be definite (a 10 s request timeout + lookup)


@dataclass
class Ctx:
    daemon: DeribitDaemon
    url: str  # the OMS database
    client: httpx.Client
    ops: list[str] = field(default_factory=list)  # operation ids of the current test

    def post(self, operation_id: str, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "operation_id": operation_id,
            "instrument_key": KEY,
            "side": "BUY",
            "quantity": QUANTITY,
            "order_type": "MARKET",
            "strategy_id": "deribit-faults",
        } | overrides
        response = self.client.post("/api/orders", json=body)
        assert response.status_code == 201, f"POST {body}: {response.status_code} {response.text}"
        self.ops.append(operation_id)
        return dict(response.json())

    def order(self, operation_id: str) -> dict[str, Any]:
        return dict(self.client.get(f"/api/orders/{operation_id}").json())

    def faults(self, **faults: int | bool) -> dict[str, Any]:
        return set_faults(self.daemon.ws_url, **faults)

    def deribit(self) -> dict[str, Any]:
        return self.daemon.deribit_health()


def _admin(server_uri: str, statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(server_uri)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="module")
def module_database(pg_server: EmbeddedPostgres, oms_template: str) -> Iterator[str]:
    """A migrated OMS database for the module's one daemon."""
    name = f"deribit_faults_{uuid.uuid4().hex[:12]}"
    _admin(pg_server.uri(), f'CREATE DATABASE "{name}" TEMPLATE "{oms_template}"')
    try:
        yield pg_server.uri(name)
    finally:
        _admin(pg_server.uri(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def deribit_daemon(module_database: str, ticks: Path) -> Iterator[DeribitDaemon]:
    # not under tmp_path: a pytest session starting elsewhere may prune /tmp/pytest-of-*
    # while this module's daemon and venue still write there (see conftest's module doc)
    workdir = Path(tempfile.mkdtemp(prefix="deribit-faults-"))
    daemon = DeribitDaemon(
        module_database,
        ticks,
        workdir,
        EXEC_DAEMON_VENUE_LOOKUP_SECS=str(LOOKUP_SECS),
        EXEC_DAEMON_VENUE_BREAKER_COOLDOWN_SECS="2",
        EXEC_DAEMON_VENUE_RECONNECT_MAX_SECS="1",
    )
    try:
        daemon.start(START_TIMEOUT_S)
        yield daemon
    finally:
        try:
            if daemon.process is not None:
                daemon.stop()
        finally:
            try:
                daemon.stop_deribit()
            finally:
                try:
                    daemon.stop_venue()
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def ctx(deribit_daemon: DeribitDaemon, module_database: str) -> Iterator[Ctx]:
    """The module's daemon, its faults reset and Deribit connected; a client."""
    if deribit_daemon.deribit_pid() is None:  # an earlier test failed with its venue killed
        deribit_daemon.start_deribit()
    wait_for(
        "the daemon's Deribit adapter to be connected (circuit closed or probing)",
        lambda: (
            (d := deribit_daemon.deribit_health())["connected"]
            and d["breaker"]["unavailable"] is None
        ),
        timeout=120,
    )
    set_faults(deribit_daemon.ws_url, **NO_FAULTS)
    with deribit_daemon.client() as client:
        yield Ctx(deribit_daemon, module_database, client)


# -- what must hold after every test --------------------------------------------------------


def oms_position_usd(url: str) -> Decimal:
    rows = query(url, "SELECT quantity FROM unified_positions WHERE instrument_key = $1", KEY)
    return sum((Decimal(r["quantity"]) for r in rows), Decimal(0))


def assert_consistent(
    ctx: Ctx, operation_ids: list[str] | None = None, settle_s: float = SETTLE_S
) -> dict[str, dict[str, Any]]:
    """The module docstring's invariants; the final orders by operation id. Duplicates,
    lost orders, fills and positions over the venue's whole record; the venue's final
    status for this test's orders (an earlier test's stuck order fails that test only)."""
    ops = ctx.ops if operation_ids is None else operation_ids
    until_none(
        f"every one of the test's {len(ops)} orders to be FILLED/CANCELED/REJECTED (the "
        "ones still in flight, with their status)",
        lambda: [f"{op}: {s}" for op in ops if (s := ctx.order(op).get("status")) not in FINAL],
        timeout=settle_s,
    )
    final = {op: ctx.order(op) for op in ops}
    mine = {o["order_id"] for o in final.values()}
    at_venue = venue_orders(ctx.daemon.deribit_dir)
    labels = Counter(o.label for o in at_venue)
    duplicates = {label: n for label, n in labels.items() if n > 1}
    assert not duplicates, f"orders sent twice to the venue (label: count): {duplicates}"

    oms = {
        r["order_id"]: r
        for r in query(ctx.url, "SELECT order_id, operation_id, status FROM unified_orders")
    }
    lost = [o for o in at_venue if o.label not in oms]
    assert not lost, f"orders the venue has and the OMS does not: {lost}"

    # the venue's final state and trades are the OMS's, each fill once
    spec = load_reference().get(KEY)
    trades: dict[str, list[dict[str, Any]]] = {}
    for trade in venue_trades(ctx.daemon.deribit_dir):
        trades.setdefault(trade["label"], []).append(trade)
    expected_status = {"filled": "FILLED", "cancelled": "CANCELED", "rejected": "REJECTED"}

    def disagreements() -> list[str]:
        oms_fills: dict[str, list[tuple[str, Decimal]]] = {}
        for r in query(ctx.url, "SELECT order_id, fill_id, quantity FROM fills"):
            oms_fills.setdefault(r["order_id"], []).append((r["fill_id"], r["quantity"]))
        problems = []
        statuses = {
            r["order_id"]: r["status"]
            for r in query(ctx.url, "SELECT order_id, status FROM unified_orders")
        }
        for order in at_venue:
            want = expected_status.get(order.state)
            if order.label in mine and want is not None and statuses[order.label] != want:
                problems.append(
                    f"{order.label}: venue {order.state} ({order.filled_amount}/{order.amount} "
                    f"USD), OMS {statuses[order.label]}"
                )
            venue_fills = sorted(
                (
                    t["trade_id"],
                    spec.base_quantity(Decimal(str(t["amount"])), Decimal(str(t["price"]))),
                )
                for t in trades.get(order.label, [])
            )
            got = sorted(oms_fills.get(order.label, []))
            if [f for f, _ in got] != [f for f, _ in venue_fills]:
                problems.append(f"{order.label}: venue trades {venue_fills}, OMS fills {got}")
            elif any(
                abs(a[1] - b[1]) > Decimal("1e-12") for a, b in zip(got, venue_fills, strict=True)
            ):
                problems.append(f"{order.label}: fill quantities {got} != venue's {venue_fills}")
        return problems

    until_none("the OMS's statuses and fills to equal the venue's record", disagreements)

    venue_usd = venue_positions(ctx.daemon.deribit_dir).get(NAME, Decimal(0))
    wait_for(
        f"the OMS position in {KEY} (USD) to equal the venue's {venue_usd} USD",
        lambda: oms_position_usd(ctx.url) == venue_usd,
        timeout=30,
    )
    api_rows = [
        r
        for r in ctx.client.get("/api/positions").json()
        if r["scope"] == "venue" and r["instrument_key"] == KEY
    ]
    assert sum((Decimal(r["quantity"]) for r in api_rows), Decimal(0)) == venue_usd, api_rows
    return final


def until_none(what: str, problems: Any, timeout: float = 30) -> None:
    """Poll ``problems()`` until it lists none; fail with the last ones, naming ``what``."""
    deadline = time.monotonic() + timeout
    found = problems()
    while found and time.monotonic() < deadline:
        time.sleep(0.3)
        found = problems()
    assert not found, f"gave up after {timeout}s waiting for {what}: {found}"


def venue_labels(ctx: Ctx) -> Counter[str]:
    return Counter(o.label for o in venue_orders(ctx.daemon.deribit_dir))


def venue_mid(ws_url: str) -> Decimal:
    """The venue's mark price, from its ticker (public/subscribe)."""

    async def read() -> Decimal:
        async with connect(ws_url, open_timeout=10) as ws:
            channel = f"ticker.{NAME}.100ms"
            await ws.send(
                json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "public/subscribe",
                        "params": {"channels": [channel]},
                    }
                )
            )
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                params = frame.get("params") or {}
                if params.get("channel") == channel and params["data"].get("mark_price"):
                    return Decimal(str(params["data"]["mark_price"]))

    return asyncio.run(read())


def venue_log(ctx: Ctx) -> str:
    log = ctx.daemon.deribit_dir / "venue.log"
    return log.read_text(errors="replace") if log.exists() else ""


def fault_logged(ctx: Ctx, fault: str, method: str = "") -> bool:
    """The venue's log says it applied ``fault`` (to a ``method`` request if given)."""
    return any(
        f"deribit_standin_fault {fault}" in line and method in line
        for line in venue_log(ctx).splitlines()
    )


# -- the tests -------------------------------------------------------------------------------


def test_bad_input_is_refused_before_it_leaves_naming_the_field(ctx: Ctx) -> None:
    # an instrument Deribit does not list here: the API refuses it, nothing is recorded
    body = {
        "operation_id": "unlisted",
        "instrument_key": "DERIBIT:PERPETUAL:SOL-USD@INV",
        "side": "BUY",
        "quantity": QUANTITY,
        "order_type": "MARKET",
        "strategy_id": "deribit-faults",
    }
    response = ctx.client.post("/api/orders", json=body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["instrument_key"], errors
    assert "unknown instrument 'DERIBIT:PERPETUAL:SOL-USD@INV'" in errors[0]["message"]
    assert ctx.client.get("/api/orders/unlisted").status_code == 404

    # a limit price off BTC-PERPETUAL's 0.5 tick (1% under the market: within the risk
    # tolerance, so it is the venue adapter that refuses it, before sending)
    price = (venue_mid(ctx.daemon.ws_url) * Decimal("0.99")).to_integral_value() + Decimal("0.3")
    ctx.post("off-tick", order_type="LIMIT", price=str(price))
    # less than one 10-USD contract: rounds down to 0 USD
    ctx.post("below-one-contract", quantity="0.0001")
    final = assert_consistent(ctx)

    off_tick = final["off-tick"]
    assert off_tick["status"] == "REJECTED", off_tick
    assert off_tick["rejection_reason"].startswith("price: "), off_tick["rejection_reason"]
    assert "tick size 0.5" in off_tick["rejection_reason"], off_tick["rejection_reason"]
    tiny = final["below-one-contract"]
    assert tiny["status"] == "REJECTED", tiny
    # refused by the pre-trade risk check: below the listing's minimum of 10 USD in BTC
    assert "INSTRUMENT_QUANTITY_MIN" in tiny["rejection_reason"], tiny["rejection_reason"]
    assert "quantity 0.0001 is below the minimum" in tiny["rejection_reason"], tiny
    at_venue = venue_labels(ctx)
    assert off_tick["order_id"] not in at_venue and tiny["order_id"] not in at_venue


def assert_never_at_the_venue(ctx: Ctx, order: dict[str, Any]) -> None:
    """An order whose send failed and that the venue does not have: looked up by its id,
    not sent again, and closed saying so. Two settle it, whichever comes first: the lookup
    after the failed submit (REJECTED, "... has no order ...; it was not sent again") or
    the reconciliation the reconnection runs (CANCELED, "not found at the venue")."""
    order_id = order["order_id"]
    assert order_id not in venue_labels(ctx), "the venue has it: it was sent again"
    assert f"external_submit_outcome_unknown venue=DERIBIT order_id={order_id}" in (
        ctx.daemon.log()
    ), "the daemon did not treat the submit's outcome as unknown"
    reason = order["rejection_reason"] or ""
    if order["status"] == "REJECTED":
        assert f"DERIBIT has no order {order_id}" in reason, reason
        assert "not sent again" in reason, reason
    else:
        assert order["status"] == "CANCELED", order
        assert reason == "not found at the venue", reason


def test_connection_dropped_before_the_venue_stored_the_order(ctx: Ctx) -> None:
    sessions = ctx.deribit()["sessions"]
    ctx.faults(drop_before_order=1)
    ctx.post("drop-before")
    final = assert_consistent(ctx)["drop-before"]
    assert fault_logged(ctx, "drop_before_order"), venue_log(ctx)[-2000:]
    assert_never_at_the_venue(ctx, final)
    wait_for("a new Deribit session", lambda: ctx.deribit()["sessions"] > sessions)


def test_connection_dropped_after_the_venue_accepted_the_order(ctx: Ctx) -> None:
    sessions = ctx.deribit()["sessions"]
    ctx.faults(drop_after_order=1)
    ctx.post("drop-after")
    final = assert_consistent(ctx)["drop-after"]
    assert fault_logged(ctx, "drop_after_order"), venue_log(ctx)[-2000:]
    assert venue_labels(ctx)[final["order_id"]] == 1
    assert final["status"] == "FILLED", final
    assert len(final["fills"]) == 1, final
    wait_for("a new Deribit session", lambda: ctx.deribit()["sessions"] > sessions)


def test_a_reply_that_never_comes(ctx: Ctx) -> None:
    ctx.faults(no_reply=1)
    ctx.post("no-reply")
    final = assert_consistent(ctx)["no-reply"]
    assert fault_logged(ctx, "no_reply", "private/buy"), venue_log(ctx)[-2000:]
    assert venue_labels(ctx)[final["order_id"]] == 1
    assert final["status"] == "FILLED", final
    assert len(final["fills"]) == 1, final
    # its notifications told the fill; the daemon still looked the order up by its label
    # once the request timed out, and did not send it again (one venue order, above)
    unknown = (
        f"external_submit_outcome_unknown venue=DERIBIT order_id={final['order_id']} "
        "error=no answer from Deribit to private/buy"
    )
    wait_for(f"the daemon to log {unknown!r}", lambda: unknown in ctx.daemon.log(), timeout=30)
    assert_consistent(ctx)
    assert venue_labels(ctx)[final["order_id"]] == 1


def test_too_many_requests_closes_the_session_the_order_ends_definite(ctx: Ctx) -> None:
    sessions = ctx.deribit()["sessions"]
    ctx.faults(too_many_requests=1)
    ctx.post("rate-limited")
    wait_for(
        "the adapter to reconnect after the 10028",
        lambda: (d := ctx.deribit())["sessions"] > sessions and d["connected"] and d,
    )
    deribit = ctx.deribit()
    assert deribit["sessions"] >= 2, deribit
    assert "10028" in str(deribit["last_error"]), deribit
    ctx.post("after-rate-limit")
    final = assert_consistent(ctx)
    limited = final["rate-limited"]
    if limited["status"] == "FILLED":  # the 10028 answered another request (a heartbeat)
        assert venue_labels(ctx)[limited["order_id"]] == 1
    else:  # it answered the order itself: refused, so not at the venue
        assert_never_at_the_venue(ctx, limited)
    assert final["after-rate-limit"]["status"] == "FILLED", final["after-rate-limit"]


def test_expired_tokens_the_next_orders_work(ctx: Ctx) -> None:
    ctx.faults(expire_tokens=True)
    ctx.post("expired-0")
    first = assert_consistent(ctx)["expired-0"]
    if first["status"] == "REJECTED":  # refused unauthorized (13009): not carried out
        assert "13009" in first["rejection_reason"], first
        assert first["order_id"] not in venue_labels(ctx)
    else:
        assert first["status"] == "FILLED", first
    for i in (1, 2):
        ctx.post(f"expired-{i}", side="SELL")
    final = assert_consistent(ctx)
    assert [final[f"expired-{i}"]["status"] for i in (1, 2)] == ["FILLED", "FILLED"], final


def test_duplicated_and_reordered_notifications_count_each_fill_once(ctx: Ctx) -> None:
    ctx.faults(duplicate_notifications=40, reorder_notifications=40)
    for i in range(6):
        ctx.post(f"dup-{i}", side="BUY" if i % 2 else "SELL")
    final = assert_consistent(ctx)
    left = ctx.faults()
    assert left["duplicate_notifications"] < 40 and left["reorder_notifications"] < 40, left
    assert all(o["status"] == "FILLED" and len(o["fills"]) == 1 for o in final.values()), final


def test_an_order_the_venue_stored_before_it_died_is_settled_on_reconnection(
    ctx: Ctx,
) -> None:
    """The venue commits an order and its fill, then dies before it replies or notifies:
    the daemon's lookup cannot ask it and leaves the order to the reconciliation its
    reconnection runs, which must end it as the venue's record says (FILLED)."""
    daemon = ctx.daemon
    mid = venue_mid(daemon.ws_url)
    pid = daemon.deribit_pid()
    assert pid is not None
    sessions = ctx.deribit()["sessions"]
    os.kill(pid, signal.SIGSTOP)  # the order reaches its socket, the venue never reads it
    try:
        order = ctx.post("stored-then-died")
        time.sleep(0.5)
        assert ctx.order("stored-then-died")["status"] == "SUBMITTED"
    finally:
        daemon.kill_deribit()  # a stopped process dies of SIGKILL too
    assert order["order_id"] not in venue_labels(ctx)
    usd = (Decimal(QUANTITY) * mid / 10).to_integral_value(ROUND_DOWN) * 10
    trade_id = record_fill_as_the_venue_did(daemon.deribit_dir, order["order_id"], usd, mid)
    in_flight = f"external_order_in_flight venue=DERIBIT order_id={order['order_id']}"
    wait_for(f"the daemon to log {in_flight!r}", lambda: in_flight in daemon.log(), timeout=30)
    daemon.start_deribit()
    wait_for(
        "the adapter to reconnect to the restarted venue",
        lambda: (d := ctx.deribit())["connected"] and d["sessions"] > sessions,
        timeout=60,
    )
    wait_for(
        "the venue's fill in the OMS",
        lambda: [f["fill_id"] for f in ctx.order("stored-then-died")["fills"]] == [trade_id],
        timeout=30,
    )
    final = assert_consistent(ctx, settle_s=15)["stored-then-died"]
    assert final["status"] == "FILLED", final


class Streamer(threading.Thread):
    """Posts an order every ``every`` seconds (alternating sides) until stopped; keeps each
    POST's answer with the time it came back."""

    def __init__(self, daemon: DeribitDaemon, prefix: str, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.client, self.prefix, self.every = daemon.client(), prefix, every
        self.answers: list[tuple[float, str, dict[str, Any]]] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            i = 0
            while not self.stopping.is_set():
                operation_id = f"{self.prefix}-{i}"
                body = {
                    "operation_id": operation_id,
                    "instrument_key": KEY,
                    "side": "BUY" if i % 2 else "SELL",
                    "quantity": QUANTITY,
                    "order_type": "MARKET",
                    "strategy_id": "deribit-faults",
                }
                response = self.client.post("/api/orders", json=body)
                assert response.status_code == 201, response.text
                self.answers.append((time.monotonic(), operation_id, response.json()))
                i += 1
                self.stopping.wait(self.every)
        except BaseException as exc:  # reported by stop()
            self.error = exc
        finally:
            self.client.close()

    def stop(self) -> list[str]:
        self.stopping.set()
        self.join(timeout=30)
        assert self.error is None, f"the streamer failed: {self.error!r}"
        return [op for _, op, _ in self.answers]


def test_venue_killed_while_orders_stream_then_restarted(ctx: Ctx) -> None:
    daemon = ctx.daemon
    sessions = ctx.deribit()["sessions"]
    streamer = Streamer(daemon, "stream")
    streamer.start()
    try:
        wait_for("a few streamed orders FILLED", lambda: len(streamer.answers) >= 4)
        # the next order's reply never comes (its notifications do): a request is pending
        # when the venue dies
        ctx.faults(no_reply=1)
        time.sleep(0.6)
        daemon.kill_deribit()
        wait_for(
            "the daemon to see Deribit down",
            lambda: ctx.deribit()["connected"] is False,
            timeout=30,
        )
        down_since = time.monotonic()
        while_down = ctx.post("while-down")
        assert while_down["status"] == "REJECTED", while_down
        reason = while_down["rejection_reason"]
        assert reason.startswith("VENUE_DOWN: DERIBIT adapter not connected"), reason
        assert KEY in reason, reason
        time.sleep(LOOKUP_SECS + 1)  # longer than the daemon looks an unanswered order up
        restarting_at = time.monotonic()
        daemon.start_deribit()
        wait_for(
            "the adapter to reconnect to the restarted venue",
            lambda: (d := ctx.deribit())["connected"] and d["sessions"] > sessions,
            timeout=60,
        )
        time.sleep(2)  # a few orders on the new session
    finally:
        streamed = streamer.stop()
    final = assert_consistent(ctx, [*streamed, *ctx.ops])

    down = [
        (op, answer) for at, op, answer in streamer.answers if down_since <= at <= restarting_at
    ]
    assert len(down) >= 10, "too few orders streamed while the venue was down"
    for op, answer in down:  # refused at once, never sent
        assert answer["status"] == "REJECTED", (op, answer)
        assert answer["rejection_reason"].startswith("VENUE_DOWN: "), (op, answer)
    statuses = Counter(o["status"] for o in final.values())
    after = [op for at, op, _ in streamer.answers if at > restarting_at]
    assert any(final[op]["status"] == "FILLED" for op in after), {
        op: (final[op]["status"], final[op]["rejection_reason"]) for op in after
    }
    assert statuses["FILLED"] >= 5, statuses
