"""PositionStore against a real PostgreSQL, and its agreement with execution_core."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal

import pytest

from execution_core.accounting.positions import Position, apply_fill
from execution_core.instruments.ids import instrument_family
from live_daemon.domain import EventKind, Fill, OrderRequest, OrderStatus
from live_daemon.oms.positions import apply_fill_decimal, resolve_instrument

BINANCE_BTC = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
OKX_BTC = "OKX:PERPETUAL:BTC-USDT@LIN"
BYBIT_BTC = "CRYPTO:BYBIT:PERPETUAL:BTC-USDT@LIN"
OKX_ETH = "OKX:PERPETUAL:ETH-USDT@LIN"
D = Decimal


def test_decimal_accounting_matches_execution_core_on_random_fills() -> None:
    rng = random.Random(7)
    exact = (D(0), D(0), D(0), D(0))
    approx = Position()
    for _ in range(500):
        qty = D(rng.randint(-300, 300) or 1) / 100
        price = D(rng.randint(9_000, 11_000)) / 100
        fee = D(rng.randint(0, 50)) / 1000
        exact = apply_fill_decimal(*exact, qty, price, fee)
        approx = apply_fill(approx, float(qty), float(price), float(fee))
        assert all(isinstance(v, Decimal) for v in exact)
        assert float(exact[0]) == pytest.approx(approx.quantity, abs=1e-9)
        assert float(exact[1]) == pytest.approx(approx.avg_entry_price, rel=1e-9, abs=1e-9)
        assert float(exact[2]) == pytest.approx(approx.realized_pnl, rel=1e-9, abs=1e-6)
        assert float(exact[3]) == pytest.approx(approx.fees, rel=1e-9)


def test_decimal_accounting_is_exact() -> None:
    state = apply_fill_decimal(D(0), D(0), D(0), D(0), D("0.1"), D("100.1"), D("0.01"))
    state = apply_fill_decimal(*state, D("0.2"), D("100.4"), D("0.02"))
    assert state[0] == D("0.3") and state[1] == D("100.3") and state[3] == D("0.03")
    state = apply_fill_decimal(*state, D("-0.3"), D("100.5"), D("0"))
    assert state[:3] == (D(0), D(0), D("0.06"))  # closed: 0.3 * (100.5 - 100.3)
    with pytest.raises(ValueError):
        apply_fill_decimal(*state, D(0), D(100), D(0))
    with pytest.raises(ValueError):
        apply_fill_decimal(*state, D(1), D(0), D(0))


def test_keys() -> None:
    assert instrument_family(BINANCE_BTC) == "PERPETUAL:BTC-USDT@LIN"
    assert instrument_family(BYBIT_BTC) == "PERPETUAL:BTC-USDT@LIN"
    assert str(resolve_instrument("ANY:PERPETUAL:BTC-USDT@LIN", OKX_BTC)) == OKX_BTC
    assert str(resolve_instrument(OKX_BTC, "OKX")) == OKX_BTC
    assert str(resolve_instrument(OKX_BTC, None)) == OKX_BTC
    with pytest.raises(ValueError, match="concrete venue"):
        resolve_instrument("ANY:PERPETUAL:BTC-USDT@LIN", None)
    with pytest.raises(ValueError, match="not on venue"):
        resolve_instrument(OKX_BTC, "BYBIT")


def test_add_reduce_and_flip(positions, run) -> None:
    async def body() -> None:
        await positions.apply_fill("s1", BINANCE_BTC, None, D(1), D(100), D("0.1"))
        row = await positions.apply_fill("s1", BINANCE_BTC, None, D(1), D(110), D("0.1"))
        assert (row["quantity"], row["avg_entry_price"]) == (D(2), D(105))
        flipped = await positions.apply_fill("s1", BINANCE_BTC, None, D(-3), D(120), D("0.3"))
        assert flipped["quantity"] == D(-1)
        assert flipped["avg_entry_price"] == D(120)  # the rest opens at the fill price
        assert flipped["realized_pnl"] == D(30)  # 2 * (120 - 105)
        assert flipped["fees"] == D("0.5")
        assert flipped["venue_key"] == "BINANCE-FUTURES"
        assert flipped["canonical_key"] == "PERPETUAL:BTC-USDT@LIN"
        closed = await positions.apply_fill("s1", BINANCE_BTC, None, D(1), D(115), D(0))
        assert (closed["quantity"], closed["avg_entry_price"]) == (0, 0)
        assert closed["realized_pnl"] == D(35)  # + 1 * (120 - 115) on the short
        assert await positions.get("s1", BINANCE_BTC) == closed
        assert await positions.all(open_only=True) == []
        assert [p["instrument_key"] for p in await positions.all()] == [BINANCE_BTC]

    run(body())


def test_aggregation_across_venues(positions, run) -> None:
    async def body() -> None:
        await positions.apply_fill("s1", BINANCE_BTC, "BINANCE-FUTURES", D(2), D(100), D(0))
        await positions.apply_fill("s1", OKX_BTC, "OKX", D(1), D(103), D("0.5"))
        await positions.apply_fill("s2", BYBIT_BTC, None, D("-0.5"), D(104), D(0))
        await positions.apply_fill("s2", OKX_ETH, None, D(3), D(2000), D(1))

        everything = await positions.by_instrument()
        assert [p["canonical_key"] for p in everything] == [
            "PERPETUAL:BTC-USDT@LIN",
            "PERPETUAL:ETH-USDT@LIN",
        ]
        btc = everything[0]
        assert btc["quantity"] == D("2.5")
        assert btc["avg_entry_price"] == D(101)  # over the long legs: (2*100 + 1*103) / 3
        assert btc["fees"] == D("0.5")
        assert btc["venues"] == {"BINANCE-FUTURES": D(2), "OKX": D(1), "BYBIT": D("-0.5")}
        assert btc["strategies"] == {"s1": D(3), "s2": D("-0.5")}
        assert btc["instruments"] == sorted([BINANCE_BTC, OKX_BTC, BYBIT_BTC])

        only_s2 = await positions.by_instrument(strategy="s2")
        assert [(p["canonical_key"], p["quantity"]) for p in only_s2] == [
            ("PERPETUAL:BTC-USDT@LIN", D("-0.5")),
            ("PERPETUAL:ETH-USDT@LIN", D(3)),
        ]
        assert only_s2[0]["avg_entry_price"] == D(104)
        assert len(await positions.all(strategy="s1")) == 2

    run(body())


def test_flat_aggregate_has_no_entry_price(positions, run) -> None:
    async def body() -> None:
        await positions.apply_fill("s1", BINANCE_BTC, None, D(1), D(100), D(0))
        await positions.apply_fill("s1", OKX_BTC, None, D(-1), D(101), D(0))
        (btc,) = await positions.by_instrument()
        assert btc["quantity"] == 0 and btc["avg_entry_price"] == 0

    run(body())


def test_concurrent_fills_on_a_new_position_serialise(positions, run) -> None:
    async def body() -> None:
        await asyncio.gather(
            *(positions.apply_fill("s1", OKX_BTC, None, D(1), D(100 + n), D(0)) for n in range(20))
        )
        row = await positions.get("s1", OKX_BTC)
        assert row["quantity"] == D(20)
        assert abs(row["avg_entry_price"] - D("109.5")) < D("1e-20")

    run(body())


def test_oms_fills_move_positions_exactly_once_and_atomically(oms, positions, run) -> None:
    async def body() -> None:
        req = OrderRequest(
            operation_id="OP-1",
            instrument_key="ANY:PERPETUAL:BTC-USDT@LIN",
            side="SELL",
            quantity=D(2),
            order_type="MARKET",
            strategy_id="s1",
        )
        order, _ = await oms.record(req)
        await oms.transition(
            order.order_id, OrderStatus.ACCEPTED, EventKind.ROUTED, {}, venue_key=OKX_BTC
        )
        ts = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
        f1 = Fill("T1", order.order_id, D("1.5"), D(100), D("0.2"), "USDT", "MAKER", ts)
        for _ in range(3):
            await oms.add_fill(OKX_BTC, f1)
        row = await positions.get("s1", OKX_BTC)
        assert (row["quantity"], row["avg_entry_price"], row["fees"]) == (
            D("-1.5"),
            D(100),
            D("0.2"),
        )
        # a fill whose position cannot be updated is not stored either (one transaction)
        bad = Fill("T2", order.order_id, D("0.5"), D(99), D(0), "USDT", "TAKER", ts)
        with pytest.raises(ValueError, match="concrete venue"):
            await oms.add_fill("ANY:PERPETUAL:BTC-USDT@LIN", bad)
        after = await oms.get("OP-1")
        assert after is not None and after.filled_quantity == D("1.5")
        assert [f.fill_id for f in after.fills] == ["T1"]
        assert [e["kind"] for e in await oms.events(order.order_id)][-1] == "filled"
        assert len(await oms.events(order.order_id)) == 3

    run(body())


def test_a_batch_waits_for_a_position_row_another_transaction_creates(oms_pool, run) -> None:
    """A position's first row can be created by another transaction while ``apply_batch``
    runs: the batch waits for it, then applies its fill on top of it (nothing is lost)."""
    from live_daemon.oms.positions import PositionBatch, PositionStore

    store = PositionStore(oms_pool)
    instrument = str(resolve_instrument(BINANCE_BTC, None))

    async def body() -> dict:
        async with oms_pool.acquire() as other, oms_pool.acquire() as conn:
            creating = other.transaction()
            await creating.start()
            await store.apply_fill("race", BINANCE_BTC, None, D(1), D(100), conn=other)
            batch = PositionBatch()
            batch.add("race", BINANCE_BTC, None, D(2), D(110), D(0))

            async def apply() -> int:
                async with conn.transaction():
                    return await store.apply_batch(conn, batch)

            applying = asyncio.create_task(apply())
            await asyncio.sleep(0.3)
            assert not applying.done()  # waiting on the row the other transaction holds
            await creating.commit()
            assert await applying == 1
        row = await store.get("race", instrument)
        assert row is not None
        return row

    row = run(body())
    assert row["quantity"] == D(3)
    assert row["avg_entry_price"] == (D(100) + 2 * D(110)) / 3


def test_a_batch_of_fills_ends_where_fill_by_fill_does(oms_pool, run) -> None:
    """``apply_batch`` (rows locked and written once) and ``apply_fill`` one by one give
    the same rows, over random fills on several strategies, venues and instruments."""
    from live_daemon.oms.positions import PositionBatch, PositionStore

    rng = random.Random(11)
    fills = [
        (
            f"s{rng.randint(1, 3)}",
            rng.choice([BINANCE_BTC, OKX_BTC, BYBIT_BTC, OKX_ETH]),
            D(rng.randint(-300, 300) or 1) / 100,
            D(rng.randint(9_000, 11_000)) / 100,
            D(rng.randint(0, 50)) / 1000,
        )
        for _ in range(200)
    ]
    one_by_one, batched = PositionStore(oms_pool), PositionStore(oms_pool)

    async def body() -> list[list[dict]]:
        results = []
        for suffix, store in (("-a", one_by_one), ("-b", batched)):
            if store is one_by_one:
                for strategy, key, qty, price, fee in fills:
                    await store.apply_fill(strategy + suffix, key, None, qty, price, fee)
            else:
                async with oms_pool.acquire() as conn, conn.transaction():
                    for half in (fills[:120], fills[120:]):  # a row already there, or not
                        batch = PositionBatch()
                        for strategy, key, qty, price, fee in half:
                            batch.add(strategy + suffix, key, None, qty, price, fee)
                        assert await store.apply_batch(conn, batch) > 0
            rows = await store.all()
            results.append(
                [
                    {k: v for k, v in row.items() if k != "updated_at"}
                    | {"strategy_id": row["strategy_id"][:-2]}
                    for row in rows
                    if row["strategy_id"].endswith(suffix)
                ]
            )
        return results

    sequential, batch_result = run(body())
    assert len(sequential) == 12
    assert batch_result == sequential
