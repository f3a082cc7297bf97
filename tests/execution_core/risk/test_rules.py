"""Risk rules one by one: pass at the limit, fail just above, with messages that name
the strategy or instrument, the value and the limit.

Prices: BTC 100_000, ETH 2_000 (quote USDT). Quantities in base units.
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution_core.config.loader import load_config
from execution_core.errors import ConfigError
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.risk import (
    OpenQuantity,
    RiskLimits,
    RiskOrder,
    RiskState,
    check_balance,
    check_gross_position,
    check_instrument_position,
    check_limit_price,
    check_notional_exposure,
    check_order_size,
    check_strategy_position,
    check_velocity,
)

BIN = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
BYBIT = "BYBIT:PERPETUAL:BTC-USDT@LIN"
OKX = "OKX:PERPETUAL:BTC-USDT@LIN"
ANY = "ANY:PERPETUAL:BTC-USDT@LIN"
BTC = "PERPETUAL:BTC-USDT@LIN"
ETH = "PERPETUAL:ETH-USDT@LIN"
ETH_BIN = "BINANCE-FUTURES:PERPETUAL:ETH-USDT@LIN"
DERIBIT = "DERIBIT:PERPETUAL:BTC-USD@INV"
SPOT = "BINANCE-SPOT:SPOT_PAIR:BTC-USDT"
T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
PRICES = {BTC: D(100_000), ETH: D(2_000)}


def order(
    side: str = "BUY",
    qty: str | D = "1",
    key: str = BIN,
    *,
    strategy: str = "s1",
    price: str | None = None,
    order_type: str | None = None,
    ts: int = T0,
) -> RiskOrder:
    return RiskOrder(
        strategy_id=strategy,
        instrument_key=key,
        side=side,
        quantity=D(qty),
        order_type=order_type or ("MARKET" if price is None else "LIMIT"),
        price=None if price is None else D(price),
        ts_ns=ts,
    )


def state(**kwargs: Any) -> RiskState:
    kwargs.setdefault("last_prices", PRICES)
    kwargs.setdefault("balance", D(10_000_000))
    return RiskState(**kwargs)


# --- instrument family, orders, config ------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"side": "HOLD"}, "side must be BUY or SELL"),
        ({"quantity": D(0)}, "quantity must be positive"),
        ({"quantity": D("NaN")}, "finite Decimal"),
        ({"price": D(-1)}, "price must be a positive Decimal"),
        ({"ts_ns": 1.5}, "ts_ns must be an int"),
    ],
)
def test_risk_order_validates(changes: dict[str, Any], match: str) -> None:
    fields: dict[str, Any] = {
        "strategy_id": "s1",
        "instrument_key": BIN,
        "side": "BUY",
        "quantity": D(1),
        "order_type": "MARKET",
        "price": None,
        "ts_ns": T0,
    }
    with pytest.raises(ValueError, match=match):
        RiskOrder(**(fields | changes))


def test_limits_load_from_json_config(tmp_path: Path) -> None:
    path = tmp_path / "risk.json"
    path.write_text(
        json.dumps(
            {
                "max_order_quantity": "10",
                "max_notional_exposure": 2_000_000,
                "margin_rate": "0.05",
                "per_instrument_max_position": {"BYBIT:PERPETUAL:ETH-USDT@LIN": "400"},
                "require_last_price": False,
            }
        )
    )
    limits = load_config(path, RiskLimits)
    assert limits.max_order_quantity == D(10)
    assert limits.max_notional_exposure == D(2_000_000)
    assert limits.margin_rate == D("0.05")
    assert limits.per_instrument_max_position == {ETH: D(400)}
    assert limits.max_position_for(ETH_BIN) == D(400)
    assert limits.max_position_for(ANY) == D(50)
    assert limits.require_last_price is False


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"max_order_qty": "1"}, "max_order_qty: Extra inputs are not permitted"),
        ({"max_order_quantity": "0"}, "max_order_quantity: Input should be greater than 0"),
        ({"per_instrument_max_position": {"BTC": "1"}}, "key 'BTC'"),
        (
            {"per_instrument_max_position": {BIN: "1", OKX: "2"}},
            "instrument PERPETUAL:BTC-USDT@LIN is given twice",
        ),
        ({"max_orders_per_second": 50, "max_orders_per_minute": 10}, "max_orders_per_minute 10"),
        ({"margin_rate": "1.5"}, "margin_rate"),
    ],
)
def test_invalid_limits_name_the_key(tmp_path: Path, data: dict[str, Any], match: str) -> None:
    path = tmp_path / "risk.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=match):
        load_config(path, RiskLimits)


def test_limits_are_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        RiskLimits().max_order_quantity = D(1)  # type: ignore[misc]


# --- velocity -------------------------------------------------------------------------


def test_velocity_per_second_passes_at_the_limit_and_fails_above() -> None:
    limits = RiskLimits(max_orders_per_second=3)
    two = {"s1": (T0 - S + 1, T0 - S // 2)}
    assert check_velocity(order(), state(recent_orders=two), limits) is None
    three = {"s1": (T0 - S + 1, T0 - S // 2, T0)}
    rejection = check_velocity(order(), state(recent_orders=three), limits)
    assert rejection is not None
    assert rejection.code == "VELOCITY_PER_SECOND"
    assert rejection.reason == (
        f"strategy s1 would submit 4 orders within 1 s (this one at ts_ns={T0}), "
        "above the limit 3 per second"
    )


def test_velocity_window_excludes_its_left_edge_and_other_strategies() -> None:
    limits = RiskLimits(max_orders_per_second=2)
    recent = {"s1": (T0 - 2 * S, T0 - S, T0 - 1), "s2": (T0, T0, T0)}
    assert check_velocity(order(), state(recent_orders=recent), limits) is None
    assert check_velocity(order(ts=T0 + 1), state(recent_orders=recent), limits) is None
    assert check_velocity(order(strategy="s3"), state(recent_orders=recent), limits) is None
    rejection = check_velocity(order(strategy="s2"), state(recent_orders=recent), limits)
    assert rejection is not None and "strategy s2 would submit 4 orders" in rejection.reason


def test_velocity_per_minute() -> None:
    limits = RiskLimits(max_orders_per_second=5, max_orders_per_minute=5)
    four = {"s1": tuple(T0 - k * 10 * S for k in (6, 4, 3, 2, 1))}  # T0-60s is outside
    assert check_velocity(order(), state(recent_orders=four), limits) is None
    five = {"s1": tuple(T0 - k * 10 * S for k in (5, 4, 3, 2, 1))}
    rejection = check_velocity(order(), state(recent_orders=five), limits)
    assert rejection is not None
    assert rejection.code == "VELOCITY_PER_MINUTE"
    assert "strategy s1 would submit 6 orders within 60 s" in rejection.reason
    assert "above the limit 5 per minute" in rejection.reason


# --- order size -----------------------------------------------------------------------


def test_max_order_quantity() -> None:
    limits = RiskLimits(max_order_quantity=D(10), max_position_per_instrument=D(1000))
    assert check_order_size(order(qty="10"), state(), limits) is None
    rejection = check_order_size(order(qty="10.001"), state(), limits)
    assert rejection is not None
    assert rejection.code == "ORDER_QUANTITY_MAX"
    assert rejection.reason == (
        f"order BUY 10.001 {BIN} (strategy s1): quantity 10.001 is above the limit 10"
    )


def test_min_order_quantity() -> None:
    limits = RiskLimits(min_order_quantity=D("0.01"))
    assert check_order_size(order(qty="0.01"), state(), limits) is None
    rejection = check_order_size(order(side="SELL", qty="0.009"), state(), limits)
    assert rejection is not None and rejection.code == "ORDER_QUANTITY_MIN"
    assert "quantity 0.009 is below the minimum 0.01" in rejection.reason


def test_max_order_notional_uses_the_limit_price_else_the_last_price() -> None:
    limits = RiskLimits(max_order_notional=D(1_000_000))
    assert check_order_size(order(qty="10"), state(), limits) is None
    assert check_order_size(order(qty="10", price="100000"), state(), limits) is None
    rejection = check_order_size(order(qty="10", price="100000.1"), state(), limits)
    assert rejection is not None and rejection.code == "ORDER_NOTIONAL_MAX"
    assert "notional 1000001 (10 × 100000.1) is above the limit 1000000" in rejection.reason
    rejection = check_order_size(order(qty="10.5"), state(), limits)
    assert rejection is not None and "(10.5 × 100000)" in rejection.reason
    # without any price the notional cannot be computed: the notional rule reports it
    assert check_order_size(order(qty="10.5"), state(last_prices={}), limits) is None


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


def test_venue_listing_limits(reference: InstrumentReference) -> None:
    limits = RiskLimits(max_order_quantity=D(5000), max_order_notional=D(10) ** 12)
    spec = reference.get(BIN)  # min 0.001, max 1000, min notional 100
    assert check_order_size(order(qty="0.001"), state(), limits, spec) is None
    rejection = check_order_size(order(qty="0.0009"), state(), limits, spec)
    assert rejection is not None and rejection.code == "INSTRUMENT_QUANTITY_MIN"
    assert rejection.reason == (f"quantity 0.0009 is below the minimum 0.001 (base units) of {BIN}")
    assert check_order_size(order(qty="1000"), state(), limits, spec) is None
    rejection = check_order_size(order(qty="1000.001"), state(), limits, spec)
    assert rejection is not None and rejection.code == "INSTRUMENT_QUANTITY_MAX"
    cheap = state(last_prices={BTC: D(50_000)})
    assert check_order_size(order(qty="0.002"), cheap, limits, spec) is None
    rejection = check_order_size(order(qty="0.001"), cheap, limits, spec)
    assert rejection is not None and rejection.code == "INSTRUMENT_NOTIONAL_MIN"
    assert f"notional 50 (0.001 × 50000) is below the minimum 100 of {BIN}" == rejection.reason


def test_venue_listing_limits_convert_venue_units(reference: InstrumentReference) -> None:
    okx = reference.get(OKX)  # 0.01 contracts of 0.01 BTC
    assert check_order_size(order(qty="0.0001", key=OKX), state(), RiskLimits(), okx) is None
    rejection = check_order_size(order(qty="0.00009", key=OKX), state(), RiskLimits(), okx)
    assert rejection is not None and "below the minimum 0.0001 (base units)" in rejection.reason
    deribit = reference.get(DERIBIT)  # 10 USD at 50_000 → 0.0002 BTC
    inverse = state(last_prices={DERIBIT: D(50_000)})
    assert (
        check_order_size(order(qty="0.0002", key=DERIBIT), inverse, RiskLimits(), deribit) is None
    )
    rejection = check_order_size(order(qty="0.00019", key=DERIBIT), inverse, RiskLimits(), deribit)
    assert rejection is not None and "below the minimum 0.0002" in rejection.reason
    unpriced = state(last_prices={})
    assert (
        check_order_size(order(qty="0.00019", key=DERIBIT), unpriced, RiskLimits(), deribit) is None
    )


def test_any_order_needs_one_venue_listing_that_fits(reference: InstrumentReference) -> None:
    listings = reference.venues_listing(CanonicalId.parse(ANY))
    # 0.0005 BTC: below BINANCE/BYBIT minimum 0.001, fine on OKX (0.0001)
    assert check_order_size(order(qty="0.0005", key=ANY), state(), RiskLimits(), listings) is None
    rejection = check_order_size(order(qty="0.00005", key=ANY), state(), RiskLimits(), listings)
    assert rejection is not None and rejection.code == "INSTRUMENT_NO_LISTING_FITS"
    for key in (BIN, BYBIT, OKX):
        assert key in rejection.reason


# --- position limits ------------------------------------------------------------------


def test_instrument_position_at_the_limit_and_above() -> None:
    limits = RiskLimits()  # 50
    held = state(positions={("s1", BTC): D(40)})
    assert check_instrument_position(order(qty="10"), held, limits) is None
    rejection = check_instrument_position(order(qty="15"), held, limits)
    assert rejection is not None
    assert rejection.code == "POSITION_LIMIT_INSTRUMENT"
    assert rejection.reason == (
        f"position of strategy s1 in {BTC} would be 55 after BUY 15 (position 40), "
        "above the limit 50"
    )
    assert check_instrument_position(order(qty="10.001"), held, limits) is not None


def test_instrument_position_short_side() -> None:
    held = state(positions={("s1", BTC): D(-45)})
    assert check_instrument_position(order("SELL", "5"), held, RiskLimits()) is None
    rejection = check_instrument_position(order("SELL", "5.1"), held, RiskLimits())
    assert rejection is not None and "would be 50.1 after SELL 5.1" in rejection.reason


def test_instrument_position_aggregates_venues_and_any_keys() -> None:
    held = state(positions={("s1", BIN): D(20), ("s1", OKX): D(25), ("s1", "ANY:" + BTC): D(0)})
    for key in (ANY, BYBIT, BIN):
        assert check_instrument_position(order(qty="5", key=key), held, RiskLimits()) is None
        rejection = check_instrument_position(order(qty="6", key=key), held, RiskLimits())
        assert rejection is not None and "would be 51" in rejection.reason
    # another instrument, another strategy: separate positions
    assert check_instrument_position(order(qty="50", key=ETH_BIN), held, RiskLimits()) is None
    other = order(qty="50", strategy="s2")
    assert check_instrument_position(other, held, RiskLimits()) is None


def test_reducing_orders_pass_even_above_the_limit() -> None:
    held = state(positions={("s1", BTC): D(60)})
    assert check_instrument_position(order("SELL", "5"), held, RiskLimits()) is None
    assert check_instrument_position(order("SELL", "110"), held, RiskLimits()) is None  # → −50
    assert check_instrument_position(order("SELL", "120"), held, RiskLimits()) is None  # → −60
    rejection = check_instrument_position(order("SELL", "121"), held, RiskLimits())
    assert rejection is not None and "would be 61" in rejection.reason
    assert check_instrument_position(order("BUY", "0.001"), held, RiskLimits()) is not None


def test_per_instrument_override() -> None:
    limits = RiskLimits(per_instrument_max_position={ETH: D(400)})
    held = state(positions={("s1", ETH_BIN): D(390), ("s1", BIN): D(45)})
    assert check_instrument_position(order(qty="10", key=ETH_BIN), held, limits) is None
    rejection = check_instrument_position(order(qty="11", key=ETH_BIN), held, limits)
    assert rejection is not None and "above the limit 400" in rejection.reason
    rejection = check_instrument_position(order(qty="6"), held, limits)
    assert rejection is not None and "above the limit 50" in rejection.reason


def test_open_orders_count_as_worst_case_exposure() -> None:
    held = state(positions={("s1", BTC): D(40)}, open_orders={("s1", BIN): OpenQuantity(buy=D(8))})
    assert check_instrument_position(order(qty="2"), held, RiskLimits()) is None
    rejection = check_instrument_position(order(qty="3"), held, RiskLimits())
    assert rejection is not None
    assert "would be 51 after BUY 3 (position 40, open buys 8, open sells 0)" in rejection.reason
    # an open sell does not offset a new buy: either may fill alone
    hedged = state(
        positions={("s1", BTC): D(40)}, open_orders={("s1", BTC): OpenQuantity(sell=D(30))}
    )
    assert check_instrument_position(order(qty="11"), hedged, RiskLimits()) is not None


def test_strategy_position_sums_absolute_positions() -> None:
    limits = RiskLimits(max_position_per_instrument=D(1000))  # strategy limit 100
    held = state(positions={("s1", BTC): D(40), ("s1", ETH): D(-50), ("s2", BTC): D(90)})
    assert check_strategy_position(order(qty="10"), held, limits) is None
    rejection = check_strategy_position(order(qty="10.5"), held, limits)
    assert rejection is not None and rejection.code == "POSITION_LIMIT_STRATEGY"
    assert rejection.reason == (
        "total position of strategy s1 (sum of |position| over instruments) would be 100.5 "
        f"after BUY 10.5 {BTC}, above the limit 100"
    )
    # buying ETH reduces |−50|: allowed however large the strategy's total
    big = state(positions={("s1", BTC): D(200), ("s1", ETH): D(-50)})
    assert check_strategy_position(order(qty="50", key=ETH_BIN), big, limits) is None
    assert check_strategy_position(order(qty="101", key=ETH_BIN), big, limits) is not None


def test_gross_position_over_all_strategies_without_netting() -> None:
    limits = RiskLimits(max_position_per_instrument=D(1000), max_position_per_strategy=D(1000))
    held = state(positions={("s1", BTC): D(200), ("s2", BTC): D(-200), ("s2", ETH): D(50)})
    assert check_gross_position(order(qty="50", strategy="s3"), held, limits) is None
    rejection = check_gross_position(order(qty="50.1", strategy="s3"), held, limits)
    assert rejection is not None and rejection.code == "POSITION_LIMIT_GROSS"
    assert rejection.reason == (
        "gross position of all strategies (sum of |position|) would be 500.1 after BUY 50.1 "
        f"{BTC} by strategy s3, above the limit 500"
    )
    assert check_gross_position(order(qty="100", strategy="s2"), held, limits) is None


# --- notional exposure ----------------------------------------------------------------


def test_notional_exposure_at_the_limit_and_above() -> None:
    limits = RiskLimits(max_notional_exposure=D(1_000_000))
    held = state(positions={("s1", BTC): D(4), ("s2", ETH): D(-50)})  # 400k + 100k
    assert check_notional_exposure(order(qty="5"), held, limits) is None
    rejection = check_notional_exposure(order(qty="5.00001"), held, limits)
    assert rejection is not None and rejection.code == "NOTIONAL_EXPOSURE"
    assert rejection.reason == (
        "notional exposure of all strategies (sum of |position| × last price) would be "
        f"1000001 after BUY 5.00001 {BTC} by strategy s1, above the limit 1000000"
    )


def test_notional_exposure_needs_last_prices() -> None:
    limits = RiskLimits()
    rejection = check_notional_exposure(order(), state(last_prices={}), limits)
    assert rejection is not None and rejection.code == "NO_LAST_PRICE"
    assert rejection.reason == f"no last price for {BTC}; cannot check notional exposure"
    held_eth = state(positions={("s2", ETH): D(1)}, last_prices={BIN: D(100_000)})
    rejection = check_notional_exposure(order(), held_eth, limits)
    assert rejection is not None and rejection.reason.startswith(f"no last price for {ETH}")
    # a reducing order needs no price
    short = state(positions={("s1", BTC): D(-1)}, last_prices={})
    assert check_notional_exposure(order(qty="1"), short, limits) is None


def test_notional_exposure_without_required_prices() -> None:
    limits = RiskLimits(require_last_price=False, max_notional_exposure=D(100_000))
    unpriced = state(positions={("s2", ETH): D(1000)}, last_prices={})
    assert check_notional_exposure(order(qty="10"), unpriced, limits) is None
    # the order's own instrument falls back on its limit price
    assert check_notional_exposure(order(qty="1", price="100000"), unpriced, limits) is None
    assert check_notional_exposure(order(qty="1", price="100001"), unpriced, limits) is not None


# --- limit price ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "ok", "bad"),
    [
        ("BUY", "105000", "105001"),
        ("BUY", "95000", "94999"),
        ("SELL", "95000", "94999"),
        ("SELL", "105000", "105001"),
    ],
)
def test_limit_price_tolerance(side: str, ok: str, bad: str) -> None:
    limits = RiskLimits()  # 500 bps
    assert check_limit_price(order(side, price=ok), state(), limits) is None
    rejection = check_limit_price(order(side, price=bad), state(), limits)
    assert rejection is not None and rejection.code == "LIMIT_PRICE_TOLERANCE"
    assert rejection.reason == (
        f"{side} limit price {bad} for {BTC} (strategy s1) deviates 500.1 bps from the last "
        "price 100000, above the tolerance 500 bps"
    )


def test_limit_price_edge_cases() -> None:
    limits = RiskLimits()
    assert check_limit_price(order(), state(), limits) is None  # market order
    missing = check_limit_price(order(order_type="LIMIT"), state(), limits)
    assert missing is not None and missing.code == "LIMIT_PRICE_MISSING"
    no_last = check_limit_price(order(price="1"), state(last_prices={}), limits)
    assert no_last is not None and no_last.code == "NO_LAST_PRICE"
    assert no_last.reason == f"no last price for {BTC}; cannot check limit price tolerance"
    lax = RiskLimits(require_last_price=False)
    assert check_limit_price(order(price="1"), state(last_prices={}), lax) is None
    # a venue-keyed last price counts for the family, ANY orders included
    venue_priced = state(last_prices={OKX: D(100)})
    assert check_limit_price(order(price="105", key=ANY), venue_priced, limits) is None
    assert check_limit_price(order(price="106", key=ANY), venue_priced, limits) is not None


# --- balance --------------------------------------------------------------------------


def test_balance_margin_for_derivatives() -> None:
    limits = RiskLimits()  # margin rate 0.1
    assert check_balance(order(), state(balance=D(10_000)), limits) is None
    rejection = check_balance(order(), state(balance=D("9999.99")), limits)
    assert rejection is not None and rejection.code == "INSUFFICIENT_BALANCE"
    assert rejection.reason == (
        f"order BUY 1 {BIN} of strategy s1 needs margin 10000 (notional 100000 × rate 0.1), "
        "above the available balance 9999.99"
    )
    # a limit order is valued at its limit price
    assert check_balance(order(price="90000"), state(balance=D(9_000)), limits) is None


def test_balance_spot_needs_the_whole_notional() -> None:
    spot = state(last_prices={SPOT: D(100_000)}, balance=D(10_000))
    assert check_balance(order(qty="0.1", key=SPOT), spot, RiskLimits()) is None
    rejection = check_balance(order(qty="0.1001", key=SPOT), spot, RiskLimits())
    assert rejection is not None and "× rate 1)" in rejection.reason


def test_balance_reducing_orders_and_missing_data() -> None:
    limits = RiskLimits()
    long = state(positions={("s1", BTC): D(2)}, balance=D(0))
    assert check_balance(order("SELL", "2"), long, limits) is None
    unknown = check_balance(order(), state(balance=None), limits)
    assert unknown is not None and unknown.code == "BALANCE_UNKNOWN"
    assert check_balance(order(), state(balance=None), RiskLimits(require_balance=False)) is None
    unpriced = check_balance(order(), state(last_prices={}), limits)
    assert unpriced is not None and unpriced.reason == (
        f"no last price for {BTC}; cannot check the balance"
    )


# --- properties -----------------------------------------------------------------------

_qty = st.decimals(min_value=D("0.001"), max_value=D(1000), places=3)
_signed = st.decimals(min_value=D(-1000), max_value=D(1000), places=3)
_limit = st.decimals(min_value=D("0.001"), max_value=D(2000), places=3)
POSITION_RULES = (
    check_instrument_position,
    check_strategy_position,
    check_gross_position,
    check_notional_exposure,
    check_balance,
)


@settings(max_examples=300, deadline=None)
@given(
    position=_signed.filter(lambda p: p != 0),
    fraction=st.decimals(min_value=D("0.001"), max_value=D("1.999"), places=3),
    others=st.dictionaries(
        st.sampled_from([("s1", ETH), ("s2", ETH), ("s1", DERIBIT), ("s2", OKX), ("s2", BTC)]),
        _signed,
        max_size=4,
    ),
    limits=st.builds(
        RiskLimits,
        max_position_per_instrument=_limit,
        max_position_per_strategy=_limit,
        max_gross_position=_limit,
        max_notional_exposure=_limit,
    ),
    priced=st.booleans(),
)
def test_reducing_orders_never_fail_position_rules(
    position: D,
    fraction: D,
    others: dict[tuple[str, str], D],
    limits: RiskLimits,
    priced: bool,
) -> None:
    quantity = abs(position) * fraction  # 0 < q < 2|p|: |position| strictly decreases
    side = "SELL" if position > 0 else "BUY"
    positions = {**others, ("s1", BIN): position}
    held = RiskState(positions=positions, last_prices=PRICES if priced else {}, balance=None)
    reducing = order(side, quantity, key=ANY)
    assert abs(position + reducing.signed_quantity) < abs(position)
    for rule in POSITION_RULES:
        assert rule(reducing, held, limits) is None, rule.__name__


@settings(max_examples=300, deadline=None)
@given(position=_signed, quantity=_qty, side=st.sampled_from(["BUY", "SELL"]), limit=_limit)
def test_instrument_rule_rejects_exactly_increases_beyond_the_limit(
    position: D, quantity: D, side: str, limit: D
) -> None:
    new = order(side, quantity)
    after = abs(position + new.signed_quantity)
    held = RiskState(positions={("s1", OKX): position})
    limits = RiskLimits(max_position_per_instrument=limit)
    rejected = check_instrument_position(new, held, limits) is not None
    assert rejected == (after > limit and after > abs(position))
