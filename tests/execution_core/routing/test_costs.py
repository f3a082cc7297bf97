"""Cost model: components against hand calculations, book checks, unit conversions."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import pytest

from execution_core.errors import ExecutionServicesError
from execution_core.instruments.reference import InstrumentReference, InstrumentSpec, load_reference
from execution_core.routing.costs import (
    CostModelConfig,
    IneligibleVenueError,
    TopOfBook,
    VenueCost,
    base_quantity,
    book_problem,
    expected_cost_bps,
    venue_quantity,
)

BINANCE = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
OKX = "OKX:PERPETUAL:BTC-USDT@LIN"
DERIBIT = "DERIBIT:PERPETUAL:BTC-USD@INV"
TS = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


def _book(**overrides: Any) -> TopOfBook:
    # mid 100_000, spread 20 → half-spread exactly 1 bp
    fields: dict[str, Any] = {
        "bid_price": 99_990.0,
        "bid_size": 2.0,
        "ask_price": 100_010.0,
        "ask_size": 2.0,
        "ts_ns": TS,
    }
    fields.update(overrides)
    return TopOfBook(**fields)


def _linear_spec(**overrides: Any) -> InstrumentSpec:
    fields: dict[str, Any] = {
        "key": "BYBIT:PERPETUAL:BTC-USDT@LIN",
        "base": "BTC",
        "quote": "USDT",
        "settlement": "USDT",
        "price_precision": 1,
        "size_precision": 3,
        "price_increment": "0.1",
        "size_increment": "0.001",
        "lot_size": "0.001",
        "min_quantity": "0.001",
        "maker_fee": "-0.0001",
        "taker_fee": "0.0004",
        "latency_ms": 50.0,
    }
    fields.update(overrides)
    return InstrumentSpec.model_validate(fields)


def test_buy_components_match_hand_calculation(reference: InstrumentReference) -> None:
    cost = expected_cost_bps("BUY", 1.0, _book(), reference.get(BINANCE), CostModelConfig())
    assert cost.venue_key == BINANCE
    assert cost.fee_bps == pytest.approx(5.0)  # taker 0.0005
    assert cost.half_spread_bps == pytest.approx(1.0)  # 10 / 100_000 × 1e4
    assert cost.impact_bps == 0.0  # 1.0 ≤ 2.0 at the ask
    assert cost.latency_bps == pytest.approx(0.2)  # 0.01 bps/ms × 20 ms
    assert cost.total_bps == pytest.approx(6.2)
    assert (cost.touch_price, cost.touch_size) == (100_010.0, 2.0)
    assert cost.reference_price == pytest.approx(100_000.0)


def test_sell_takes_the_bid_and_pays_impact_beyond_it(reference: InstrumentReference) -> None:
    book = _book(bid_size=2.0, ask_size=50.0)
    cost = expected_cost_bps("SELL", 3.0, book, reference.get(OKX), CostModelConfig())
    assert (cost.touch_price, cost.touch_size) == (99_990.0, 2.0)
    assert cost.impact_bps == pytest.approx(2.5)  # 5 × (3 / 2 − 1)
    assert cost.latency_bps == pytest.approx(0.35)  # 0.01 × 35 ms
    assert cost.total_bps == pytest.approx(5.0 + 1.0 + 2.5 + 0.35)


def test_quantity_exactly_at_the_touch_has_no_impact(reference: InstrumentReference) -> None:
    cost = expected_cost_bps("BUY", 2.0, _book(), reference.get(BINANCE), CostModelConfig())
    assert cost.impact_bps == 0.0


def test_config_parameters_scale_their_components(reference: InstrumentReference) -> None:
    config = CostModelConfig(latency_bps_per_ms=0.1, impact_bps_per_touch=2.0)
    cost = expected_cost_bps("BUY", 8.0, _book(), reference.get(BINANCE), config)
    assert cost.impact_bps == pytest.approx(6.0)  # 2 × (8 / 2 − 1)
    assert cost.latency_bps == pytest.approx(2.0)  # 0.1 × 20 ms
    assert cost.total_bps == pytest.approx(5.0 + 1.0 + 6.0 + 2.0)


def test_maker_mode_uses_the_maker_fee_and_rebates_are_negative() -> None:
    spec = _linear_spec()
    cost = expected_cost_bps("BUY", 1.0, _book(), spec, CostModelConfig(taker=False))
    assert cost.fee_bps == pytest.approx(-1.0)
    assert cost.total_bps == pytest.approx(-1.0 + 1.0 + 0.5)  # latency 0.01 × 50
    taker = expected_cost_bps("BUY", 1.0, _book(), spec, CostModelConfig())
    assert taker.fee_bps == pytest.approx(4.0)


def test_a_per_unit_commission_is_priced_at_mid(reference: InstrumentReference) -> None:
    """IB's 0.005 USD a share on a 200 USD share: 0.25 bps on top of the rate."""
    aapl = reference.get("IB:SPOT_PAIR:AAPL-USD")
    book = TopOfBook(bid_price=199.99, bid_size=500.0, ask_price=200.01, ask_size=500.0, ts_ns=TS)
    cost = expected_cost_bps("BUY", 100.0, book, aapl, CostModelConfig())
    assert cost.fee_bps == pytest.approx(0.25)
    with_rate = expected_cost_bps(
        "BUY", 100.0, book, aapl.model_copy(update={"taker_fee": Decimal("0.0001")}),
        CostModelConfig(),
    )  # fmt: skip
    assert with_rate.fee_bps == pytest.approx(1.25)


def test_zero_size_at_the_touch_is_ineligible(reference: InstrumentReference) -> None:
    with pytest.raises(IneligibleVenueError, match="no size at the touch: ask") as info:
        expected_cost_bps(
            "BUY", 1.0, _book(ask_size=0.0), reference.get(BINANCE), CostModelConfig()
        )
    assert info.value.venue_key == BINANCE
    assert isinstance(info.value, ExecutionServicesError)
    # the other side is still fine
    cost = expected_cost_bps(
        "SELL", 1.0, _book(ask_size=0.0), reference.get(BINANCE), CostModelConfig()
    )
    assert cost.touch_price == 99_990.0


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"bid_price": 100_020.0}, "crossed book"),
        ({"bid_price": 0.0}, "empty book"),
        ({"ask_price": -1.0}, "empty book"),
        ({"bid_size": -1.0}, "negative size"),
        ({"ask_price": math.nan}, "non-finite"),
        ({"bid_size": math.inf}, "non-finite"),
    ],
)
def test_unusable_books_are_ineligible(
    reference: InstrumentReference, overrides: dict[str, Any], reason: str
) -> None:
    book = _book(**overrides)
    assert reason in (book_problem("BUY", book) or "")
    with pytest.raises(IneligibleVenueError, match=reason):
        expected_cost_bps("BUY", 1.0, book, reference.get(BINANCE), CostModelConfig())


def test_locked_book_prices_with_zero_half_spread(reference: InstrumentReference) -> None:
    book = _book(bid_price=100_000.0, ask_price=100_000.0)
    assert book_problem("BUY", book) is None
    cost = expected_cost_bps("BUY", 1.0, book, reference.get(BINANCE), CostModelConfig())
    assert cost.half_spread_bps == 0.0


@pytest.mark.parametrize("side", ["buy", "LONG", ""])
def test_bad_side_raises(reference: InstrumentReference, side: str) -> None:
    with pytest.raises(ValueError, match="side must be"):
        expected_cost_bps(side, 1.0, _book(), reference.get(BINANCE), CostModelConfig())  # type: ignore[arg-type]


@pytest.mark.parametrize("quantity", [0.0, -1.0, math.nan, math.inf])
def test_bad_quantity_raises(reference: InstrumentReference, quantity: float) -> None:
    with pytest.raises(ValueError, match="quantity must be"):
        expected_cost_bps("BUY", quantity, _book(), reference.get(BINANCE), CostModelConfig())


@pytest.mark.parametrize("field", ["latency_bps_per_ms", "impact_bps_per_touch", "max_book_age_ms"])
def test_config_rejects_negative_parameters(field: str) -> None:
    overrides: dict[str, Any] = {field: -1.0}
    with pytest.raises(ValueError, match=field):
        CostModelConfig(**overrides)


def test_okx_contracts_convert_with_the_multiplier(reference: InstrumentReference) -> None:
    okx = reference.get(OKX)  # 1 contract = 0.01 BTC
    assert venue_quantity(okx, 1.5, 100_000.0) == Decimal("150")
    assert base_quantity(okx, 250.0, 100_000.0) == pytest.approx(2.5)
    book = TopOfBook.from_venue_units(okx, 99_990.0, 250.0, 100_010.0, 30.0, TS)
    assert (book.bid_size, book.ask_size) == (pytest.approx(2.5), pytest.approx(0.3))
    assert (book.bid_price, book.ask_price, book.ts_ns) == (99_990.0, 100_010.0, TS)


def test_inverse_sizes_are_usd_notional(reference: InstrumentReference) -> None:
    deribit = reference.get(DERIBIT)  # sized in USD
    assert venue_quantity(deribit, 0.5, 100_000.0) == Decimal("50000")
    assert base_quantity(deribit, 50_000.0, 100_000.0) == pytest.approx(0.5)
    book = TopOfBook.from_venue_units(deribit, 99_990.0, 99_990.0, 100_010.0, 200_020.0, TS)
    assert (book.bid_size, book.ask_size) == (pytest.approx(1.0), pytest.approx(2.0))
    cost = expected_cost_bps("BUY", 1.0, book, deribit, CostModelConfig())
    assert cost.total_bps == pytest.approx(5.0 + 1.0 + 0.0 + 0.4)  # latency 40 ms


def test_venue_cost_is_immutable(reference: InstrumentReference) -> None:
    cost = expected_cost_bps("BUY", 1.0, _book(), reference.get(BINANCE), CostModelConfig())
    assert isinstance(cost, VenueCost)
    with pytest.raises(AttributeError):
        cost.total_bps = 0.0  # type: ignore[misc]
