"""The stand-in's record: orders (by id, with their latest state and label), trades and the
positions they add up to survive closing and reopening the file."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from live_daemon.venues.deribit.messages import (
    Direction,
    Liquidity,
    Order,
    OrderState,
    OrderType,
    Trade,
)
from live_daemon.venues.deribit.standin.model import StandinOrder, StandinTrade
from live_daemon.venues.deribit.standin.record import StandinRecord


def order(order_id: str, label: str) -> StandinOrder:
    return StandinOrder(
        order_id=order_id, instrument_name="BTC-PERPETUAL", direction=Direction.buy,
        order_type=OrderType.limit, amount=D(20), price=D("50000.5"), label=label,
        time_in_force="good_til_cancelled", post_only=False, reduce_only=False,
        creation_timestamp=1, last_update_timestamp=1,
    )  # fmt: skip


def trade(order_id: str, n: int, amount: D, price: D) -> StandinTrade:
    return StandinTrade(
        trade_id=f"BTC-{n}", trade_seq=n, order_id=order_id, instrument_name="BTC-PERPETUAL",
        direction=Direction.buy, price=price, amount=amount, fee=D("0.00000020"),
        fee_currency="BTC", liquidity=Liquidity.maker, timestamp=2, order_type=OrderType.limit,
        label="ours-1", state=OrderState.filled,
    )  # fmt: skip


def test_orders_trades_and_positions_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "record.sqlite"
    record = StandinRecord(path)
    first, second = order("BTC-1", "ours-1"), order("BTC-2", "")
    record.write([first, second], [])
    first.filled_amount, first.average_price = D(20), D("50000.5")
    first.order_state, first.last_update_timestamp = OrderState.filled, 2
    record.write(
        [first], [trade("BTC-1", 1, D(10), D("50000.5")), trade("BTC-1", 2, D(10), D(50000))]
    )
    record.close()

    loaded = StandinRecord(path).load()
    assert list(loaded.orders) == ["BTC-1", "BTC-2"]
    again = loaded.orders["BTC-1"]
    assert again == first and again.label == "ours-1" and not again.is_open
    assert [t.trade_id for t in loaded.trades] == ["BTC-1", "BTC-2"]
    assert loaded.trades[0] == trade("BTC-1", 1, D(10), D("50000.5"))
    assert loaded.positions["BTC-PERPETUAL"].size == D(20)
    # the wire shapes still parse with the protocol layer's models
    Order.model_validate(again.wire())
    Trade.model_validate(loaded.trades[1].wire())
