"""The live position store on an inverse contract (Deribit's BTC-PERPETUAL, ``…@INV``)
against a real PostgreSQL: the position is kept in USD contracts under the backtest
ledger's rule (``execution_core.accounting.settlement.apply_fill_for``: harmonic average
entry, realized PnL and fees in BTC), through the single-fill path, the batch path and the
venue-event path; a linear instrument is accounted as before.

The hand computation (fees at Deribit's taker rate, 0.05 % of the BTC traded):

=====================  ==========  =================================================
fill                   BTC traded  position afterwards
=====================  ==========  =================================================
buy 1000 USD @ 50,000  0.02        1000 USD @ 50,000, fee 0.00001 BTC
buy 1000 USD @ 40,000  0.025       2000 USD @ 2000 / 0.045 = 44,444.44…, fee 0.0000125
sell 2000 USD @ 60,000 0.0333…     flat; realized 2000 × (0.045/2000 − 1/60,000)
                                   = 0.045 − 0.0333… = 7/600 = 0.011666… BTC,
                                   fee 0.0005 × 2000/60,000 = 0.0000166… BTC
=====================  ==========  =================================================

Fees in all: 0.00001 + 0.0000125 + 0.0000166… = 0.0000391666… BTC. The linear rule on
the same fills (as the store applied it before) leaves 0.0116… "BTC" open after the
whole 2000 USD was sold, and realizes USD, not BTC.

The OMS hands fills to the store in base units (the venue-event path converts Deribit's
USD sizes with the instrument reference), so the single-fill and batch paths here are
given the BTC a fill traded, as the daemon gives them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from execution_core.accounting.positions import Position
from execution_core.accounting.settlement import apply_fill_for
from execution_core.instruments.reference import load_reference
from execution_core.risk.engine import RiskBook
from live_daemon.domain import EventKind, OrderStatus
from live_daemon.metrics import Metrics
from live_daemon.oms import UnifiedOrderManager
from live_daemon.oms.positions import PositionBatch, PositionStore, apply_fill_decimal
from live_daemon.positions import UnifiedPositionTracker
from live_daemon.venue_events import VenueEventConsumer
from live_daemon.venues.gateway import VenueEvent
from tests.live_daemon.oms.test_orders import BINANCE_BTC, fill, request

DERIBIT_BTC = "DERIBIT:PERPETUAL:BTC-USD@INV"
D = Decimal
TAKER = D("0.0005")

# (signed USD contracts, price): the hand-computed sequence of the module docstring
USD_FILLS = [(D(1000), D(50_000)), (D(1000), D(40_000)), (D(-2000), D(60_000))]
HAND_AVG_AFTER_BUYS = 2000 / (1000 / 50_000 + 1000 / 40_000)  # 44,444.44…
HAND_REALIZED_BTC = 2000 * (1 / HAND_AVG_AFTER_BUYS - 1 / 60_000)  # 7/600
HAND_FEES_BTC = 0.0005 * (1000 / 50_000 + 1000 / 40_000 + 2000 / 60_000)


def _base(usd: Decimal, price: Decimal) -> Decimal:
    """What the OMS hands over: the fill's BTC, as the instrument reference converts it."""
    return load_reference().get(DERIBIT_BTC).base_quantity(usd, price)


def _fee(usd: Decimal, price: Decimal) -> Decimal:
    return TAKER * abs(usd) / price


def _ledger_rule() -> list[Position]:
    """The backtest ledger's rule on the same fills: the position after each."""
    position, after = Position(), []
    for usd, price in USD_FILLS:
        position = apply_fill_for(
            DERIBIT_BTC, position, float(usd), float(price), float(_fee(usd, price))
        )
        after.append(position)
    return after


def _as_position(row: dict[str, Any]) -> Position:
    return Position(
        float(row["quantity"]),
        float(row["avg_entry_price"]),
        float(row["realized_pnl"]),
        float(row["fees"]),
    )


def test_the_ledger_rule_agrees_with_the_hand_computation() -> None:
    first, bought, closed = _ledger_rule()
    assert (first.quantity, first.avg_entry_price, first.fees) == (1000, 50_000, 0.00001)
    assert bought.quantity == 2000 and closed.quantity == 0
    assert bought.avg_entry_price == pytest.approx(HAND_AVG_AFTER_BUYS, rel=1e-12)
    assert bought.avg_entry_price == pytest.approx(44_444.444444444, rel=1e-12)
    assert closed.realized_pnl == pytest.approx(HAND_REALIZED_BTC, rel=1e-12)
    assert closed.realized_pnl == pytest.approx(7 / 600, rel=1e-12)
    assert closed.fees == pytest.approx(HAND_FEES_BTC, rel=1e-12)
    assert closed.fees == pytest.approx(0.0000391666666666, rel=1e-9)


def test_single_fills_follow_the_inverse_rule(positions: PositionStore, run) -> None:
    expected = _ledger_rule()

    async def body() -> None:
        for (usd, price), ledger in zip(USD_FILLS, expected, strict=True):
            row = await positions.apply_fill(
                "s1", DERIBIT_BTC, None, _base(usd, price), price, _fee(usd, price)
            )
            assert _as_position(row) == ledger  # bit for bit the ledger's rule
        after_buys = expected[1]
        assert after_buys.quantity == 2000  # USD contracts, not BTC
        assert after_buys.avg_entry_price == pytest.approx(HAND_AVG_AFTER_BUYS, rel=1e-12)
        assert row["quantity"] == 0 and row["avg_entry_price"] == 0
        assert float(row["realized_pnl"]) == pytest.approx(HAND_REALIZED_BTC, rel=1e-12)
        assert float(row["fees"]) == pytest.approx(HAND_FEES_BTC, rel=1e-12)
        assert (row["venue_key"], row["canonical_key"]) == ("DERIBIT", "PERPETUAL:BTC-USD@INV")

    run(body())


def test_the_position_after_two_buys_is_in_usd_at_the_harmonic_mean(
    positions: PositionStore, run
) -> None:
    async def body() -> None:
        for usd, price in USD_FILLS[:2]:
            row = await positions.apply_fill(
                "s1", DERIBIT_BTC, "DERIBIT", _base(usd, price), price, _fee(usd, price)
            )
        assert row["quantity"] == 2000
        assert float(row["avg_entry_price"]) == pytest.approx(HAND_AVG_AFTER_BUYS, rel=1e-12)
        assert row["realized_pnl"] == 0
        assert float(row["fees"]) == pytest.approx(0.0000225, rel=1e-12)

    run(body())


def test_a_batch_gives_what_single_fills_give(positions: PositionStore, run) -> None:
    (*_, closed) = _ledger_rule()

    async def body() -> None:
        batch = PositionBatch()
        for usd, price in USD_FILLS:
            batch.add("s1", DERIBIT_BTC, None, _base(usd, price), price, _fee(usd, price))
        async with positions.pool.acquire() as conn, conn.transaction():
            assert await positions.apply_batch(conn, batch) == 1
        row = await positions.get("s1", DERIBIT_BTC)
        assert row is not None and _as_position(row) == closed
        for usd, price in USD_FILLS:
            single = await positions.apply_fill(
                "s2", DERIBIT_BTC, None, _base(usd, price), price, _fee(usd, price)
            )
        assert _as_position(single) == _as_position(row)
        assert float(row["realized_pnl"]) == pytest.approx(HAND_REALIZED_BTC, rel=1e-12)

    run(body())


def test_venue_fills_in_usd_reach_the_position_in_usd(
    oms: UnifiedOrderManager, positions: PositionStore, run
) -> None:
    """The daemon's path: Deribit reports USD sizes, the OMS keeps base units, the position
    is in USD contracts under the inverse rule, written once for the batch."""
    consumer = VenueEventConsumer(oms, RiskBook(), load_reference(), Metrics())
    (*_, closed) = _ledger_rule()

    async def order(operation_id: str, side: str, btc: str) -> str:
        record, _ = await oms.record_decided(
            request(
                operation_id,
                instrument_key=DERIBIT_BTC,
                side=side,
                quantity=D(btc),
                exec_algorithm="NORMAL",
            ),
            OrderStatus.SUBMITTED,
            [(EventKind.ROUTED, {})],
            venue_key=DERIBIT_BTC,
        )
        return record.order_id

    async def body() -> None:
        buy, sell = await order("OP-B", "BUY", "0.045"), await order("OP-S", "SELL", "0.04")
        events = [
            VenueEvent(
                "filled",
                order_id,
                DERIBIT_BTC,
                fill=fill(
                    order_id,
                    f"F-{n}",
                    str(abs(usd)),
                    str(price),
                    fee=_fee(usd, price),
                    fee_currency="BTC",
                ),
            )
            for n, ((usd, price), order_id) in enumerate(
                zip(USD_FILLS, [buy, buy, sell], strict=True)
            )
        ]
        await consumer.apply_batch(events)
        stored = await oms.get_order(buy)
        assert stored is not None and stored.filled_quantity == D("0.045")  # base units
        (row,) = await positions.all()
        assert _as_position(row) == closed
        assert row["quantity"] == 0
        assert float(row["realized_pnl"]) == pytest.approx(7 / 600, rel=1e-12)

    run(body())


def test_the_aggregate_averages_inverse_legs_harmonically(positions: PositionStore, run) -> None:
    async def body() -> None:
        for strategy, (usd, price) in zip(("s1", "s2"), USD_FILLS[:2], strict=True):
            await positions.apply_fill(
                strategy, DERIBIT_BTC, None, _base(usd, price), price, _fee(usd, price)
            )
        (aggregate,) = await positions.by_instrument()
        assert aggregate["canonical_key"] == "PERPETUAL:BTC-USD@INV"
        assert aggregate["quantity"] == 2000
        assert float(aggregate["avg_entry_price"]) == pytest.approx(HAND_AVG_AFTER_BUYS, 1e-12)
        rows = await UnifiedPositionTracker(positions).rows()
        assert {row["settlement_currency"] for row in rows} == {"BTC"}
        assert len(rows) == 3  # two legs and their aggregate

    run(body())


def test_a_linear_instrument_is_accounted_as_before(positions: PositionStore, run) -> None:
    """Base units, arithmetic average, PnL and fees in USDT, exact Decimals: the linear
    rule as the store always applied it (``apply_fill_decimal`` without a key)."""
    fills = [(D(1), D(100), D("0.1")), (D(1), D(110), D("0.1")), (D(-2), D(120), D("0.2"))]

    async def body() -> None:
        state = (D(0), D(0), D(0), D(0))
        for qty, price, fee in fills:
            row = await positions.apply_fill("s1", BINANCE_BTC, None, qty, price, fee)
            state = apply_fill_decimal(*state, qty, price, fee)
            assert (
                row["quantity"], row["avg_entry_price"], row["realized_pnl"], row["fees"]
            ) == state  # fmt: skip
        assert state == (D(0), D(0), D(30), D("0.4"))  # 2 × (120 − 105)
        batch = PositionBatch()
        for qty, price, fee in fills:
            batch.add("s2", BINANCE_BTC, None, qty, price, fee)
        async with positions.pool.acquire() as conn, conn.transaction():
            await positions.apply_batch(conn, batch)
        batched = await positions.get("s2", BINANCE_BTC)
        assert batched is not None and batched["realized_pnl"] == D(30)
        rows = await UnifiedPositionTracker(positions).rows()
        assert {row["settlement_currency"] for row in rows} == {"USDT"}

    run(body())
