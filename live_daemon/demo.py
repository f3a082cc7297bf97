"""The live half of ``make demo``: start the daemon in paper mode, send one order per
execution algorithm over HTTP, print their fills and the positions, reconcile the OMS with
the venue's own record once (the Dagster reconciliation assets, run by
``exec-services live-reconcile`` in a process of its own: the daemon never imports the
pipelines), and stop it cleanly.

It replays the demo day that ``exec-services demo`` wrote to ``runtime/store/ticks``; the
OMS is the embedded PostgreSQL in ``runtime/pg`` (or ``DATABASE_URL``). The daemon starts
the paper venue (``exec-venue paper``, its record in ``runtime/venues/paper``), which
outlives it by design; the demo stops it at the end (``exec-venue stop``), unless it was
running before the demo began. The same goes for the local Deribit venue (``exec-venue
deribit``, its record in ``runtime/venues/deribit``): the daemon trades Deribit's inverse
BTC perpetual through our own adapter (JSON-RPC over WebSocket), and for the TWS stand-in
(``exec-venue ib``, its journal in ``runtime/venues/ib``): the daemon buys AAPL through our
Interactive Brokers adapter (ib_async, the TWS API socket protocol).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

URL = os.environ.get("EXEC_DAEMON_URL", "http://127.0.0.1:8001")
DAEMON_LOG = Path("runtime/logs/demo-daemon.log")
TOKEN = os.environ.get("EXEC_DAEMON_TOKEN", "paper-token")
ORDERS = [
    ("NORMAL", "ANY:PERPETUAL:BTC-USDT@LIN", "BUY", "0.05", {}),
    ("TWAP", "ANY:PERPETUAL:BTC-USDT@LIN", "BUY", "0.04", {"duration_sec": 6, "max_slices": 4}),
    ("VWAP", "ANY:PERPETUAL:ETH-USDT@LIN", "SELL", "0.6", {"duration_sec": 6, "max_slices": 4}),
    ("ICEBERG", "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN", "BUY", "0.02",
     {"display_quantity": "0.005", "duration_sec": 30}),
    # Deribit's inverse perpetual, on the local Deribit venue (JSON-RPC over WebSocket):
    # 0.03 BTC goes as whole 10 USD contracts
    ("NORMAL", "DERIBIT:PERPETUAL:BTC-USD@INV", "BUY", "0.03", {}),
    # an algorithm on an external venue runs in the daemon: children sent as plain orders
    ("TWAP", "ANY:PERPETUAL:BTC-USD@INV", "SELL", "0.02", {"duration_sec": 6, "max_slices": 3}),
    # a stock at Interactive Brokers, on the TWS stand-in: 10 shares, IB's commission
    ("NORMAL", "IB:SPOT_PAIR:AAPL-USD", "BUY", "10", {}),
]  # fmt: skip
DERIBIT_INSTRUMENTS = '["DERIBIT:PERPETUAL:BTC-USD@INV"]'
# IB keys quotes by its contract id (265598: AAPL on SMART); the stand-in quotes a fixed price
IB_INSTRUMENTS = '[{"key": "IB:SPOT_PAIR:AAPL-USD", "con_id": 265598}]'
IB_PRICES = '{"AAPL": "190.50"}'


def _wait_healthy(process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the daemon exited with code {process.returncode}; see {DAEMON_LOG}")
        try:
            if httpx.get(f"{URL}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the daemon was not healthy after {timeout:g}s; see {DAEMON_LOG}")


def _final(client: httpx.Client, operation_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.time() + timeout
    body: dict[str, Any] = {}
    while time.time() < deadline:
        body = client.get(f"/api/orders/{operation_id}").json()
        if body["status"] in ("FILLED", "CANCELED", "REJECTED"):
            break
        time.sleep(0.3)
    return body


def _stop_venue(venue_dir: Path, *kind: str) -> None:
    """``exec-venue [deribit] stop`` on a venue the daemon started."""
    stop = [str(Path(sys.executable).parent / "exec-venue"), *kind, "stop", "--dir", str(venue_dir)]
    code = subprocess.run(stop, check=False).returncode
    if code != 0:
        print(f"the venue on {venue_dir} did not stop (exit code {code})")  # noqa: T201


def _reconcile() -> int:
    """The reconciliation assets, once, against this daemon; prints the breaks per table."""
    command = [str(Path(sys.executable).parent / "exec-services"), "live-reconcile",
               "--daemon-url", URL]  # fmt: skip
    print("reconciling the OMS with the venue's own record (Dagster assets):")  # noqa: T201
    return subprocess.run(command, check=False).returncode


def main() -> None:
    from live_daemon.settings import load_settings
    from live_daemon.venues.state_dir import VenueDir

    # the daemon trades Deribit and IB too, on the local venues it starts
    env = {
        "EXEC_DAEMON_DERIBIT__INSTRUMENTS": DERIBIT_INSTRUMENTS,
        "EXEC_DAEMON_INTERACTIVE_BROKERS__INSTRUMENTS": IB_INSTRUMENTS,
        "EXEC_DAEMON_INTERACTIVE_BROKERS__STANDIN_PRICES": IB_PRICES,
        **os.environ,
    }
    settings = load_settings()
    venue_dir = settings.venue_dir
    deribit_dir = settings.deribit.state_dir
    ib_dir = settings.interactive_brokers.standin_dir
    venue_was_running = VenueDir(venue_dir.resolve()).running_pid() is not None
    deribit_was_running = VenueDir(deribit_dir.resolve()).running_pid() is not None
    ib_was_running = VenueDir(ib_dir.resolve()).running_pid() is not None
    # the daemon's own log (every request, the venue's start) goes to a file, named at the
    # end: what the demo prints is the orders, their fills, the positions and the breaks
    DAEMON_LOG.parent.mkdir(parents=True, exist_ok=True)
    log_file = DAEMON_LOG.open("ab")
    daemon = subprocess.Popen(
        [str(Path(sys.executable).parent / "exec-live")],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        # the daemon waits for its venue (venue_start_timeout_secs), then for PostgreSQL
        _wait_healthy(daemon, settings.venue_start_timeout_secs + 120)
        print(f"live daemon (paper mode) on {URL}")  # noqa: T201 - a CLI's output
        run = uuid.uuid4().hex[:8]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=URL, headers=headers, timeout=10) as client:
            for n, (algo, key, side, quantity, params) in enumerate(ORDERS):
                body = {
                    "operation_id": f"demo-{run}-{n}-{algo}", "instrument_key": key, "side": side,
                    "quantity": quantity, "price": None, "order_type": "MARKET",
                    "strategy_id": "demo-live", "exec_algorithm": algo,
                    "exec_algorithm_params": params,
                }  # fmt: skip
                response = client.post("/api/orders", json=body)
                response.raise_for_status()
            for n, (algo, *_) in enumerate(ORDERS):
                order = _final(client, f"demo-{run}-{n}-{algo}")
                fills = [(f["quantity"], f["price"], f["fee"]) for f in order["fills"]]
                print(  # noqa: T201
                    f"{algo:8} {order['status']:9} {order['venue']}"
                    f" filled {order['filled_quantity']} avg {order['avg_fill_price']}"
                    f" fills {fills}"
                )
            print("positions:")  # noqa: T201
            shown = ("canonical_key", "quantity", "avg_entry_price", "realized_pnl", "fees")
            for row in client.get("/api/positions").json():
                if row.get("scope") == "aggregate":
                    print(json.dumps({k: row[k] for k in shown if k in row}))  # noqa: T201
        reconciled = _reconcile()
        if reconciled != 0:
            raise SystemExit(f"reconciliation found breaks or failed (exit code {reconciled})")
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it: -15 is the clean exit
        print(f"daemon stopped ({'cleanly' if code in (0, -15) else f'exit code {code}'})")  # noqa: T201
        if not venue_was_running:
            _stop_venue(venue_dir)
        if not deribit_was_running:
            _stop_venue(deribit_dir, "deribit")
        if not ib_was_running:
            _stop_venue(ib_dir, "ib")
        log_file.close()
        print(  # noqa: T201
            f"logs: the daemon's in {DAEMON_LOG}, the venues' in {venue_dir / 'venue.log'}, "
            f"{deribit_dir / 'venue.log'} and {ib_dir / 'venue.log'}"
        )


if __name__ == "__main__":
    main()
