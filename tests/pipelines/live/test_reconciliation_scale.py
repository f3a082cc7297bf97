"""A large book through the reconciliation asset: the daemon's answer read and parsed, the
OMS read (one COPY per table), the breaks computed, validated and committed, and exactly the
injected breaks found among 20,000 orders and fills. How fast it is (100,000 orders within
5 s, and how it grows) is measured by ``bench/reconcile.py``, not asserted here."""

from __future__ import annotations

import datetime as dt
import json
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

N = 20_000


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


def test_a_large_book_gives_exactly_the_injected_breaks(
    oms_database_url: str, fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    orders, fills, answer = book(N)
    copy_rows(oms_database_url, "unified_orders", orders)
    copy_rows(oms_database_url, "fills", fills)
    fake_daemon.reconciliation = json.dumps(answer).encode()  # type: ignore[assignment]
    stores = stores_for(tmp_path / "stores")
    daemon = LiveDaemonResource(database_url=oms_database_url, api_url=fake_daemon.url, token=TOKEN)

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [live_reconciliation],
            resources={"live_daemon": daemon, "stores": stores},
            instance=instance,
        )
        assert result.success
    read_at = dt.datetime.fromisoformat(answer["read_at"])
    committed = artifacts.open_set(stores.results, reconciliation_prefix(read_at))
    breaks = {n: artifacts.read_parquet(stores.results, committed, n) for n in committed.files}
    assert breaks["orders.parquet"]["order_id"].to_list() == ["o7"]
    assert sorted(breaks["fills.parquet"]["break_type"].to_list()) == [
        "fill_mismatch", "fill_missing", "fill_missing_at_venue",
    ]  # fmt: skip
