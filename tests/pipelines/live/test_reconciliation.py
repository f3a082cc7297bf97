"""The reconciliation assets, materialized against a fake daemon API and a real OMS database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from execution_core.stores import artifacts
from pipelines.defs.live.assets import live_reconciliation, reconciliation_prefix
from pipelines.defs.live.resources import LiveDaemonResource
from pipelines.defs.resources import StoresResource
from tests.pipelines.conftest import stores_for
from tests.pipelines.live.fake_daemon import TOKEN, FakeDaemon
from tests.pipelines.live.oms_rows import BTC_OKX, copy_rows, fill, order, position

BTC_BYBIT = "BYBIT:PERPETUAL:BTC-USDT@LIN"
KEYS = ["reconciliation_orders", "reconciliation_fills", "reconciliation_positions"]


@pytest.fixture
def stores(tmp_path: Path) -> StoresResource:
    return stores_for(tmp_path / "stores")


def columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [str(r[name]) for r in rows] for name in rows[0]} if rows else {}


def venue_answer(
    orders: list[dict[str, Any]],
    fills: list[dict[str, Any]],
    positions: list[dict[str, Any]],
    **overrides: Any,
) -> dict[str, Any]:
    empty_orders = {
        k: [] for k in ("order_id", "venue_key", "status", "quantity", "filled_quantity")
    }
    empty_fills = {
        k: [] for k in ("fill_id", "order_id", "venue_key", "quantity", "price", "fee", "ts")
    }
    body = {
        "read_at": (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat(),
        "venues": {
            "okx": {"connected": True, "endpoint": "wss://okx.test", "venue_keys": [BTC_OKX]},
            "bybit": {"connected": True, "endpoint": "wss://bybit.test", "venue_keys": [BTC_BYBIT]},
        },
        "unreachable": [],
        "settled": [{"kind": "fill_applied", "order_id": "o1", "fill_id": "f1",
                     "venue_key": BTC_OKX, "detail": "applied the venue's fill"}],
        "orders": columns(orders) or empty_orders,
        "fills": columns(fills) or empty_fills,
        "positions": columns(positions) or {"venue_key": [], "quantity": []},
    }  # fmt: skip
    return body | overrides


def venue_order(order_id: str, status: str = "FILLED", filled: str = "0.5") -> dict[str, Any]:
    return {"order_id": order_id, "venue_key": BTC_OKX, "status": status, "quantity": "0.5",
            "filled_quantity": filled}  # fmt: skip


def venue_fill(fill_id: str, order_id: str, quantity: str = "0.5") -> dict[str, Any]:
    return {"fill_id": fill_id, "order_id": order_id, "venue_key": BTC_OKX, "quantity": quantity,
            "price": "43000.5", "fee": "0.1", "ts": "2025-01-15T11:00:00Z"}  # fmt: skip


def daemon_for(url: str, api_url: str) -> LiveDaemonResource:
    return LiveDaemonResource(database_url=url, api_url=api_url, token=TOKEN)


def materialize(daemon: LiveDaemonResource, stores: StoresResource) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [live_reconciliation],
        resources={"live_daemon": daemon, "stores": stores},
        raise_on_error=False,
    )


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    texts = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            texts.append(str(data.user_failure_data and data.user_failure_data.description))
            texts.append(data.error.message if data.error else "")
    return "\n".join(texts)


def written(stores: StoresResource) -> list[str]:
    return stores.results.list("live/")


def metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, Any]:
    materializations = result.asset_materializations_for_node("live_reconciliation")
    (event,) = [m for m in materializations if m.asset_key == dg.AssetKey(key)]
    return {k: getattr(v, "value", v) for k, v in event.metadata.items()}


def checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}


# --- nothing to reconcile against: fail, write nothing --------------------------------------


def test_an_unreachable_daemon_fails_naming_the_url_and_writes_nothing(
    oms_database_url: str, stores: StoresResource
) -> None:
    daemon = daemon_for(oms_database_url, "http://127.0.0.1:9")
    result = materialize(daemon, stores)
    assert not result.success
    text = failure_text(result)
    assert "POST http://127.0.0.1:9/api/reconciliation/run" in text
    assert "cannot connect to the live daemon" in text
    assert "no breaks table written" in text
    assert written(stores) == []


def test_a_venue_the_daemon_could_not_read_fails_naming_it_and_writes_nothing(
    oms_database_url: str, stores: StoresResource, fake_daemon: FakeDaemon
) -> None:
    # as the daemon answers then: no read_at and no record, the reason in "errors"
    fake_daemon.reconciliation = venue_answer([], [], []) | {
        "unreachable": ["bybit"], "errors": {"bybit": "not connected"}, "read_at": None,
        "orders": {}, "fills": {}, "positions": {},
    }  # fmt: skip
    result = materialize(daemon_for(oms_database_url, fake_daemon.url), stores)
    assert not result.success
    text = failure_text(result)
    assert "could not read the venues bybit (wss://bybit.test): not connected" in text
    assert fake_daemon.url in text
    assert written(stores) == []


@pytest.mark.parametrize(("status", "token"), [(500, TOKEN), (200, "wrong-token")])
def test_an_http_error_fails_naming_the_url_and_the_status(
    oms_database_url: str, stores: StoresResource, fake_daemon: FakeDaemon, status: int, token: str
) -> None:
    fake_daemon.reconciliation = {"detail": "venue gateway crashed"}
    fake_daemon.reconciliation_status = status
    daemon = LiveDaemonResource(database_url=oms_database_url, api_url=fake_daemon.url, token=token)
    result = materialize(daemon, stores)
    assert not result.success
    text = failure_text(result)
    assert (
        f"POST {fake_daemon.url}/api/reconciliation/run: HTTP {500 if status == 500 else 401}"
        in text
    )
    assert written(stores) == []


# --- breaks ---------------------------------------------------------------------------------


def test_injected_breaks_are_written_and_fail_the_checks(
    oms_database_url: str, stores: StoresResource, fake_daemon: FakeDaemon
) -> None:
    url = oms_database_url
    copy_rows(url, "unified_orders", [
        order("o1"),
        order("o2", status="SUBMITTED", filled_quantity=Decimal(0)),  # the venue never got it
        order("o3"),  # the venue cancelled it
        order("o4", side="SELL", status="SUBMITTED", filled_quantity=Decimal(0)),
    ])  # fmt: skip
    copy_rows(url, "fills", [fill("f1", "o1"), fill("f3", "o3")])
    # OKX: 1.0 in the OMS (as its fills say), 0.6 at the venue; BYBIT: 0.2 on both, no fills
    copy_rows(url, "unified_positions", [
        position("s1", BTC_OKX, "1.0"), position("s2", BTC_BYBIT, "0.2"),
    ])  # fmt: skip
    fake_daemon.reconciliation = venue_answer(
        orders=[
            venue_order("o1"),
            venue_order("o3", status="CANCELED", filled="0"),
            venue_order("o4", status="ACCEPTED", filled="0"),
            venue_order("ghost", status="ACCEPTED", filled="0"),
        ],
        fills=[venue_fill("f1", "o1"), venue_fill("f9", "ghost", "0.1")],
        positions=[
            {"venue_key": BTC_OKX, "quantity": "0.6"},
            {"venue_key": BTC_BYBIT, "quantity": "0.20"},
        ],
    )
    result = materialize(daemon_for(url, fake_daemon.url), stores)
    assert result.success  # the run succeeds; its checks fail

    read_at = dt.datetime.fromisoformat(fake_daemon.reconciliation["read_at"])
    committed = artifacts.open_set(stores.results, reconciliation_prefix(read_at))
    assert set(committed.files) == {"orders.parquet", "fills.parquet", "positions.parquet"}
    tables = {n: artifacts.read_parquet(stores.results, committed, n) for n in committed.files}
    assert tables["orders.parquet"].select("break_type", "order_id").rows() == [
        ("missing_in_oms", "ghost"),
        ("missing_at_venue", "o2"),
        ("status_mismatch", "o3"),
        ("filled_quantity_mismatch", "o3"),
    ]
    assert tables["fills.parquet"].select("break_type", "fill_id").rows() == [
        ("fill_missing", "f9"),
        ("fill_missing_at_venue", "f3"),
    ]
    positions = tables["positions.parquet"]
    assert positions.select("venue_key", "oms_value", "venue_value").rows() == [
        (BTC_OKX, "1", "0.6"),  # the OMS against the venue
        (BTC_BYBIT, "0.2", None),  # the OMS's positions against its own fills
    ]
    assert positions["detail"][1].endswith("the signed fills sum to 0")

    evaluations = checks(result)
    assert set(evaluations) == set(KEYS)
    assert all(not e.passed for e in evaluations.values())
    assert all(e.severity == dg.AssetCheckSeverity.ERROR for e in evaluations.values())

    meta = metadata(result, "reconciliation_orders")
    assert meta["n_breaks"] == 4
    assert meta["breaks_by_type"] == {
        "missing_in_oms": 1, "missing_at_venue": 1, "status_mismatch": 1,
        "filled_quantity_mismatch": 1,
    }  # fmt: skip
    assert "| missing_in_oms | ghost |" in meta["preview"]
    assert 0 < meta["seconds_since_venue_read"] < 60
    assert meta["rows_compared"]["venue_orders"] == 4
    assert meta["rows_compared"]["oms_orders"] == 4
    assert meta["n_settled"] == 1
    assert meta["settled_by_kind"] == {"fill_applied": 1}
    assert meta["location"].endswith("orders.parquet")


def test_a_clean_book_writes_empty_tables_and_passes(
    oms_database_url: str, stores: StoresResource, fake_daemon: FakeDaemon
) -> None:
    url = oms_database_url
    copy_rows(url, "unified_orders", [order("o1"), order("o2", side="SELL")])
    copy_rows(url, "fills", [fill("f1", "o1"), fill("f2", "o2")])
    copy_rows(
        url, "unified_positions", [position("s1", BTC_OKX, "0.5"), position("s2", BTC_OKX, "-0.5")]
    )
    fake_daemon.reconciliation = venue_answer(
        orders=[venue_order("o1"), venue_order("o2")],
        fills=[venue_fill("f1", "o1"), venue_fill("f2", "o2")],
        positions=[{"venue_key": BTC_OKX, "quantity": "0"}],
    )
    result = materialize(daemon_for(url, fake_daemon.url), stores)
    assert result.success
    assert all(e.passed for e in checks(result).values())
    read_at = dt.datetime.fromisoformat(fake_daemon.reconciliation["read_at"])
    committed = artifacts.open_set(stores.results, reconciliation_prefix(read_at))
    for name in committed.files:
        assert artifacts.read_parquet(stores.results, committed, name).is_empty()
    assert metadata(result, "reconciliation_fills")["preview"] == "no breaks"
    assert ("POST", "/api/reconciliation/run", f"Bearer {TOKEN}") in fake_daemon.requests
