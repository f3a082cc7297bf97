"""The stand-in's matching rules: order checks with Deribit's codes, fills at the touch,
resting orders crossed by the book, inverse fees and positions."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from execution_core.instruments.reference import load_reference
from live_daemon.venues.deribit.errors import DeribitErrorCode
from live_daemon.venues.deribit.messages import Direction, Liquidity, OrderType
from live_daemon.venues.deribit.standin import matching as m
from live_daemon.venues.deribit.standin.instruments import listing, listings
from live_daemon.venues.deribit.standin.model import PositionState, Touch

BTC = listing(load_reference(), "DERIBIT:PERPETUAL:BTC-USD@INV")
TOUCH = Touch(bid=D("50000"), bid_amount=D(1000), ask=D("50000.5"), ask_amount=D(1000))


def test_listing_maps_canonical_keys_to_deribit_names_and_specs() -> None:
    found = listings(
        load_reference(), ["DERIBIT:PERPETUAL:BTC-USD@INV", "DERIBIT:PERPETUAL:ETH-USD@INV"]
    )
    assert set(found) == {"BTC-PERPETUAL", "ETH-PERPETUAL"}
    assert (BTC.currency, BTC.contract_size, BTC.tick_size) == ("BTC", D(10), D("0.5"))
    assert found["ETH-PERPETUAL"].contract_size == D(1)
    with pytest.raises(ValueError, match="not a DERIBIT instrument"):
        listing(load_reference(), "OKX:PERPETUAL:BTC-USDT@LIN")


@pytest.mark.parametrize(
    ("name", "amount", "price", "code", "param"),
    [
        (
            "BTC-27DEC99",
            D(10),
            D(1),
            DeribitErrorCode.invalid_or_unsupported_instrument,
            "instrument_name",
        ),
        ("BTC-PERPETUAL", D(15), D(50000), DeribitErrorCode.invalid_arguments, "amount"),
        ("BTC-PERPETUAL", D(10), D("50000.3"), DeribitErrorCode.price_wrong_tick, "price"),
        ("BTC-PERPETUAL", D(10), None, DeribitErrorCode.invalid_params, "price"),
    ],
)
def test_bad_orders_get_deribits_code_naming_the_field(
    name: str, amount: D, price: D | None, code: DeribitErrorCode, param: str
) -> None:
    known = BTC if name == "BTC-PERPETUAL" else None
    with pytest.raises(m.OrderReject) as caught:
        m.check_order(known, name, OrderType.limit, amount, price)
    assert caught.value.code is code and caught.value.data["param"] == param


def test_good_orders_pass() -> None:
    assert m.check_order(BTC, "BTC-PERPETUAL", OrderType.limit, D(20), D("50000.5")) is BTC
    assert m.check_order(BTC, "BTC-PERPETUAL", OrderType.market, D(10), None) is BTC


def test_market_orders_take_the_touch_and_limits_cross_only_through_it() -> None:
    assert m.taker_price(Direction.buy, TOUCH) == D("50000.5")
    assert m.taker_price(Direction.sell, TOUCH) == D("50000")
    assert m.crosses(Direction.buy, None, TOUCH)
    assert m.crosses(Direction.buy, D("50000.5"), TOUCH)
    assert not m.crosses(Direction.buy, D("50000"), TOUCH)
    assert m.crosses(Direction.sell, D("50000"), TOUCH)
    assert not m.crosses(Direction.sell, D("50000.5"), TOUCH)
    assert not m.crosses(Direction.buy, None, Touch())  # no book: nothing to take


def test_resting_limit_fills_at_its_own_price_once_the_book_crosses() -> None:
    assert m.resting_fill_price(Direction.buy, D("49990"), TOUCH) is None
    moved = Touch(bid=D("49980"), ask=D("49985"))
    assert m.resting_fill_price(Direction.buy, D("49990"), moved) == D("49990")
    assert m.resting_fill_price(Direction.sell, D("50010"), moved) is None


def test_inverse_fee_is_rate_times_usd_over_price_in_coin() -> None:
    assert m.fee(BTC, D(1000), D(50000), Liquidity.taker) == D("0.00001000")
    assert m.fee(BTC, D(1000), D(50000), Liquidity.maker) == D(0)


def test_positions_of_an_inverse_contract() -> None:
    flat = PositionState()
    long = m.apply_fill(flat, Direction.buy, D(100), D(50000))
    assert (long.size, long.average_price) == (D(100), D(50000))
    more = m.apply_fill(long, Direction.buy, D(100), D(40000))
    # harmonic mean: 200 USD for 100/50000 + 100/40000 BTC
    assert more.size == D(200)
    assert more.average_price == D(200) / (D(100) / D(50000) + D(100) / D(40000))
    reduced = m.apply_fill(more, Direction.sell, D(50), D(60000))
    assert reduced.size == D(150) and reduced.average_price == more.average_price
    assert reduced.realized == D(50) * (1 / more.average_price - 1 / D(60000))
    assert reduced.realized > 0
    flipped = m.apply_fill(reduced, Direction.sell, D(200), D(60000))
    assert (flipped.size, flipped.average_price) == (D(-50), D(60000))
    closed = m.apply_fill(flipped, Direction.buy, D(50), D(60000))
    assert (closed.size, closed.average_price) == (D(0), D(0))
    assert m.floating_pnl(flipped, D(50000)) > 0  # short from 60000, price fell: profit
    assert m.floating_pnl(flipped, D(70000)) < 0
    assert m.floating_pnl(flat, D(50000)) == 0


def test_reduce_only_is_capped_to_the_position_and_refused_when_it_would_not_reduce() -> None:
    long = PositionState(size=D(30), average_price=D(50000))
    assert m.reduce_only_amount(long, Direction.sell, D(50)) == D(30)
    assert m.reduce_only_amount(long, Direction.sell, D(10)) == D(10)
    for position, direction in ((long, Direction.buy), (PositionState(), Direction.sell)):
        with pytest.raises(m.OrderReject) as caught:
            m.reduce_only_amount(position, direction, D(10))
        assert caught.value.data["param"] == "reduce_only"
