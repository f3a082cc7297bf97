"""UnifiedOrderManager against a real PostgreSQL: write-ahead, idempotency, transitions,
fills, queries and the database's own guards."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from execution_core.errors import ExecutionServicesError
from live_daemon.domain import EventKind, Fill, OrderRequest, OrderStatus
from live_daemon.oms import (
    IdempotencyConflict,
    InvalidTransition,
    OrderNotFound,
    UnifiedOrderManager,
    new_order_id,
)

BINANCE_BTC = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
OKX_BTC = "OKX:PERPETUAL:BTC-USDT@LIN"
ANY_BTC = "ANY:PERPETUAL:BTC-USDT@LIN"
BYBIT_ETH = "CRYPTO:BYBIT:PERPETUAL:ETH-USDT@LIN"
T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def request(operation_id: str = "OP-1", **overrides: Any) -> OrderRequest:
    fields: dict[str, Any] = {
        "operation_id": operation_id,
        "instrument_key": BINANCE_BTC,
        "side": "BUY",
        "quantity": Decimal("1.0"),
        "order_type": "MARKET",
        "strategy_id": "momentum-btc-v1",
        "exec_algorithm": "TWAP",
        "exec_algorithm_params": {"duration_sec": 300, "max_slices": 10},
    }
    fields.update(overrides)
    return OrderRequest(**fields)


def fill(order_id: str, fill_id: str, quantity: str, price: str, **overrides: Any) -> Fill:
    fields: dict[str, Any] = {
        "fill_id": fill_id,
        "order_id": order_id,
        "quantity": Decimal(quantity),
        "price": Decimal(price),
        "fee": Decimal("0.01"),
        "fee_currency": "USDT",
        "liquidity_side": "TAKER",
        "ts": T0,
    }
    fields.update(overrides)
    return Fill(**fields)


async def submitted(oms: UnifiedOrderManager, operation_id: str, venue_key: str = BINANCE_BTC):
    record, _ = await oms.record(request(operation_id))
    await oms.transition(
        record.order_id, OrderStatus.ACCEPTED, EventKind.ROUTED, {}, venue_key=venue_key
    )
    return await oms.transition(record.order_id, OrderStatus.SUBMITTED, EventKind.ACKNOWLEDGED, {})


# --- record: write-ahead and idempotency --------------------------------------------------


def test_record_is_committed_before_it_returns(oms, oms_database_url, run) -> None:
    async def body() -> None:
        req = request(quantity=Decimal("0.123456789012345678"), price=None)
        record, created = await oms.record(req)
        assert created
        assert record.order_id.startswith("ORD-") and len(record.order_id) == 30
        assert record.status is OrderStatus.RECEIVED
        assert record.quantity == Decimal("0.123456789012345678")
        assert record.exec_algorithm_params == {"duration_sec": 300, "max_slices": 10}
        assert record.payload_hash == req.payload_hash()
        assert record.venue_key is None and record.fills == ()
        assert record.filled_quantity == 0 and record.avg_fill_price is None
        # another session (not the pool) sees the order and its event at once
        other = await asyncpg.connect(oms_database_url)
        try:
            row = await other.fetchrow(
                "SELECT status, quantity, operation_id FROM unified_orders WHERE order_id = $1",
                record.order_id,
            )
            assert dict(row) == {
                "status": "RECEIVED",
                "quantity": Decimal("0.123456789012345678"),
                "operation_id": "OP-1",
            }
            kinds = await other.fetch(
                "SELECT kind FROM order_events WHERE order_id = $1", record.order_id
            )
            assert [k["kind"] for k in kinds] == ["submitted"]
        finally:
            await other.close()

    run(body())


def test_same_request_twice_returns_the_same_order(oms, run) -> None:
    async def body() -> None:
        first, created_first = await oms.record(request())
        again, created_again = await oms.record(request())
        assert (created_first, created_again) == (True, False)
        assert again == first
        assert await oms.count() == 1
        assert len(await oms.events(first.order_id)) == 1

    run(body())


def test_duplicate_returns_current_state_with_fills(oms, run) -> None:
    async def body() -> None:
        order = await submitted(oms, "OP-1")
        await oms.add_fill(BINANCE_BTC, fill(order.order_id, "T1", "0.4", "100"))
        again, created = await oms.record(request("OP-1"))
        assert not created
        assert again.status is OrderStatus.PARTIALLY_FILLED
        assert [f.fill_id for f in again.fills] == ["T1"]

    run(body())


def test_same_operation_id_with_another_payload_conflicts(oms, run) -> None:
    async def body() -> None:
        record, _ = await oms.record(request())
        with pytest.raises(IdempotencyConflict) as excinfo:
            await oms.record(request(quantity=Decimal("2")))
        assert excinfo.value.operation_id == "OP-1"
        assert excinfo.value.existing_order_id == record.order_id
        assert isinstance(excinfo.value, ExecutionServicesError)
        # a quantity that normalises to the same value is the same request
        _, created = await oms.record(request(quantity=Decimal("1.000")))
        assert not created
        assert await oms.count() == 1

    run(body())


def test_concurrent_identical_requests_create_one_order(oms, run) -> None:
    async def body() -> None:
        results = await asyncio.gather(*(oms.record(request("OP-RACE")) for _ in range(50)))
        assert sum(created for _, created in results) == 1
        assert len({record.order_id for record, _ in results}) == 1
        assert await oms.count() == 1
        (order,) = await oms.list()
        assert len(await oms.events(order.order_id)) == 1

    run(body())


def test_concurrent_conflicting_requests_have_one_winner(oms, run) -> None:
    async def body() -> None:
        requests = [request("OP-RACE", quantity=Decimal(n)) for n in range(1, 21)]
        results = await asyncio.gather(*(oms.record(r) for r in requests), return_exceptions=True)
        winners = [r for r in results if not isinstance(r, BaseException)]
        assert len(winners) == 1 and winners[0][1] is True
        assert all(isinstance(r, IdempotencyConflict) for r in results if r not in winners)
        assert await oms.count() == 1

    run(body())


def test_order_ids_sort_in_creation_order() -> None:
    ids = [new_order_id() for _ in range(2000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


# --- transitions --------------------------------------------------------------------------


def test_transitions_update_fields_and_append_events(oms, run) -> None:
    async def body() -> None:
        record, _ = await oms.record(request(instrument_key=ANY_BTC))
        accepted = await oms.transition(
            record.order_id,
            OrderStatus.ACCEPTED,
            EventKind.ROUTED,
            {"scores": {OKX_BTC: Decimal("1.25")}},
            venue_key=OKX_BTC,
        )
        assert accepted.status is OrderStatus.ACCEPTED and accepted.venue_key == OKX_BTC
        assert accepted.updated_at >= record.updated_at
        sent = await oms.transition(
            record.order_id, "SUBMITTED", "acknowledged", {}, venue_order_id="okx-778"
        )
        assert sent.venue_key == OKX_BTC  # None leaves a field unchanged
        canceled = await oms.transition(
            record.order_id, OrderStatus.CANCELED, EventKind.CANCELLED, {"by": "user"}
        )
        assert canceled.status is OrderStatus.CANCELED
        events = await oms.events(record.order_id)
        assert [e["kind"] for e in events] == ["submitted", "routed", "acknowledged", "cancelled"]
        assert events[1]["detail"] == {"status": "ACCEPTED", "scores": {OKX_BTC: "1.25"}}
        assert events[3]["detail"] == {"status": "CANCELED", "by": "user"}
        assert [e["event_id"] for e in events] == sorted(e["event_id"] for e in events)
        venue_order_id = await oms.pool.fetchval(
            "SELECT venue_order_id FROM unified_orders WHERE order_id = $1", record.order_id
        )
        assert venue_order_id == "okx-778"

    run(body())


def test_final_statuses_are_never_left(oms, run) -> None:
    async def body() -> None:
        for final in (OrderStatus.REJECTED, OrderStatus.CANCELED, OrderStatus.FILLED):
            record, _ = await oms.record(request(f"OP-{final}"))
            reason = "risk: max order size" if final is OrderStatus.REJECTED else None
            done = await oms.transition(
                record.order_id, final, EventKind.REJECTED, {}, rejection_reason=reason
            )
            assert done.rejection_reason == reason
            for target in (OrderStatus.ACCEPTED, OrderStatus.CANCELED, final):
                with pytest.raises(InvalidTransition) as excinfo:
                    await oms.transition(record.order_id, target, EventKind.CANCELLED, {})
                assert excinfo.value.current is final
            after = await oms.get(record.operation_id)
            assert after is not None and after.status is final
            assert len(await oms.events(record.order_id)) == 2  # nothing appended
        record, _ = await oms.record(request("OP-BACK"))
        with pytest.raises(InvalidTransition):
            await oms.transition(record.order_id, OrderStatus.RECEIVED, EventKind.RISK, {})
        with pytest.raises(OrderNotFound):
            await oms.transition("ORD-NOPE", OrderStatus.ACCEPTED, EventKind.RISK, {})

    run(body())


def test_racing_final_transitions_have_one_winner(oms, run) -> None:
    async def body() -> None:
        order = await submitted(oms, "OP-1")
        results = await asyncio.gather(
            *(
                oms.transition(order.order_id, status, EventKind.CANCELLED, {})
                for status in [OrderStatus.CANCELED, OrderStatus.REJECTED] * 10
            ),
            return_exceptions=True,
        )
        ok = [r for r in results if not isinstance(r, BaseException)]
        assert len(ok) == 1
        assert all(isinstance(r, InvalidTransition) for r in results if r not in ok)
        assert len(await oms.events(order.order_id)) == 4

    run(body())


# --- fills --------------------------------------------------------------------------------


def test_average_fill_price_is_exact_after_many_fills(oms, run) -> None:
    """A VWAP's fills (from the demo): a running average divided again at every fill gave
    2269.0324000000000000166387; the stored average is exact, fill by fill and batched."""
    fills = [("0.196", "2269.09"), ("0.104", "2269.07"), ("0.104", "2269.23"), ("0.196", "2268.85")]
    notional = sum(Decimal(q) * Decimal(p) for q, p in fills)
    exact = notional / sum(Decimal(q) for q, _ in fills)
    assert exact == Decimal("2269.0324")

    async def body() -> tuple[Decimal | None, Decimal | None]:
        alone = await submitted(oms, "OP-ALONE")
        for i, (qty, price) in enumerate(fills):
            record, _ = await oms.add_fill(BINANCE_BTC, fill(alone.order_id, f"A{i}", qty, price))
        together = await submitted(oms, "OP-TOGETHER")
        async with oms.transaction() as conn:
            venue_fills = [
                (BINANCE_BTC, fill(together.order_id, f"B{i}", qty, price))
                for i, (qty, price) in enumerate(fills)
            ]
            for one in venue_fills:  # a round per fill: one order
                await oms.add_fills([one], conn=conn)
        batched = await oms.get_order(together.order_id)
        assert batched is not None
        return record.avg_fill_price, batched.avg_fill_price

    assert run(body()) == (Decimal("2269.0324"), Decimal("2269.0324"))


def test_partial_then_full_fill(oms, run) -> None:
    async def body() -> None:
        order = await submitted(oms, "OP-1")
        partial, new = await oms.add_fill(BINANCE_BTC, fill(order.order_id, "T1", "0.25", "100"))
        assert new
        assert partial.status is OrderStatus.PARTIALLY_FILLED
        assert (partial.filled_quantity, partial.avg_fill_price) == (Decimal("0.25"), 100)
        assert [f.fill_id for f in partial.fills] == ["T1"]
        t2 = fill(order.order_id, "T2", "0.75", "104", ts=T0 + dt.timedelta(seconds=1))
        full, new = await oms.add_fill(BINANCE_BTC, t2)
        assert new and full.status is OrderStatus.FILLED
        assert full.filled_quantity == Decimal("1.0")
        assert full.avg_fill_price == Decimal("103")  # (0.25*100 + 0.75*104) / 1
        assert [f.fill_id for f in full.fills] == ["T1", "T2"]
        assert full.fills[1] == t2
        events = await oms.events(order.order_id)
        assert [e["kind"] for e in events][-2:] == ["filled", "filled"]
        assert events[-1]["detail"] == {
            "fill_id": "T2",
            "venue_key": BINANCE_BTC,
            "quantity": "0.75",
            "price": "104",
            "fee": "0.01",
            "fee_currency": "USDT",
            "liquidity_side": "TAKER",
            "ts": t2.ts.isoformat(),
            "filled_quantity": "1.00",
            "avg_fill_price": "103",
            "status": "FILLED",
        }
        fetched = await oms.get("OP-1")
        assert fetched == full
        assert await oms.in_flight() == []

    run(body())


def test_a_fill_reported_twice_is_stored_once(oms, positions, run) -> None:
    async def body() -> None:
        order = await submitted(oms, "OP-1")
        t1 = fill(order.order_id, "T1", "0.4", "100")
        first, new_first = await oms.add_fill(BINANCE_BTC, t1)
        again, new_again = await oms.add_fill(BINANCE_BTC, t1)
        assert (new_first, new_again) == (True, False)
        assert again.filled_quantity == Decimal("0.4") and again.updated_at == first.updated_at
        assert len(again.fills) == 1
        assert len(await oms.events(order.order_id)) == 4  # submitted, routed, ack, filled
        position = await positions.get("momentum-btc-v1", BINANCE_BTC)
        assert position["quantity"] == Decimal("0.4")  # moved exactly once
        # concurrent duplicates of another fill: still once
        t2 = fill(order.order_id, "T2", "0.1", "101")
        results = await asyncio.gather(*(oms.add_fill(BINANCE_BTC, t2) for _ in range(20)))
        assert sum(new for _, new in results) == 1
        final = await oms.get("OP-1")
        assert final is not None and final.filled_quantity == Decimal("0.5")
        position = await positions.get("momentum-btc-v1", BINANCE_BTC)
        assert position["quantity"] == Decimal("0.5")
        # the same trade id on another instrument is another fill
        _, new_elsewhere = await oms.add_fill(OKX_BTC, fill(order.order_id, "T1", "0.1", "99"))
        assert new_elsewhere

    run(body())


def test_concurrent_fills_of_one_order_add_up(oms, run) -> None:
    async def body() -> None:
        order = await submitted(oms, "OP-1")
        prices = [Decimal(100 + n) for n in range(20)]
        await asyncio.gather(
            *(
                oms.add_fill(BINANCE_BTC, fill(order.order_id, f"T{n}", "0.05", str(p)))
                for n, p in enumerate(prices)
            )
        )
        final = await oms.get("OP-1")
        assert final is not None
        assert final.filled_quantity == Decimal("1.00")
        assert final.status is OrderStatus.FILLED
        assert final.avg_fill_price is not None
        assert abs(final.avg_fill_price - sum(prices) / 20) < Decimal("1e-12")
        assert len(final.fills) == 20

    run(body())


def test_fills_after_cancel_are_recorded(oms, run) -> None:
    async def body() -> None:
        order = await submitted(oms, "OP-1")
        await oms.transition(order.order_id, OrderStatus.CANCELED, EventKind.CANCELLED, {})
        late, new = await oms.add_fill(BINANCE_BTC, fill(order.order_id, "T1", "0.3", "100"))
        assert new and late.status is OrderStatus.CANCELED
        assert late.filled_quantity == Decimal("0.3")
        rest, _ = await oms.add_fill(BINANCE_BTC, fill(order.order_id, "T2", "0.7", "100"))
        assert rest.status is OrderStatus.FILLED  # the venue filled it all: that is the truth

    run(body())


def test_fill_for_an_unknown_order_is_refused(oms, run) -> None:
    async def body() -> None:
        with pytest.raises(OrderNotFound, match="ORD-NOPE"):
            await oms.add_fill(BINANCE_BTC, fill("ORD-NOPE", "T1", "1", "100"))
        assert await oms.pool.fetchval("SELECT count(*) FROM fills") == 0

    run(body())


def test_without_position_store_fills_still_work(oms_pool, run) -> None:
    async def body() -> None:
        oms = UnifiedOrderManager(oms_pool)
        order = await submitted(oms, "OP-1")
        record, new = await oms.add_fill(BINANCE_BTC, fill(order.order_id, "T1", "1", "100"))
        assert new and record.status is OrderStatus.FILLED
        assert await oms_pool.fetchval("SELECT count(*) FROM unified_positions") == 0

    run(body())


# --- queries ------------------------------------------------------------------------------


def test_get_and_events_of_unknown_things(oms, run) -> None:
    async def body() -> None:
        assert await oms.get("OP-NONE") is None
        assert await oms.get_order("ORD-NONE") is None
        assert await oms.events("ORD-NONE") == []
        assert await oms.count() == 0

    run(body())


def test_get_without_fills(oms, run) -> None:
    async def body() -> None:
        order = await submitted(oms, "OP-1")
        await oms.add_fill(BINANCE_BTC, fill(order.order_id, "T1", "0.5", "100"))
        assert len((await oms.get("OP-1")).fills) == 1
        bare = await oms.get("OP-1", with_fills=False)
        assert bare is not None and bare.fills == () and bare.filled_quantity == Decimal("0.5")
        by_id = await oms.get_order(order.order_id)
        assert by_id == await oms.get("OP-1")

    run(body())


def test_list_filters(oms, run) -> None:
    async def body() -> None:
        a = await submitted(oms, "OP-A", venue_key=BINANCE_BTC)  # SUBMITTED on Binance
        b_rec, _ = await oms.record(request("OP-B", instrument_key=ANY_BTC, strategy_id="mr"))
        b = await oms.transition(
            b_rec.order_id, OrderStatus.ACCEPTED, EventKind.ROUTED, {}, venue_key=OKX_BTC
        )
        c_rec, _ = await oms.record(request("OP-C", instrument_key=BYBIT_ETH, side="SELL"))
        c = await oms.transition(
            c_rec.order_id,
            OrderStatus.REJECTED,
            EventKind.REJECTED,
            {},
            rejection_reason="limit",
        )
        d, _ = await oms.record(request("OP-D", instrument_key=ANY_BTC))  # RECEIVED, unrouted

        def ids(records) -> list[str]:
            return [r.operation_id for r in records]

        assert ids(await oms.list()) == ["OP-D", "OP-C", "OP-B", "OP-A"]  # newest first
        assert ids(await oms.list(limit=2)) == ["OP-D", "OP-C"]
        assert ids(await oms.list(status="REJECTED")) == ["OP-C"]
        assert ids(await oms.list(status=[OrderStatus.ACCEPTED, "SUBMITTED"])) == ["OP-B", "OP-A"]
        assert ids(await oms.list(venue="OKX")) == ["OP-B"]
        assert ids(await oms.list(venue="BINANCE-FUTURES")) == ["OP-A"]
        assert ids(await oms.list(venue="BYBIT")) == ["OP-C"]  # asset-class prefix handled
        assert ids(await oms.list(venue="ANY")) == ["OP-D"]
        assert ids(await oms.list(instrument=OKX_BTC)) == ["OP-B"]  # matches venue_key
        assert ids(await oms.list(instrument=ANY_BTC)) == ["OP-D", "OP-B"]
        assert ids(await oms.list(strategy="mr")) == ["OP-B"]
        assert ids(await oms.list(strategy="mr", venue="BINANCE-FUTURES")) == []
        assert ids(await oms.list(since=b.created_at)) == ["OP-D", "OP-C", "OP-B"]
        assert ids(await oms.list(until=b.created_at)) == ["OP-A"]
        assert ids(await oms.list(since=a.created_at, until=c.created_at)) == ["OP-B", "OP-A"]
        assert ids(await oms.list(strategy="x' OR '1'='1")) == []  # values are parameters
        assert (await oms.list(with_fills=False))[0].fills == ()
        assert d.venue_key is None
        with pytest.raises(ValueError):
            await oms.list(status="BOGUS")
        with pytest.raises(ValueError):
            await oms.list(limit=0)

    run(body())


def test_in_flight(oms, run) -> None:
    async def body() -> None:
        await oms.record(request("OP-R"))
        accepted, _ = await oms.record(request("OP-A"))
        await oms.transition(accepted.order_id, OrderStatus.ACCEPTED, EventKind.ROUTED, {})
        await submitted(oms, "OP-S")
        partial = await submitted(oms, "OP-P")
        await oms.add_fill(BINANCE_BTC, fill(partial.order_id, "T1", "0.5", "100"))
        filled = await submitted(oms, "OP-F")
        await oms.add_fill(BINANCE_BTC, fill(filled.order_id, "T2", "1", "100"))
        rejected, _ = await oms.record(request("OP-X"))
        await oms.transition(rejected.order_id, OrderStatus.REJECTED, EventKind.RISK, {})

        flying = await oms.in_flight()
        assert [r.operation_id for r in flying] == ["OP-A", "OP-S", "OP-P"]  # oldest first
        assert flying[2].fills and flying[2].status is OrderStatus.PARTIALLY_FILLED
        with_received = await oms.in_flight(include_received=True)
        assert [r.operation_id for r in with_received] == ["OP-R", "OP-A", "OP-S", "OP-P"]

    run(body())


# --- the database's own guards --------------------------------------------------------------


def test_order_events_are_append_only(oms, oms_pool, run) -> None:
    async def body() -> None:
        record, _ = await oms.record(request())
        for statement in (
            "UPDATE order_events SET kind = 'risk'",
            "DELETE FROM order_events",
            "TRUNCATE order_events",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await oms_pool.execute(statement)
        events = await oms.events(record.order_id)
        assert [e["kind"] for e in events] == ["submitted"]
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await oms_pool.execute("DELETE FROM unified_orders")

    run(body())


def test_constraints_reject_bad_rows(oms, oms_pool, run) -> None:
    async def body() -> None:
        with pytest.raises(asyncpg.CheckViolationError, match="quantity"):
            await oms.record(request("OP-ZERO", quantity=Decimal(0)))
        with pytest.raises(asyncpg.CheckViolationError, match="quantity"):
            await oms.record(request("OP-NEG", quantity=Decimal("-1")))
        with pytest.raises(asyncpg.CheckViolationError, match="limit_order_has_price"):
            await oms.record(request("OP-LIMIT", order_type="LIMIT", price=None))
        with pytest.raises(asyncpg.CheckViolationError, match="side"):
            await oms.record(request("OP-SIDE", side="HOLD"))
        assert await oms.count() == 0
        assert await oms_pool.fetchval("SELECT count(*) FROM order_events") == 0
        record, _ = await oms.record(request())
        with pytest.raises(asyncpg.CheckViolationError):
            await oms_pool.execute(
                "UPDATE unified_orders SET status = 'LOST' WHERE order_id = $1", record.order_id
            )
        with pytest.raises(asyncpg.CheckViolationError):
            await oms_pool.execute(
                "INSERT INTO order_events (order_id, kind) VALUES ($1, 'gossip')", record.order_id
            )
        with pytest.raises(asyncpg.CheckViolationError):
            await oms.add_fill(BINANCE_BTC, fill(record.order_id, "T0", "0", "100"))
        with pytest.raises(asyncpg.UniqueViolationError):
            await oms_pool.execute(
                "INSERT INTO unified_orders (order_id, operation_id, strategy_id, "
                "instrument_key, side, order_type, quantity, payload_hash, status) "
                "VALUES ('ORD-X', 'OP-1', 's', 'k', 'BUY', 'MARKET', 1, 'h', 'RECEIVED')"
            )

    run(body())


def test_jsonb_round_trips(oms, run) -> None:
    async def body() -> None:
        params = {"duration_sec": 300, "participation": 0.1, "nested": {"a": [1, "b", None]}}
        record, _ = await oms.record(request(exec_algorithm_params=params))
        assert record.exec_algorithm_params == params
        # Decimals in event details are stored as strings (as on the REST API)
        await oms.transition(record.order_id, "ACCEPTED", "risk", {"notional": Decimal("1e-8")})
        events = await oms.events(record.order_id)
        assert events[-1]["detail"]["notional"] == "1E-8"

    run(body())


def test_record_decided_writes_state_and_events_in_one_commit(oms, oms_database_url, run) -> None:
    async def body() -> None:
        events = [(EventKind.RISK, {"passed": True}), (EventKind.ROUTED, {"venue_key": "X"})]
        record, created = await oms.record_decided(
            request("OP-D"), OrderStatus.SUBMITTED, events, venue_key="BYBIT:PERPETUAL:BTC-USDT@LIN"
        )
        assert created and record.status is OrderStatus.SUBMITTED
        assert record.venue_key == "BYBIT:PERPETUAL:BTC-USDT@LIN"
        other = await asyncpg.connect(oms_database_url)  # committed: visible elsewhere
        try:
            kinds = [r["kind"] for r in await other.fetch(
                "SELECT kind FROM order_events WHERE order_id = $1 ORDER BY event_id",
                record.order_id,
            )]  # fmt: skip
        finally:
            await other.close()
        assert kinds == ["submitted", "risk", "routed"]
        again, created_again = await oms.record_decided(
            request("OP-D"), OrderStatus.SUBMITTED, events
        )
        assert not created_again and again.order_id == record.order_id
        rejected, _ = await oms.record_decided(
            request("OP-R"), OrderStatus.REJECTED, [(EventKind.RISK, {"passed": False})],
            rejection_reason="POSITION_LIMIT_INSTRUMENT: too big",
        )  # fmt: skip
        assert rejected.status is OrderStatus.REJECTED
        assert rejected.rejection_reason == "POSITION_LIMIT_INSTRUMENT: too big"
        with pytest.raises(IdempotencyConflict):
            await oms.record_decided(
                request("OP-D", quantity=Decimal("2")), OrderStatus.SUBMITTED, events
            )

    run(body())
