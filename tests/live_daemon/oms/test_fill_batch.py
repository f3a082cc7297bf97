"""Fills stored as a batch (``add_fills``) against a real PostgreSQL: the same orders,
events and positions as storing them one by one, whatever the mix of orders, repeats and
duplicates."""

from __future__ import annotations

import random
from decimal import Decimal

from live_daemon.domain import EventKind, OrderStatus
from live_daemon.oms import UnifiedOrderManager
from live_daemon.oms.fill_batch import rounds
from live_daemon.oms.positions import PositionBatch, PositionStore
from tests.live_daemon.oms.test_orders import BINANCE_BTC, fill, request

SEEDS = range(5)


def test_rounds_keep_order_and_never_repeat_an_order() -> None:
    fills = [(BINANCE_BTC, fill(order, f"F{i}", "1", "1")) for i, order in enumerate("AABCBA")]
    cut = rounds(fills)
    assert [[f.order_id for _, f in group] for group in cut] == [["A"], ["A", "B", "C"], ["B", "A"]]
    assert [f for group in cut for f in group] == fills
    assert rounds([]) == []


def _log(events: list[dict]) -> list[tuple]:
    """An order's event log, without what differs between the twin orders."""
    differs = {"payload_hash", "fill_id"}
    return [(e["kind"], {k: v for k, v in e["detail"].items() if k not in differs}) for e in events]


def _order_state(record) -> tuple:
    return (record.status, record.filled_quantity, record.avg_fill_price, len(record.fills))


def test_a_batch_of_fills_equals_the_same_fills_one_by_one(
    oms: UnifiedOrderManager, positions: PositionStore, run
) -> None:
    async def body(seed: int) -> None:
        rng = random.Random(seed)
        one_by_one, batched = [], []
        for i in range(4):
            quantity = Decimal(rng.choice(["1", "2.5", "4"]))
            side = rng.choice(["BUY", "SELL"])
            for ids, prefix in ((one_by_one, "S"), (batched, "B")):
                record, _ = await oms.record_decided(
                    request(f"OP-{seed}-{prefix}{i}", quantity=quantity, side=side,
                            strategy_id=f"strat-{prefix}"),
                    OrderStatus.SUBMITTED, [(EventKind.ROUTED, {})], venue_key=BINANCE_BTC,
                )  # fmt: skip
                ids.append(record.order_id)
        reports = []  # (order index, fill id, quantity, price): repeats are duplicates
        for n in range(rng.randint(5, 30)):
            if reports and rng.random() < 0.15:
                reports.append(rng.choice(reports))
            else:
                reports.append((rng.randrange(4), f"F{n}", rng.choice(["0.5", "1"]),
                                str(rng.randint(90, 110))))  # fmt: skip
        for index, fill_id, qty, price in reports:
            await oms.add_fill(
                BINANCE_BTC, fill(one_by_one[index], f"S{seed}-{fill_id}", qty, price)
            )
        batch = PositionBatch()
        async with oms.transaction() as conn:
            venue_fills = [
                (BINANCE_BTC, fill(batched[index], f"B{seed}-{fill_id}", qty, price))
                for index, fill_id, qty, price in reports
            ]
            new = await oms.add_fills(venue_fills, conn=conn, positions=batch)
            await positions.apply_batch(conn, batch)
        assert len(new) == len({(r[0], r[1]) for r in reports})  # duplicates are not new
        for a, b in zip(one_by_one, batched, strict=True):
            alone, together = await oms.get_order(a), await oms.get_order(b)
            assert _order_state(alone) == _order_state(together)
            assert _log(await oms.events(a)) == _log(await oms.events(b))
        rows = {r["strategy_id"]: r for r in await positions.all() if r["strategy_id"]}
        for field in ("quantity", "avg_entry_price", "realized_pnl", "fees"):
            assert rows.get("strat-S", {}).get(field) == rows.get("strat-B", {}).get(field)

    for seed in SEEDS:
        run(body(seed))
