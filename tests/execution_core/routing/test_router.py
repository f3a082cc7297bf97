"""SmartRouter: venue choice on constructed books with hand-computed costs.

Packaged reference, BTC-USDT@LIN perpetuals (taker fee, latency → latency bps at 0.01/ms):
BINANCE-FUTURES 5 bps, 20 ms → 0.2; BYBIT 5.5 bps, 30 ms → 0.3; OKX 5 bps, 35 ms → 0.35.
The default book has mid 100_000 and spread 20, so its half-spread is exactly 1 bp.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from execution_core.errors import (
    ExecutionServicesError,
    InvalidInstrumentIdError,
    UnknownInstrumentError,
)
from execution_core.instruments.reference import (
    InstrumentReference,
    InstrumentSpec,
    load_reference,
)
from execution_core.routing import (
    CostModelConfig,
    NoVenueError,
    RoutingDecision,
    SmartRouter,
    TopOfBook,
)

ANY_BTC = "ANY:PERPETUAL:BTC-USDT@LIN"
BINANCE = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
BYBIT = "BYBIT:PERPETUAL:BTC-USDT@LIN"
OKX = "OKX:PERPETUAL:BTC-USDT@LIN"
DERIBIT = "DERIBIT:PERPETUAL:BTC-USD@INV"
NOW = 1_700_000_000_000_000_000
MS = 1_000_000


@pytest.fixture(scope="module")
def router() -> SmartRouter:
    return SmartRouter(load_reference())


def _book(age_ms: float = 1.0, **overrides: Any) -> TopOfBook:
    fields: dict[str, Any] = {
        "bid_price": 99_990.0,
        "bid_size": 5.0,
        "ask_price": 100_010.0,
        "ask_size": 5.0,
        "ts_ns": NOW - int(age_ms * MS),
    }
    fields.update(overrides)
    return TopOfBook(**fields)


def _all_books(**per_key: TopOfBook) -> dict[str, TopOfBook]:
    books = {BINANCE: _book(), BYBIT: _book(), OKX: _book()}
    names = {"binance": BINANCE, "bybit": BYBIT, "okx": OKX}
    books.update({names[name]: book for name, book in per_key.items()})
    return books


def _spec(venue: str, **overrides: Any) -> InstrumentSpec:
    fields: dict[str, Any] = {
        "key": f"{venue}:PERPETUAL:BTC-USDT@LIN",
        "base": "BTC",
        "quote": "USDT",
        "settlement": "USDT",
        "price_precision": 1,
        "size_precision": 3,
        "price_increment": "0.1",
        "size_increment": "0.001",
        "lot_size": "0.001",
        "min_quantity": "0.001",
        "maker_fee": "0.0001",
        "taker_fee": "0.0005",
        "latency_ms": 10.0,
    }
    fields.update(overrides)
    return InstrumentSpec.model_validate(fields)


def _reference(*specs: InstrumentSpec) -> InstrumentReference:
    return InstrumentReference(specs, source="<test>")


def _totals(decision: RoutingDecision) -> dict[str, float]:
    return {score.venue_key: score.total_bps for score in decision.scores}


# --- choice by cost ---------------------------------------------------------------------


def test_cheaper_fee_wins_hand_built() -> None:
    router = SmartRouter(
        _reference(_spec("BINANCE-FUTURES", taker_fee="0.0005"), _spec("BYBIT", taker_fee="0.0004"))
    )
    decision = router.route(ANY_BTC, "BUY", 1.0, {BINANCE: _book(), BYBIT: _book()}, NOW)
    assert decision.venue_key == BYBIT
    assert decision.venue == "BYBIT"
    # 4 + 1 + 0 + 0.1  vs  5 + 1 + 0 + 0.1
    assert _totals(decision) == {BYBIT: pytest.approx(5.1), BINANCE: pytest.approx(6.1)}
    assert [s.venue_key for s in decision.scores] == [BYBIT, BINANCE]
    assert decision.rejected == ()


def test_cheaper_fee_and_latency_win_on_the_packaged_reference(router: SmartRouter) -> None:
    decision = router.route(ANY_BTC, "BUY", 1.0, _all_books(), NOW)
    assert decision.venue_key == BINANCE
    assert [s.venue_key for s in decision.scores] == [BINANCE, OKX, BYBIT]
    assert _totals(decision) == {
        BINANCE: pytest.approx(5.0 + 1.0 + 0.2),
        OKX: pytest.approx(5.0 + 1.0 + 0.35),
        BYBIT: pytest.approx(5.5 + 1.0 + 0.3),
    }


def test_tighter_spread_wins() -> None:
    router = SmartRouter(_reference(_spec("BINANCE-FUTURES"), _spec("BYBIT")))
    books = {
        BINANCE: _book(),  # half-spread 1 bp
        BYBIT: _book(bid_price=99_995.0, ask_price=100_005.0),  # half-spread 0.5 bp
    }
    decision = router.route(ANY_BTC, "SELL", 1.0, books, NOW)
    assert decision.venue_key == BYBIT
    assert decision.chosen.half_spread_bps == pytest.approx(0.5)
    assert _totals(decision) == {BYBIT: pytest.approx(5.6), BINANCE: pytest.approx(6.1)}


def test_spread_can_outweigh_a_fee_advantage(router: SmartRouter) -> None:
    # Binance's half-spread 2 bp (spread 40) costs more than OKX's 0.15 bp latency penalty.
    books = _all_books(binance=_book(bid_price=99_980.0, ask_price=100_020.0))
    decision = router.route(ANY_BTC, "BUY", 1.0, books, NOW)
    assert decision.venue_key == OKX
    assert _totals(decision)[BINANCE] == pytest.approx(5.0 + 2.0 + 0.2)


def test_no_size_at_the_cheaper_touch_routes_to_the_dearer_venue(router: SmartRouter) -> None:
    books = _all_books(binance=_book(ask_size=0.0))
    decision = router.route(ANY_BTC, "BUY", 1.0, books, NOW)
    assert decision.venue_key == OKX
    assert decision.rejected == ((BINANCE, "no size at the touch: ask 100010.0 has size 0"),)
    # selling takes the bid, which has size: Binance is fine again
    assert router.route(ANY_BTC, "SELL", 1.0, books, NOW).venue_key == BINANCE


def test_order_much_larger_than_the_cheaper_touch_flips_the_choice(router: SmartRouter) -> None:
    books = _all_books(binance=_book(ask_size=0.5), okx=_book(ask_size=10.0))
    small = router.route(ANY_BTC, "BUY", 0.4, books, NOW)
    assert small.venue_key == BINANCE  # 0.4 ≤ 0.5 at the touch: 6.2 < 6.35
    assert _totals(small)[BINANCE] == pytest.approx(6.2)
    large = router.route(ANY_BTC, "BUY", 2.0, books, NOW)
    assert large.venue_key == OKX
    binance = next(s for s in large.scores if s.venue_key == BINANCE)
    assert binance.impact_bps == pytest.approx(15.0)  # 5 × (2.0 / 0.5 − 1)
    assert binance.total_bps == pytest.approx(21.2)
    assert _totals(large)[OKX] == pytest.approx(6.35)  # 2.0 ≤ 10 at OKX's touch
    assert [s.venue_key for s in large.scores] == [OKX, BYBIT, BINANCE]


# --- rejections ---------------------------------------------------------------------------


def test_stale_book_is_rejected(router: SmartRouter) -> None:
    books = _all_books(binance=_book(age_ms=5_001))
    decision = router.route(ANY_BTC, "BUY", 1.0, books, NOW)
    assert decision.venue_key == OKX
    assert decision.rejected == (
        (BINANCE, "stale book: quote age 5001.000 ms > max_book_age_ms 5000"),
    )


def test_book_exactly_at_the_max_age_is_still_eligible(router: SmartRouter) -> None:
    books = _all_books(binance=_book(age_ms=5_000))
    assert router.route(ANY_BTC, "BUY", 1.0, books, NOW).venue_key == BINANCE


def test_max_book_age_is_configurable() -> None:
    router = SmartRouter(load_reference(), CostModelConfig(max_book_age_ms=100))
    decision = router.route(ANY_BTC, "BUY", 1.0, _all_books(binance=_book(age_ms=101)), NOW)
    assert decision.venue_key == OKX
    assert "stale book" in dict(decision.rejected)[BINANCE]


def test_venue_without_a_book_is_rejected(router: SmartRouter) -> None:
    books = {OKX: _book(), "OKX:PERPETUAL:ETH-USDT@LIN": _book()}  # unrelated key ignored
    decision = router.route(ANY_BTC, "BUY", 1.0, books, NOW)
    assert decision.venue_key == OKX
    assert decision.rejected == ((BINANCE, "no book"), (BYBIT, "no book"))


def test_any_with_no_eligible_venue_lists_every_reason(router: SmartRouter) -> None:
    books = {
        BYBIT: _book(age_ms=10_000),
        OKX: _book(bid_price=100_020.0),  # crossed
    }
    with pytest.raises(NoVenueError) as info:
        router.route(ANY_BTC, "BUY", 1.0, books, NOW)
    err = info.value
    assert isinstance(err, ExecutionServicesError)
    message = str(err)
    assert ANY_BTC in message
    assert f"{BINANCE}: no book" in message
    assert f"{BYBIT}: stale book: quote age 10000.000 ms" in message
    assert f"{OKX}: crossed book: bid 100020.0 > ask 100010.0" in message
    assert err.instrument_key == ANY_BTC
    assert [key for key, _ in err.rejected] == [BINANCE, BYBIT, OKX]


def test_empty_book_is_rejected(router: SmartRouter) -> None:
    books = _all_books(binance=_book(bid_price=0.0, ask_price=0.0, bid_size=0.0, ask_size=0.0))
    decision = router.route(ANY_BTC, "BUY", 1.0, books, NOW)
    assert decision.venue_key == OKX
    assert dict(decision.rejected)[BINANCE].startswith("empty book")


def test_okx_min_quantity_is_in_contracts(router: SmartRouter) -> None:
    # OKX min 0.01 contracts × 0.01 BTC = 0.0001 BTC; Binance/Bybit min 0.001 BTC.
    decision = router.route(ANY_BTC, "BUY", 0.0005, _all_books(), NOW)
    assert decision.venue_key == OKX
    reasons = dict(decision.rejected)
    assert "below min_quantity 0.001 BTC" in reasons[BINANCE]
    assert "below min_quantity 0.001 BTC" in reasons[BYBIT]
    with pytest.raises(NoVenueError) as info:
        router.route(ANY_BTC, "BUY", 0.00005, _all_books(), NOW)
    okx_reason = dict(info.value.rejected)[OKX]
    assert okx_reason == (
        "quantity 5e-05 BTC = 0.005 contracts is below min_quantity 0.01 contracts (= 0.0001 BTC)"
    )


def test_min_notional_is_checked_at_the_touch_price(router: SmartRouter) -> None:
    # 0.001 BTC at 50_005: 50.005 USDT < Binance's 100 USDT minimum; Bybit's is 5.
    cheap = _book(bid_price=49_995.0, ask_price=50_005.0)
    books = {BINANCE: cheap, BYBIT: cheap, OKX: cheap}
    decision = router.route(ANY_BTC, "BUY", 0.001, books, NOW)
    assert decision.venue_key == OKX
    assert dict(decision.rejected) == {
        BINANCE: "notional 50.005 USDT (at 50005.0) is below min_notional 100 USDT"
    }


def test_max_quantity_is_checked(router: SmartRouter) -> None:
    deep = _book(bid_size=5_000.0, ask_size=5_000.0)
    decision = router.route(ANY_BTC, "SELL", 1_500.0, {BINANCE: deep, BYBIT: deep, OKX: deep}, NOW)
    assert decision.venue_key == OKX  # OKX lists no maximum
    reasons = dict(decision.rejected)
    assert "above max_quantity 1000 BTC" in reasons[BINANCE]
    assert "above max_quantity 1190 BTC" in reasons[BYBIT]


def test_inverse_quantity_is_base_units_and_min_quantity_usd(router: SmartRouter) -> None:
    any_inverse = "ANY:PERPETUAL:BTC-USD@INV"
    books = {DERIBIT: _book()}
    decision = router.route(any_inverse, "BUY", 0.001, books, NOW)  # 100.01 USD ≥ 10 USD
    assert decision.venue_key == DERIBIT
    assert decision.chosen.total_bps == pytest.approx(5.0 + 1.0 + 0.4)
    with pytest.raises(NoVenueError, match=r"below min_quantity 10 USD"):
        router.route(any_inverse, "BUY", 0.00005, books, NOW)  # 5.0005 USD


# --- concrete keys and unknown instruments ------------------------------------------------


def test_concrete_key_routes_to_itself(router: SmartRouter) -> None:
    decision = router.route(BYBIT, "BUY", 1.0, _all_books(), NOW)  # dearest on this book
    assert decision.instrument_key == BYBIT
    assert decision.venue_key == BYBIT
    assert len(decision.scores) == 1
    assert decision.chosen.total_bps == pytest.approx(6.8)
    assert decision.rejected == ()


def test_concrete_key_without_its_book_raises(router: SmartRouter) -> None:
    books = {BINANCE: _book(), OKX: _book()}
    with pytest.raises(NoVenueError, match=rf"{BYBIT}: no book"):
        router.route(BYBIT, "BUY", 1.0, books, NOW)


@pytest.mark.parametrize(
    "key", ["OKX:PERPETUAL:DOGE-USDT@LIN", "ANY:PERPETUAL:DOGE-USDT@LIN", "ANY:SPOT_PAIR:BTC-EUR"]
)
def test_unknown_instrument_raises(router: SmartRouter, key: str) -> None:
    with pytest.raises(UnknownInstrumentError, match=r"DOGE|BTC-EUR"):
        router.route(key, "BUY", 1.0, _all_books(), NOW)


def test_malformed_key_raises(router: SmartRouter) -> None:
    with pytest.raises(InvalidInstrumentIdError):
        router.route("not-an-id", "BUY", 1.0, _all_books(), NOW)


@pytest.mark.parametrize(("side", "quantity"), [("buy", 1.0), ("BUY", 0.0), ("SELL", -2.0)])
def test_bad_order_arguments_raise(router: SmartRouter, side: Any, quantity: float) -> None:
    with pytest.raises(ValueError):
        router.route(ANY_BTC, side, quantity, _all_books(), NOW)


# --- determinism and records --------------------------------------------------------------


def test_ties_break_by_venue_key_whatever_the_book_order() -> None:
    specs = [_spec("OKX"), _spec("BYBIT"), _spec("BINANCE-FUTURES")]
    router = SmartRouter(_reference(*specs))
    forward = {BINANCE: _book(), BYBIT: _book(), OKX: _book()}
    backward = dict(reversed(list(forward.items())))
    first = router.route(ANY_BTC, "BUY", 1.0, forward, NOW)
    second = router.route(ANY_BTC, "BUY", 1.0, backward, NOW)
    assert first == second
    assert first.venue_key == BINANCE
    assert [s.venue_key for s in first.scores] == [BINANCE, BYBIT, OKX]


def test_mathematical_ties_ignore_float_noise() -> None:
    # OKX 6 bp + 0.01×30 ms and BYBIT 5 bp + 0.01×130 ms both total 7.3 bp, but in floats
    # OKX's sum comes out 7.299999999999999: the tie must still go to the smaller key.
    router = SmartRouter(
        _reference(
            _spec("OKX", taker_fee="0.0006", latency_ms=30.0),
            _spec("BYBIT", taker_fee="0.0005", latency_ms=130.0),
        )
    )
    decision = router.route(ANY_BTC, "BUY", 1.0, {BYBIT: _book(), OKX: _book()}, NOW)
    totals = _totals(decision)
    assert totals[OKX] < totals[BYBIT]  # the float noise this test is about
    assert totals[OKX] == pytest.approx(totals[BYBIT]) == pytest.approx(7.3)
    assert decision.venue_key == BYBIT


def test_routing_is_deterministic(router: SmartRouter) -> None:
    books = _all_books(binance=_book(ask_size=0.5), bybit=_book(age_ms=9_999))
    decisions = [router.route(ANY_BTC, "BUY", 2.0, books, NOW) for _ in range(3)]
    assert decisions[0] == decisions[1] == decisions[2]
    assert decisions[0].as_dict() == decisions[2].as_dict()


def test_as_dict_is_json_serialisable(router: SmartRouter) -> None:
    books = _all_books(bybit=_book(age_ms=6_000))
    decision = router.route(ANY_BTC, "BUY", 1.0, books, NOW)
    record = json.loads(json.dumps(decision.as_dict(), allow_nan=False))
    assert record["instrument_key"] == ANY_BTC
    assert record["venue_key"] == BINANCE
    assert record["venue"] == "BINANCE-FUTURES"
    assert record["side"] == "BUY"
    assert record["quantity"] == 1.0
    assert [s["venue_key"] for s in record["scores"]] == [BINANCE, OKX]
    assert record["scores"][0]["total_bps"] == pytest.approx(6.2)
    assert set(record["scores"][0]) == {
        "venue_key",
        "fee_bps",
        "half_spread_bps",
        "impact_bps",
        "latency_bps",
        "total_bps",
        "touch_price",
        "touch_size",
        "reference_price",
    }
    assert record["rejected"] == [
        {"venue_key": BYBIT, "reason": "stale book: quote age 6000.000 ms > max_book_age_ms 5000"}
    ]


def test_an_unavailable_venue_is_skipped_with_its_reason_and_any_goes_to_the_next_best(
    router: SmartRouter,
) -> None:
    # Binance is the cheapest (5 bps, 20 ms) but its circuit is open: the next best is OKX
    reason = "circuit open after 5 consecutive failures (last: timeout); next probe in 30.0 s"
    decision = router.route("ANY:PERPETUAL:BTC-USDT@LIN", "BUY", 0.5, _all_books(), NOW,
                            unavailable={BINANCE: reason})  # fmt: skip
    assert decision.venue_key == OKX
    assert decision.rejected == ((BINANCE, f"unavailable: {reason}"),)
    assert BINANCE not in {score.venue_key for score in decision.scores}
    with pytest.raises(NoVenueError, match="unavailable: not connected"):
        router.route(BINANCE, "BUY", 0.5, _all_books(), NOW,
                     unavailable={BINANCE: "not connected"})  # fmt: skip
