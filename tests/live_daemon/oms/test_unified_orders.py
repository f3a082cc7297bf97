"""Migration 0004 (unified_orders for every kind of venue) on a real PostgreSQL: the
orders recorded before it keep their data and replay without a conflict; the new fields
are stored and read back through the OMS (one order and a group commit); the database
guards the operations' rules and has the design's indexes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from live_daemon.domain import EventKind, OrderRequest, OrderStatus
from live_daemon.oms import UnifiedOrderManager, create_pool, migrate
from live_daemon.oms.migrations import _migrate, load_migrations
from live_daemon.operations import Operation, OrderTerms, TimeInForce, VenueType

BINANCE_BTC = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"

# How the daemon recorded a decided order before 0004 (RECORD_DECIDED_SQL of 0003).
_INSERT_0003 = """
INSERT INTO unified_orders (
    order_id, operation_id, strategy_id, instrument_key, side, order_type, quantity, price,
    exec_algorithm, exec_algorithm_params, payload_hash, status, venue_key, rejection_reason
) VALUES ($1, $2, 's1', $3, 'BUY', $4, $5, $6, 'TWAP', $7, $8, $9, $10, $11)
"""


def _request(operation_id: str, **overrides: Any) -> OrderRequest:
    fields: dict[str, Any] = {
        "operation_id": operation_id,
        "instrument_key": BINANCE_BTC,
        "side": "BUY",
        "quantity": Decimal("0.5"),
        "order_type": "LIMIT",
        "price": Decimal("65000.5"),
        "strategy_id": "s1",
        "exec_algorithm": "TWAP",
        "exec_algorithm_params": {"duration_sec": 300, "max_slices": 10},
    }
    return OrderRequest(**{**fields, **overrides})


async def _insert_0003(conn: asyncpg.Connection, request: OrderRequest, **row: Any) -> None:
    await conn.execute(
        _INSERT_0003, row["order_id"], request.operation_id, request.instrument_key,
        request.order_type, request.quantity, request.price, request.exec_algorithm_params,
        request.payload_hash(), row["status"], row.get("venue_key"), row.get("reason"),
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO fills (venue_key, fill_id, order_id, quantity, price, ts) "
        "SELECT $1, $2, $3, $4, $5, now() WHERE $1::text IS NOT NULL",
        row.get("venue_key"), f"F-{row['order_id']}", row["order_id"], Decimal("0.2"),
        Decimal("65000.5"),
    )  # fmt: skip


def test_0004_keeps_the_orders_recorded_before_it(database_url: str, run: Any) -> None:
    routed, rejected = _request("OP-routed"), _request("OP-rejected", quantity=Decimal(9))

    async def body() -> None:
        pool = await create_pool(database_url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await _migrate(conn, [m for m in load_migrations() if m.version <= 3], [])
                await _insert_0003(conn, routed, order_id="O-1", status="SUBMITTED",
                                   venue_key=BINANCE_BTC)  # fmt: skip
                await _insert_0003(conn, rejected, order_id="O-2", status="REJECTED",
                                   reason="order_size: too large")  # fmt: skip
                before = await conn.fetch("SELECT * FROM unified_orders ORDER BY order_id")
            assert await migrate(pool) == ["0004_unified_orders"]
            after = await pool.fetch("SELECT * FROM unified_orders ORDER BY order_id")
            for old, new in zip(before, after, strict=True):
                assert dict(new).items() >= dict(old).items()  # every old column unchanged
            oms = UnifiedOrderManager(pool)
            first = await oms.get("OP-routed", with_fills=True)
            assert first is not None and first.status is OrderStatus.SUBMITTED
            assert first.price == Decimal("65000.5") and len(first.fills) == 1
            assert first.terms == OrderTerms(venue_type=VenueType.NAUTILUS)
            second = await oms.get("OP-rejected")
            assert second is not None and second.rejection_reason == "order_size: too large"
            assert second.terms == OrderTerms()  # never routed: no venue type
            # the same request again is a replay of the old row, not a conflict
            replay, created = await oms.record(routed)
            assert not created and replay.order_id == "O-1"
        finally:
            await pool.close()

    run(body())


BET = OrderTerms(
    Operation.BET,
    odds=Decimal("2.50"),
    selection="HOME",
    atomic_group_id="G-1",
    sequence_in_group=0,
    expected_deltas={"USDT": "-0.5"},
    metadata={"market": "1.234", "tags": ["a", "b"]},
)
SWAP = OrderTerms(
    Operation.SWAP,
    time_in_force=TimeInForce.FOK,
    source_token="USDC",
    target_token="ETH",
    contract_address="0xabc",
    max_slippage=Decimal("0.005"),
)


@pytest.mark.parametrize("terms", [BET, SWAP], ids=["bet", "swap"])
def test_the_terms_are_stored_and_read_back(
    oms: UnifiedOrderManager, run: Any, terms: OrderTerms
) -> None:
    async def body() -> None:
        one = _request("OP-one", terms=terms)
        record, created = await oms.record_decided(
            one, OrderStatus.SUBMITTED, [(EventKind.ROUTED, {})], venue_key=BINANCE_BTC,
            venue_type=VenueType.EXTERNAL_SDK,
        )  # fmt: skip
        assert created
        assert record.terms == replace(terms, venue_type=VenueType.EXTERNAL_SDK)
        plain, _ = await oms.record(_request("OP-plain"))
        assert plain.terms == OrderTerms()
        # several in one loop turn: one group commit (RECORD_DECIDED_MANY_SQL)
        many = [_request(f"OP-{i}", terms=terms) for i in range(3)]
        results = await asyncio.gather(
            *(oms.record_decided(r, OrderStatus.REJECTED, []) for r in many)
        )
        assert [r.terms for r, _ in results] == [terms] * 3
        stored = await oms.get("OP-2")
        assert stored is not None and stored.terms == terms

    run(body())


async def _insert_raw(pool: asyncpg.Pool, **columns: Any) -> None:
    base = {
        "order_id": "O-x", "operation_id": "OP-x", "strategy_id": "s1",
        "instrument_key": BINANCE_BTC, "side": "BUY", "order_type": "MARKET",
        "quantity": Decimal(1), "payload_hash": "h", "status": "RECEIVED",
    }  # fmt: skip
    row = {**base, **columns}
    names = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await pool.execute(f"INSERT INTO unified_orders ({names}) VALUES ({marks})", *row.values())


@pytest.mark.parametrize(
    ("columns", "constraint"),
    [
        ({"operation": "lend"}, "operation_check"),
        ({"operation": "bet", "selection": "HOME"}, "bet_has_odds_and_selection"),
        ({"operation": "bet", "odds": Decimal(1), "selection": "X"}, "odds_check"),
        (
            {"operation": "transfer", "source_venue": "OKX", "target_venue": "OKX"},
            "transfer_has_two_venues",
        ),
        ({"operation": "swap", "source_token": "ETH"}, "swap_has_two_tokens"),
        ({"max_slippage": Decimal(1)}, "max_slippage_check"),
        ({"atomic_group_id": "G-1"}, "atomic_group_has_sequence"),
        ({"venue_type": "CEX"}, "venue_type_check"),
        ({"time_in_force": "GTD"}, "time_in_force_check"),
    ],
)
def test_the_database_guards_the_rules(
    oms_pool: asyncpg.Pool, run: Any, columns: dict[str, Any], constraint: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match=constraint):
        run(_insert_raw(oms_pool, **columns))


def test_the_design_indexes_exist(oms_pool: asyncpg.Pool, run: Any) -> None:
    rows = run(oms_pool.fetch("SELECT indexdef FROM pg_indexes WHERE tablename = 'unified_orders'"))
    columns = {d["indexdef"].split(" USING btree ")[1].split(" WHERE")[0] for d in rows}
    assert columns >= {
        "(operation)", "(atomic_group_id, sequence_in_group)", "(tx_hash)",
        "(operation, status)", "(status, strategy_id)", "(created_at)",
    }  # fmt: skip


def test_terms_survive_jsonb_round_trip_as_text() -> None:
    assert json.loads(json.dumps(BET.as_row()))["odds"] == "2.50"
