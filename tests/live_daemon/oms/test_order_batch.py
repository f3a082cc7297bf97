"""Group commit of new orders (``OrderInsertBatcher``) against a real PostgreSQL: a burst
recorded together gives exactly what recording each order alone gives, replays and
conflicts included, and a bad order in a batch fails alone."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from live_daemon.domain import EventKind, OrderStatus
from live_daemon.oms import UnifiedOrderManager
from live_daemon.oms.order_batch import OrderInsertBatcher
from live_daemon.oms.order_rows import decided_params
from live_daemon.oms.orders import IdempotencyConflict
from tests.live_daemon.oms.test_orders import request

EVENTS = [(EventKind.RISK, {"passed": True}), (EventKind.ROUTED, {"venue_key": "V"})]


class _CountingPool:
    """The pool, counting the statements sent through it."""

    def __init__(self, pool: Any) -> None:
        self.pool, self.statements = pool, 0

    async def fetch(self, *args: Any) -> Any:
        self.statements += 1
        return await self.pool.fetch(*args)

    async def fetchrow(self, *args: Any) -> Any:
        self.statements += 1
        return await self.pool.fetchrow(*args)


def _record(oms: UnifiedOrderManager, operation_id: str, **overrides: Any) -> Any:
    return oms.record_decided(
        request(operation_id, **overrides), OrderStatus.SUBMITTED, EVENTS, venue_key="V"
    )


def test_a_burst_is_recorded_in_few_statements_with_every_order_and_event(oms, run) -> None:
    counting = _CountingPool(oms.pool)
    oms._new_orders = OrderInsertBatcher(counting, max_in_flight=1)  # type: ignore[arg-type]

    async def body() -> list[Any]:
        await _record(oms, "OP-OLD")  # stored before the burst: replayed inside it
        burst = [_record(oms, f"OP-{i:03d}") for i in range(100)]
        burst += [_record(oms, "OP-OLD"), _record(oms, "OP-007"), _record(oms, "OP-007")]
        burst.append(_record(oms, "OP-042", quantity=Decimal("9")))  # same key, other body
        return await asyncio.gather(*burst, return_exceptions=True)

    results = run(body())
    assert counting.statements <= 6  # 1 before the burst, then a handful of batches
    created = [r for r in results[:100] if not isinstance(r, BaseException)]
    assert len(created) == 100 and all(flag for _, flag in created)
    assert len({record.order_id for record, _ in created}) == 100
    old, seven_a, seven_b = results[100:103]
    assert not isinstance(old, BaseException) and old[1] is False
    assert not isinstance(seven_a, BaseException) and not isinstance(seven_b, BaseException)
    assert {seven_a[1], seven_b[1]} == {False}  # OP-007 was created once, by the burst
    assert seven_a[0].order_id == seven_b[0].order_id == created[7][0].order_id
    assert isinstance(results[103], IdempotencyConflict)

    async def stored() -> tuple[int, list[str]]:
        count = await oms.count()
        kinds = [e["kind"] for e in await oms.events(created[55][0].order_id)]
        return count, kinds

    assert run(stored()) == (101, ["submitted", "risk", "routed"])


def test_a_bad_order_fails_alone_and_its_batch_is_recorded(oms, run) -> None:
    async def body() -> list[Any]:
        good = [_record(oms, f"OP-{i}") for i in range(5)]
        params = decided_params(
            "ORD-BAD", request("OP-BAD"), "h", OrderStatus.SUBMITTED, [], None, None
        )
        # a quantity the table's CHECK refuses (the API never lets one through)
        bad = oms._new_orders.insert((*params[:6], Decimal("-1"), *params[7:]))
        return await asyncio.gather(*good, bad, return_exceptions=True)

    results = run(body())
    assert all(not isinstance(r, BaseException) and r[1] for r in results[:5])
    assert isinstance(results[5], Exception) and "quantity_check" in str(results[5])
    assert run(oms.count()) == 5


def test_batcher_limits_are_checked(oms) -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        OrderInsertBatcher(oms.pool, max_batch=0)
