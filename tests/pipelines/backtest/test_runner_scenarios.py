"""``run_backtest`` end to end through NautilusTrader, on tiny hand-made markets.

Facts about the simulated venue (pipelines/backtest/engine.py + NautilusTrader 1.221) the
expected numbers rely on:

- ``BookType.L1_MBP``: the book is the last quote (one level a side). A MARKET BUY takes
  the best ask; whatever the ask size does not cover is filled one tick further
  (NautilusTrader's L1 "slippage" of the rest), so a market order never rests.
- ``prob_slippage=0``, so a market order that fits in the ask size fills exactly at the ask.
- The backtest clock only moves with data: an order decided at ``t`` (latency 10 ms to
  BINANCE, half of its 20 ms round trip) reaches the matching engine with the first tick
  after ``t + 10 ms``, here the next quote 100 ms later.
- Fees: ``MakerTakerFeeModel`` charges ``quantity × price × fee`` of the instrument
  (taker 0.0005, maker 0.0002 on BINANCE-FUTURES BTC-USDT; taker 0.0005 on OKX) in the
  settlement currency USDT.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.identifiers import Venue

from execution_core.algorithms.params import VwapParams
from execution_core.algorithms.schedules import vwap_schedule
from execution_core.errors import DataError
from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.results import rules
from execution_core.ticks.window_loader import TickWindows
from pipelines.backtest import runner
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.runner import BacktestResult, derive_run_id, run_backtest
from tests.pipelines.backtest.conftest import (
    ANY_BTC,
    ASK,
    BID,
    BINANCE_BTC,
    DAY,
    OKX_BTC,
    SIGNAL_FILE,
    T0,
    Signal,
    events_frame,
    quote_frame,
    quotes,
    trade_frame,
    trades,
    windows_for,
)

TAKER_FEE = 0.0005  # BINANCE-FUTURES and OKX BTC-USDT perpetuals
MAKER_FEE = 0.0002
STARTING_CASH = BacktestConfig().starting_cash  # of each venue's account
# one account per venue the backtest has a market at, each opened with the configured cash
ALL_ACCOUNTS_CASH = STARTING_CASH * len(load_reference().backtest_venues())
LATENCY_TOLERANCE = dt.timedelta(milliseconds=200)  # venue latency + the quote step
MID = (BID + ASK) / 2


def run(
    signals: list[Signal],
    ticks: list[TickWindows],
    reference: InstrumentReference,
    config: BacktestConfig | None = None,
) -> BacktestResult:
    return run_backtest(
        "test-run", events_frame(signals), ticks, reference, config or BacktestConfig()
    )


def primary_and_children(result: BacktestResult) -> tuple[dict[str, Any], pl.DataFrame]:
    primaries = result.orders.filter(pl.col("parent_order_id").is_null())
    assert len(primaries) == 1
    primary = primaries.row(0, named=True)
    children = result.orders.filter(pl.col("parent_order_id") == primary["order_id"]).sort(
        "ts_submitted", "order_id"
    )
    return primary, children


def assert_consistent(
    result: BacktestResult, signals: list[Signal], reference: InstrumentReference
) -> None:
    """The blocking rules of the pipeline hold on the result frames."""
    assert rules.fills_match_positions(result.fills, result.positions) == []
    assert rules.children_within_primaries(result.orders) == []
    windows = windows_for(events_frame(signals), reference)
    assert rules.fills_inside_windows(result.fills, windows) == []
    assert rules.fees_non_negative(result.fills) == []
    assert rules.equity_adds_up(result.equity_curve) == []


# --- NORMAL: one market order, every number by hand -------------------------------------------


def test_normal_buy_fills_at_the_ask_with_the_taker_fee(reference: InstrumentReference) -> None:
    signals = [Signal(T0, 0.5)]
    result = run(signals, [quotes(BINANCE_BTC, quote_frame())], reference)

    (order,) = result.orders.to_dicts()
    assert order["parent_order_id"] is None
    assert order["operation_id"] == f"s1#0@{int(T0.timestamp()) * 10**9}"
    assert (order["side"], order["order_type"], order["exec_algorithm"]) == (
        "BUY",
        "MARKET",
        "NORMAL",
    )
    assert (order["status"], order["quantity"], order["filled_quantity"]) == ("FILLED", 0.5, 0.5)
    assert order["venue"] == "BINANCE-FUTURES"
    assert order["ts_submitted"] == T0  # decided at the signal: the quote at T0 is fresh

    (fill,) = result.fills.to_dicts()
    # A market BUY on an L1 book takes the best ask; 0.5 BTC fits in the 10 BTC shown, so it
    # all fills at one level: the ask, 100000.1. NautilusTrader's Price.as_double() of
    # 100000.1 is 1 ulp below the float 100000.1, hence rel=1e-12 (the exact value is pinned
    # by test_fill_prices_are_exact_tick_values below).
    assert fill["price"] == pytest.approx(ASK, rel=1e-12)
    assert order["avg_fill_price"] == pytest.approx(ASK, rel=1e-12)
    assert fill["quantity"] == 0.5
    assert fill["fee"] == pytest.approx(0.5 * ASK * TAKER_FEE, rel=1e-12)  # 25.000025
    assert (fill["liquidity_side"], fill["fee_currency"], fill["side"]) == ("TAKER", "USDT", "BUY")
    assert fill["order_id"] == order["order_id"]
    # the order reaches the venue with the next quote after T0 + latency
    assert T0 < fill["ts_event"] <= T0 + dt.timedelta(milliseconds=100)

    positions = result.positions
    assert positions["quantity"].to_list() == [0.5] * len(positions)
    assert positions["realized_pnl"].to_list() == [0.0] * len(positions)
    assert positions["avg_entry_price"][-1] == pytest.approx(ASK, rel=1e-12)
    # marked at the mid: 0.5 × (100000.05 − 100000.1) = −0.025
    assert positions["unrealized_pnl"][-1] == pytest.approx(0.5 * (MID - ASK), rel=1e-6)

    equity = result.equity_curve
    fee = 0.5 * ASK * TAKER_FEE
    assert equity["realized_pnl"].to_list() == [0.0] * len(equity)
    first, *after = equity.iter_rows(named=True)  # the first price of the day, then the fill
    assert first["cash"] == ALL_ACCOUNTS_CASH and first["ts_event"] < fill["ts_event"]
    for row in after:
        assert row["cash"] == pytest.approx(ALL_ACCOUNTS_CASH - fee, rel=1e-12)
        assert row["equity"] == pytest.approx(row["cash"] + row["unrealized_pnl"], abs=1e-9)
        assert row["drawdown"] <= 0
    assert equity["equity"][-1] == pytest.approx(ALL_ACCOUNTS_CASH - fee + 0.5 * (MID - ASK))

    summary = result.summary
    assert (summary["n_orders"], summary["n_fills"]) == (1, 1)
    assert summary["total_fees"] == pytest.approx(fee, rel=1e-12)
    assert summary["realized_pnl"] == 0.0
    assert summary["instruments"] == [BINANCE_BTC]
    assert summary["venues"] == ["BINANCE-FUTURES"]
    assert summary["strategy_ids"] == ["s1"]
    assert summary["rejected_signals"] == []
    (decision,) = result.decisions
    assert decision.arrival_price == pytest.approx(MID, rel=1e-12)
    # paid the half spread against the arrival mid: 0.05 / 100000.05 = 0.005 bps
    assert summary["slippage_bps"]["NORMAL"]["slippage_bps"] == pytest.approx(0.005, abs=1e-4)
    assert summary["slippage_bps"]["NORMAL"]["fill_ratio"] == 1.0
    assert_consistent(result, signals, reference)


def test_fill_prices_are_exact_tick_values(reference: InstrumentReference) -> None:
    result = run([Signal(T0, 0.5)], [quotes(BINANCE_BTC, quote_frame())], reference)
    assert result.fills["price"].to_list() == [ASK]


def test_orders_carry_the_signal_strategy_id(reference: InstrumentReference) -> None:
    result = run([Signal(T0, 0.5)], [quotes(BINANCE_BTC, quote_frame())], reference)
    assert result.orders["strategy_id"].to_list() == ["s1"]


# --- TWAP and VWAP ------------------------------------------------------------------------------


def test_twap_cuts_six_equal_children_twenty_seconds_apart(
    reference: InstrumentReference,
) -> None:
    signals = [Signal(T0, 1.2, algorithm="TWAP", params='{"duration_sec": 120, "max_slices": 6}')]
    result = run(signals, [quotes(BINANCE_BTC, quote_frame())], reference)

    primary, children = primary_and_children(result)
    assert len(result.orders) == 7
    assert (primary["exec_algorithm"], primary["quantity"]) == ("TWAP", 1.2)
    assert primary["status"] == "FILLED"
    assert primary["filled_quantity"] == pytest.approx(1.2, abs=1e-12)
    assert len(children) == 6
    assert children["exec_algorithm"].to_list() == ["TWAP"] * 6
    assert children["order_type"].to_list() == ["MARKET"] * 6
    assert children["quantity"].to_list() == [0.2] * 6
    assert sum(Decimal(repr(q)) for q in children["quantity"]) == Decimal("1.2")
    assert children["status"].to_list() == ["FILLED"] * 6
    submitted = children["ts_submitted"].to_list()
    assert submitted[0] - primary["ts_submitted"] <= LATENCY_TOLERANCE
    for earlier, later in itertools.pairwise(submitted):
        assert abs((later - earlier) - dt.timedelta(seconds=20)) <= LATENCY_TOLERANCE
    # every fill belongs to a child, none to the primary (it never reaches the venue)
    assert set(result.fills["order_id"]) == set(children["order_id"])
    assert result.fills["price"].to_list() == pytest.approx([ASK] * 6, rel=1e-12)
    assert result.summary["slippage_bps"]["TWAP"]["fill_ratio"] == 1.0
    assert_consistent(result, signals, reference)


def test_vwap_u_shape_follows_the_pure_schedule(reference: InstrumentReference) -> None:
    signals = [Signal(T0, 1.0, algorithm="VWAP", params='{"profile": "u_shape", "max_slices": 5}')]
    result = run(signals, [quotes(BINANCE_BTC, quote_frame())], reference)
    expected = vwap_schedule(1.0, VwapParams(profile="u_shape", max_slices=5), 0.001)

    primary, children = primary_and_children(result)
    assert primary["status"] == "FILLED"
    quantities = children["quantity"].to_list()
    assert quantities == [s.quantity for s in expected]
    assert sum(Decimal(repr(q)) for q in quantities) == Decimal("1")
    # u-shaped: heavier at both ends than in the middle
    middle = quantities[len(quantities) // 2]
    assert quantities[0] > middle and quantities[-1] > middle
    assert max(quantities) in (quantities[0], quantities[-1])
    offsets = [t - primary["ts_submitted"] for t in children["ts_submitted"]]
    for offset, part in zip(offsets, expected, strict=True):
        assert abs(offset - dt.timedelta(microseconds=part.offset_ns / 1000)) <= LATENCY_TOLERANCE
    assert_consistent(result, signals, reference)


# --- ICEBERG ------------------------------------------------------------------------------------


def test_iceberg_shows_one_child_of_at_most_the_display_at_a_time(
    reference: InstrumentReference,
) -> None:
    # NautilusTrader 1.221 fills a resting BUY limit when the ask reaches its price; with
    # trade_execution a trade at price P with a BUY aggressor means the ask was at P. So
    # trades printing at the bid (our child's price) every 2 s fill the working child
    # 0.03 BTC at a time (a SELL-aggressor trade at the bid only moves the simulated bid
    # in 1.221, it does not fill resting buys).
    ticks = [
        quotes(BINANCE_BTC, quote_frame()),
        trades(
            BINANCE_BTC,
            trade_frame(
                T0 + dt.timedelta(seconds=1),
                60,
                step=dt.timedelta(seconds=2),
                price=BID,
                size=0.03,
                aggressor_side="BUY",
            ),
        ),
    ]
    signals = [Signal(T0, 0.5, algorithm="ICEBERG", params='{"display_quantity": 0.1}')]
    result = run(signals, ticks, reference)

    primary, children = primary_and_children(result)
    assert primary["status"] == "FILLED"
    assert primary["filled_quantity"] == pytest.approx(0.5, abs=1e-12)
    assert len(children) == 5
    assert all(q <= 0.1 + 1e-12 for q in children["quantity"])
    assert sum(children["quantity"]) <= primary["quantity"] + 1e-12
    assert children["order_type"].to_list() == ["LIMIT"] * 5
    assert children["price"].to_list() == pytest.approx([BID] * 5, rel=1e-12)  # joins the bid
    assert children["status"].to_list() == ["FILLED"] * 5
    # never two children working at once: each is shown once the previous one is done
    spans = list(zip(children["ts_submitted"], children["ts_last"], strict=True))
    for (_, last_end), (next_start, _) in itertools.pairwise(spans):
        assert next_start >= last_end
    fills = result.fills
    assert fills["liquidity_side"].unique().to_list() == ["MAKER"]
    for row in fills.iter_rows(named=True):
        assert row["fee"] == pytest.approx(row["quantity"] * BID * MAKER_FEE, rel=1e-9)
    # 0.03 + 0.03 + 0.03 + 0.01 per child: a fill never exceeds what the child has left
    per_child = fills.group_by("order_id").agg(pl.col("quantity").sum())
    assert per_child["quantity"].to_list() == pytest.approx([0.1] * 5, abs=1e-12)
    assert_consistent(result, signals, reference)


def test_iceberg_stops_at_its_duration(reference: InstrumentReference) -> None:
    # Fills for the first 20 s, nothing until the 60 s deadline, then fills again from
    # 100 s: the working child is cancelled at the deadline and nothing fills after it.
    buyers = [
        trade_frame(
            T0 + dt.timedelta(seconds=5),
            4,
            step=dt.timedelta(seconds=5),
            price=BID,
            size=0.05,
            aggressor_side="BUY",
        ),
        trade_frame(
            T0 + dt.timedelta(seconds=100),
            10,
            step=dt.timedelta(seconds=5),
            price=BID,
            size=0.05,
            aggressor_side="BUY",
            id_prefix="late",
        ),
    ]
    signals = [
        Signal(T0, 0.5, algorithm="ICEBERG", params='{"display_quantity": 0.1, "duration_sec": 60}')
    ]
    result = run(
        signals, [quotes(BINANCE_BTC, quote_frame()), trades(BINANCE_BTC, *buyers)], reference
    )

    primary, children = primary_and_children(result)
    assert primary["status"] == "PARTIALLY_FILLED"
    assert primary["filled_quantity"] == pytest.approx(0.2, abs=1e-12)
    assert children["status"].to_list() == ["FILLED", "FILLED", "CANCELED"]
    assert max(result.fills["ts_event"].to_list()) < T0 + dt.timedelta(seconds=60)
    assert result.summary["slippage_bps"]["ICEBERG"]["fill_ratio"] == pytest.approx(0.4)
    assert_consistent(result, signals, reference)


# --- the smart router ---------------------------------------------------------------------------


def _cost(fee: float, bid: float, ask: float, latency_ms: float, impact: float = 0.0) -> float:
    mid = (bid + ask) / 2
    return fee * 1e4 + (ask - bid) / 2 / mid * 1e4 + impact + 0.01 * latency_ms


def test_router_picks_the_cheaper_venue(reference: InstrumentReference) -> None:
    ticks = [
        quotes(BINANCE_BTC, quote_frame()),  # spread 0.1, 20 ms
        quotes(OKX_BTC, quote_frame(bid=99_999.9, ask=100_000.2)),  # spread 0.3, 35 ms
    ]
    signals = [Signal(T0, 0.5, key=ANY_BTC)]
    result = run(signals, ticks, reference)

    assert result.fills["venue"].to_list() == ["BINANCE-FUTURES"]
    assert result.fills["instrument_key"].to_list() == [BINANCE_BTC]
    assert result.orders["venue"].to_list() == ["BINANCE-FUTURES"]
    (decision,) = result.decisions
    assert decision.venue_key == BINANCE_BTC
    scores = {s["venue_key"]: s for s in decision.routing["scores"]}
    assert [s["venue_key"] for s in decision.routing["scores"]] == [BINANCE_BTC, OKX_BTC]
    assert scores[BINANCE_BTC]["total_bps"] == pytest.approx(_cost(TAKER_FEE, BID, ASK, 20))
    assert scores[OKX_BTC]["total_bps"] == pytest.approx(_cost(TAKER_FEE, 99_999.9, 100_000.2, 35))
    assert scores[BINANCE_BTC]["total_bps"] < scores[OKX_BTC]["total_bps"]
    # BYBIT lists the instrument too, but has no data in this run
    assert decision.routing["rejected"] == [
        {"venue_key": "BYBIT:PERPETUAL:BTC-USDT@LIN", "reason": "no book"}
    ]
    assert_consistent(result, signals, reference)


@pytest.mark.parametrize(
    ("binance_ask_size", "why"),
    [(0.0, "rejected"), (0.01, "impact")],
    ids=["binance-ask-empty", "binance-book-thin"],
)
def test_router_avoids_a_venue_without_size(
    reference: InstrumentReference, binance_ask_size: float, why: str
) -> None:
    okx_ask = 100_000.2
    ticks = [
        quotes(BINANCE_BTC, quote_frame(ask_size=binance_ask_size)),
        quotes(OKX_BTC, quote_frame(bid=99_999.9, ask=okx_ask)),
    ]
    signals = [Signal(T0, 0.5, key=ANY_BTC)]
    result = run(signals, ticks, reference)

    (decision,) = result.decisions
    assert decision.venue_key == OKX_BTC
    (fill,) = result.fills.to_dicts()
    assert (fill["venue"], fill["instrument_key"]) == ("OKX", OKX_BTC)
    # OKX's reference quantities are contracts of 0.01 BTC; the backtest instrument is in
    # BTC (size increment 0.0001), so the whole 0.5 BTC fills at the ask.
    assert fill["quantity"] == 0.5
    assert fill["price"] == pytest.approx(okx_ask, rel=1e-12)
    assert fill["fee"] == pytest.approx(0.5 * okx_ask * TAKER_FEE, rel=1e-12)
    scores = {s["venue_key"]: s for s in decision.routing["scores"]}
    rejected = {r["venue_key"]: r["reason"] for r in decision.routing["rejected"]}
    if why == "rejected":
        assert BINANCE_BTC not in scores
        assert rejected[BINANCE_BTC].startswith("no size at the touch")
    else:
        # impact = 5 bps × (0.5 / 0.01 − 1) = 245 bps on BINANCE-FUTURES
        assert scores[BINANCE_BTC]["impact_bps"] == pytest.approx(245.0)
        assert scores[OKX_BTC]["total_bps"] < scores[BINANCE_BTC]["total_bps"]
    assert_consistent(result, signals, reference)


# --- bad input: fails fast, naming the signal file and row, before any engine exists ----------


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an engine was built for a bad signal")

    monkeypatch.setattr(runner, "build_engine", refuse)


@pytest.mark.parametrize(
    ("key", "algorithm", "params", "problem"),
    [
        (
            "ANY:PERPETUAL:ETH-USDT@LIN",
            "NORMAL",
            None,
            "no venue with tick data lists ANY:PERPETUAL:ETH-USDT@LIN",
        ),
        (
            "BINANCE-FUTURES:PERPETUAL:ETH-USDT@LIN",
            "NORMAL",
            None,
            "no venue with tick data lists BINANCE-FUTURES:PERPETUAL:ETH-USDT@LIN",
        ),
    ],
    # (a bad algorithm or params never gets here: the signals loader rejects it, once)
    ids=["any-eth", "binance-eth"],
)
def test_bad_signal_raises_data_error_naming_file_and_row(
    reference: InstrumentReference,
    no_engine: None,
    key: str,
    algorithm: str,
    params: str | None,
    problem: str,
) -> None:
    good = Signal(T0, 0.5, row=2)
    bad = Signal(
        T0 + dt.timedelta(seconds=1), 1.0, key=key, algorithm=algorithm, params=params, row=7
    )
    with pytest.raises(DataError) as caught:
        run([good, bad], [quotes(BINANCE_BTC, quote_frame())], reference)
    assert str(caught.value).startswith(f"{SIGNAL_FILE} row 7: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "key", ["BINANCE-FUTURES:PERPETUAL:DOGE-USDT@LIN", "NOT-AN-ID"], ids=["unknown", "invalid"]
)
def test_unknown_instrument_key_names_file_and_row(
    reference: InstrumentReference, no_engine: None, key: str
) -> None:
    with pytest.raises(DataError, match=re.escape(f"{SIGNAL_FILE} row 7: ")):
        run([Signal(T0, 1.0, key=key, row=7)], [quotes(BINANCE_BTC, quote_frame())], reference)


# --- determinism and run ids --------------------------------------------------------------------


def test_same_inputs_give_identical_results(reference: InstrumentReference) -> None:
    def once() -> BacktestResult:
        signals = [
            Signal(T0, 1.2, algorithm="TWAP", params='{"duration_sec": 120, "max_slices": 6}'),
            Signal(T0 + dt.timedelta(seconds=30), -0.4, previous=1.2, key=ANY_BTC, row=1),
        ]
        ticks = [
            quotes(BINANCE_BTC, quote_frame()),
            quotes(OKX_BTC, quote_frame(bid=99_999.9, ask=100_000.2)),
        ]
        return run(signals, ticks, reference)

    first, second = once(), once()
    for name in ("orders", "fills", "positions", "equity_curve"):
        assert getattr(first, name).equals(getattr(second, name)), name
    assert first.summary == second.summary
    assert [d.routing for d in first.decisions] == [d.routing for d in second.decisions]
    assert len(first.fills) == 7


def test_derive_run_id_is_stable_and_follows_inputs_and_config() -> None:
    inputs = {"events": "a" * 64, "ticks": {"quotes/x.parquet": "b" * 64}}
    config = BacktestConfig()
    run_id = derive_run_id(DAY, inputs, config)
    assert re.fullmatch(rf"bt-{DAY}-[0-9a-f]{{12}}", run_id)
    assert derive_run_id(DAY, dict(inputs), BacktestConfig()) == run_id
    reordered = {"ticks": inputs["ticks"], "events": inputs["events"]}
    assert derive_run_id(DAY, reordered, config) == run_id
    assert derive_run_id(DAY, inputs, BacktestConfig(random_seed=43)) != run_id
    assert derive_run_id(DAY, inputs, BacktestConfig(starting_cash=5.0)) != run_id
    assert derive_run_id(DAY, {**inputs, "events": "c" * 64}, config) != run_id
    other_ticks = {"quotes/x.parquet": "d" * 64}
    assert derive_run_id(DAY, {**inputs, "ticks": other_ticks}, config) != run_id
    assert derive_run_id("2025-01-16", inputs, config) != run_id


# --- the end of the execution window ------------------------------------------------------------


def test_normal_order_larger_than_the_book_fills_inside_its_window(
    reference: InstrumentReference,
) -> None:
    # 0.01 BTC shown at the ask for the whole window, 50 BTC wanted. On an L1 book
    # NautilusTrader fills a market order's rest one tick through the touch, so the order
    # does not rest until the window end: 0.01 at the ask, 49.99 one tick higher.
    signals = [Signal(T0, 50.0)]
    result = run(signals, [quotes(BINANCE_BTC, quote_frame(ask_size=0.01))], reference)
    (order,) = result.orders.to_dicts()
    assert order["status"] == "FILLED"
    fills = result.fills.sort("price")
    assert fills["quantity"].to_list() == pytest.approx([0.01, 49.99], abs=1e-12)
    assert fills["price"].to_list() == pytest.approx([ASK, ASK + 0.1], rel=1e-12)
    assert max(fills["ts_event"].to_list()) < T0 + dt.timedelta(minutes=5)
    windows = windows_for(events_frame(signals), reference)
    assert rules.fills_inside_windows(result.fills, windows) == []
    assert_consistent(result, signals, reference)


def test_resting_orders_are_cancelled_at_the_end_of_the_last_window(
    reference: InstrumentReference,
) -> None:
    signal = Signal(T0, 0.5, algorithm="ICEBERG", params='{"display_quantity": 0.1}')
    result = run([signal], [quotes(BINANCE_BTC, quote_frame())], reference)  # never fills
    primary, children = primary_and_children(result)
    assert primary["status"] == "CANCELED"
    assert children["status"].to_list() == ["CANCELED"]


def test_no_fill_of_an_operation_after_its_window(reference: InstrumentReference) -> None:
    later = T0 + dt.timedelta(minutes=10)
    signals = [
        Signal(T0, 0.5, algorithm="ICEBERG", params='{"display_quantity": 0.1}'),
        Signal(later, 0.6, previous=0.5, row=1),
    ]
    ticks = [
        quotes(
            BINANCE_BTC,
            quote_frame(),  # the ICEBERG child rests at 100000.0 and never fills here
            quote_frame(later, bid=99_990.0, ask=99_990.1),  # the market came down since
        )
    ]
    result = run(signals, ticks, reference)
    first_op = result.decisions[0].event.operation_id
    first_orders = result.orders.filter(pl.col("operation_id") == first_op)["order_id"]
    late = result.fills.filter(
        pl.col("order_id").is_in(first_orders.to_list())
        & (pl.col("ts_event") >= T0 + dt.timedelta(minutes=5))
    )
    assert late.is_empty(), late.to_dicts()


# --- our ledger against NautilusTrader's own account --------------------------------------------


T1, T2 = T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=20)


def _flip_sequence() -> tuple[list[Signal], list[TickWindows]]:
    """Three windows 10 minutes apart, 10 s of constant quotes each: buy, flip, close."""
    ten_seconds = dt.timedelta(seconds=10)
    signals = [
        Signal(T0, 0.5),  # buy 0.5 at 100000.1
        Signal(T1, -0.3, previous=0.5, row=1),  # sell 0.8 at 101000.0: close 0.5, open −0.3
        Signal(T2, 0.0, previous=-0.3, row=2),  # buy 0.3 at 100500.1: flat
    ]
    ticks = [
        quotes(
            BINANCE_BTC,
            quote_frame(duration=ten_seconds),
            quote_frame(T1, duration=ten_seconds, bid=101_000.0, ask=101_000.1),
            quote_frame(T2, duration=ten_seconds, bid=100_500.0, ask=100_500.1),
        )
    ]
    return signals, ticks


class _KeepEngine:
    """Delegates to a BacktestEngine but ignores dispose(), so the test can read it after."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def dispose(self) -> None:
        pass


def test_ledger_matches_the_nautilus_account(
    reference: InstrumentReference, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept: list[Any] = []
    build = runner.build_engine

    def keeping(*args: Any, **kwargs: Any) -> Any:
        engine, instruments = build(*args, **kwargs)
        kept.append(engine)
        return _KeepEngine(engine), instruments

    monkeypatch.setattr(runner, "build_engine", keeping)
    signals, ticks = _flip_sequence()
    try:
        result = run(signals, ticks, reference)
        (engine,) = kept
        account = engine.cache.account_for_venue(Venue("BINANCE"))
        nautilus_change = account.balance_total(USDT).as_double() - STARTING_CASH
    finally:
        for engine in kept:
            engine.dispose()

    fills = result.fills.sort("ts_event")
    assert fills["side"].to_list() == ["BUY", "SELL", "BUY"]
    assert fills["quantity"].to_list() == [0.5, 0.8, 0.3]
    assert fills["price"].to_list() == pytest.approx([100_000.1, 101_000.0, 100_500.1], rel=1e-12)
    fees = [0.5 * 100_000.1 * TAKER_FEE, 0.8 * 101_000.0 * TAKER_FEE, 0.3 * 100_500.1 * TAKER_FEE]
    assert fills["fee"].to_list() == pytest.approx(fees, rel=1e-12)
    realized = 0.5 * (101_000.0 - 100_000.1) + 0.3 * (101_000.0 - 100_500.1)  # 499.95 + 149.97
    final = result.equity_curve.row(-1, named=True)
    assert final["realized_pnl"] == pytest.approx(realized, rel=1e-12)
    assert final["cash"] == pytest.approx(ALL_ACCOUNTS_CASH + realized - sum(fees), rel=1e-12)
    assert result.positions["quantity"][-1] == 0.0
    # NautilusTrader's margin account moved by realized PnL minus commissions, like ours
    assert nautilus_change == pytest.approx(realized - sum(fees), abs=1e-6)
    assert final["cash"] - ALL_ACCOUNTS_CASH == pytest.approx(nautilus_change, abs=1e-6)
    (venue,) = {k.split(":", 1)[0] for k in result.fills["instrument_key"]}
    account = result.summary["accounts"][venue]  # the venue's own account, as NT's
    assert account["cash"] - STARTING_CASH == pytest.approx(nautilus_change, abs=1e-6)
    assert_consistent(result, signals, reference)


def test_drawdown_of_the_flip_sequence_is_the_real_one(reference: InstrumentReference) -> None:
    signals, ticks = _flip_sequence()
    result = run(signals, ticks, reference)
    first_fee = 0.5 * 100_000.1 * TAKER_FEE
    # the deepest point: after the first fee, marked 0.025 below the entry
    assert result.summary["max_drawdown"] == pytest.approx(-(first_fee + 0.025), rel=1e-6)
    # the run ends flat at its best equity
    assert result.equity_curve["drawdown"][-1] == pytest.approx(0.0, abs=1e-9)
