"""100,000 orders and 100,000 fills reconciled within 5 s: the daemon's answer read and parsed,
the OMS read (one COPY per table), the breaks computed, validated and committed."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from execution_core.stores import artifacts
from pipelines.defs.live.assets import live_reconciliation, reconciliation_prefix
from pipelines.defs.live.resources import LiveDaemonResource
from tests.pipelines.conftest import stores_for
from tests.pipelines.live.fake_daemon import TOKEN, FakeDaemon
from tests.pipelines.live.oms_rows import BTC_OKX, copy_rows

pytestmark = pytest.mark.slow

N = 100_000
BUDGET_S = 5.0


def book(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """``n`` filled orders with one fill each, as OMS rows and as the daemon's answer; three
    breaks injected (a fill the OMS lacks, an order the venue lacks, a price)."""
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    orders, fills = [], []
    for i in range(n):
        side = "BUY" if i % 2 == 0 else "SELL"
        orders.append({
            "order_id": f"o{i}", "operation_id": f"op{i}", "strategy_id": f"s{i % 50}",
            "instrument_key": "ANY:PERPETUAL:BTC-USDT@LIN", "venue_key": BTC_OKX, "side": side,
            "order_type": "MARKET", "quantity": Decimal("0.01"), "payload_hash": "h",
            "status": "FILLED", "filled_quantity": Decimal("0.01"), "created_at": created,
            "updated_at": created,
        })  # fmt: skip
        fills.append({
            "venue_key": BTC_OKX, "fill_id": f"t{i}", "order_id": f"o{i}",
            "quantity": Decimal("0.01"), "price": Decimal("43000.5") + i % 100,
            "fee": Decimal("0.1"), "ts": created,
        })  # fmt: skip
    venue_orders = [o for o in orders if o["order_id"] != "o7"]  # the venue lacks o7
    venue_fills = [dict(f) for f in fills if f["order_id"] != "o7"]
    venue_fills[3]["price"] = Decimal("1")
    venue_fills.append(dict(venue_fills[0], fill_id="extra"))
    answer = {
        "read_at": dt.datetime.now(dt.UTC).isoformat(),
        "venues": {"paper": {"connected": True, "endpoint": "x", "venue_keys": [BTC_OKX]}},
        "unreachable": [],
        "settled": [],
        "orders": {
            "order_id": [o["order_id"] for o in venue_orders],
            "venue_key": [o["venue_key"] for o in venue_orders],
            "status": [o["status"] for o in venue_orders],
            "quantity": [str(o["quantity"]) for o in venue_orders],
            "filled_quantity": [str(o["filled_quantity"]) for o in venue_orders],
        },
        "fills": {
            k: [f[k] if k != "ts" else f[k].isoformat() for f in venue_fills]
            for k in ("fill_id", "order_id", "venue_key", "quantity", "price", "fee", "ts")
        },
        "positions": {"venue_key": [BTC_OKX], "quantity": ["0"]},
    }
    for column in ("quantity", "price", "fee"):
        answer["fills"][column] = [str(v) for v in answer["fills"][column]]
    return orders, fills, answer


def test_100k_orders_and_fills_reconcile_within_5_s(
    oms_database_url: str, fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    orders, fills, answer = book(N)
    copy_rows(oms_database_url, "unified_orders", orders)
    copy_rows(oms_database_url, "fills", fills)
    fake_daemon.reconciliation = json.dumps(answer).encode()  # type: ignore[assignment]
    stores = stores_for(tmp_path / "stores")
    daemon = LiveDaemonResource(database_url=oms_database_url, api_url=fake_daemon.url, token=TOKEN)

    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = dg.materialize(
            [live_reconciliation],
            resources={"live_daemon": daemon, "stores": stores},
            instance=instance,
        )
        elapsed = time.perf_counter() - started
        assert result.success
        done = [
            e.user_message for e in instance.all_logs(result.run_id)
            if e.user_message.startswith("reconciliation_done")
        ]  # fmt: skip
    print(f"\nreconciliation of {N:,} orders and fills: materialize {elapsed:.2f}s; {done}")
    read_at = dt.datetime.fromisoformat(answer["read_at"])
    committed = artifacts.open_set(stores.results, reconciliation_prefix(read_at))
    breaks = {n: artifacts.read_parquet(stores.results, committed, n) for n in committed.files}
    assert breaks["orders.parquet"]["order_id"].to_list() == ["o7"]
    assert sorted(breaks["fills.parquet"]["break_type"].to_list()) == [
        "fill_mismatch", "fill_missing", "fill_missing_at_venue",
    ]  # fmt: skip
    assert elapsed <= BUDGET_S, f"{elapsed:.2f}s for {N:,} orders and fills"
