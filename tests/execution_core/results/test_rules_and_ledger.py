"""Result-set rules, the ledger and netting position accounting, on hand-made frames.

Every rule gets a frame that breaks it (a problem naming the culprit) and one that keeps
it (``[]``). The ledger numbers are worked out by hand below; prices, quantities and fees
are chosen to be exact in binary floating point, so most comparisons are exact.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from execution_core.accounting.portfolio import Portfolio
from execution_core.accounting.positions import Position, apply_fill
from execution_core.results import rules
from execution_core.results.ledger import EMPTY_MARKS, build_ledger, mark_samples
from execution_core.results.schemas import FILL_COLUMNS, POSITION_COLUMNS, RESULT_SCHEMAS
from execution_core.validation import schema_problems

TS = pl.Datetime("ns", "UTC")
BASE = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.UTC)
KEY = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
OTHER = "OKX:PERPETUAL:BTC-USDT@LIN"


def at(seconds: float) -> dt.datetime:
    return BASE + dt.timedelta(seconds=seconds)


def fills(*rows: tuple[float, str, float, float, float], key: str = KEY) -> pl.DataFrame:
    """Fills of ``key``: (seconds, side, quantity, price, fee) each."""
    return pl.DataFrame(
        [
            (
                f"f{i}",
                f"o{i}",
                key,
                key.split(":", 1)[0],
                side,
                qty,
                price,
                fee,
                "USDT",
                "TAKER",
                at(sec),
            )
            for i, (sec, side, qty, price, fee) in enumerate(rows)
        ],
        schema=FILL_COLUMNS,
        orient="row",
    )


def marks(*rows: tuple[float, float], key: str = KEY) -> pl.DataFrame:
    return pl.DataFrame(
        [(at(sec), key, price) for sec, price in rows], schema=EMPTY_MARKS.schema, orient="row"
    )


def positions(*rows: tuple[float, float], key: str = KEY) -> pl.DataFrame:
    """Position rows of ``key``: (seconds, quantity) each."""
    return pl.DataFrame(
        [(at(sec), key, key.split(":", 1)[0], qty, 100.0, 0.0, 0.0) for sec, qty in rows],
        schema=POSITION_COLUMNS,
        orient="row",
    )


def orders(*rows: tuple[str, str | None, float, float]) -> pl.DataFrame:
    """(order_id, parent_order_id, quantity, filled_quantity) each."""
    return pl.DataFrame(
        rows,
        schema={
            "order_id": pl.String,
            "parent_order_id": pl.String,
            "quantity": pl.Float64,
            "filled_quantity": pl.Float64,
        },
        orient="row",
    )


def windows(*spans: tuple[float, float], key: str = KEY) -> pl.DataFrame:
    return pl.DataFrame(
        [(key, at(start), at(end)) for start, end in spans],
        schema={"instrument_key": pl.String, "window_start": TS, "window_end": TS},
        orient="row",
    )


# --- rules --------------------------------------------------------------------------------------


def test_fills_match_positions() -> None:
    traded = fills((1, "BUY", 0.5, 100.0, 0.0), (2, "SELL", 0.2, 101.0, 0.0))
    assert rules.fills_match_positions(traded, positions((1, 0.5), (2, 0.3))) == []
    assert rules.fills_match_positions(fills(), positions()) == []

    (problem,) = rules.fills_match_positions(traded, positions((1, 0.5), (2, 0.4)))
    assert KEY in problem and "0.3" in problem and "0.4" in problem
    # the final position is the latest row, whatever the frame's order
    shuffled = positions((2, 0.3), (1, 0.5))
    assert rules.fills_match_positions(traded, shuffled) == []
    # fills without any position row, and a position without fills
    assert len(rules.fills_match_positions(traded, positions())) == 1
    (orphan,) = rules.fills_match_positions(fills(), positions((1, 1.0), key=OTHER))
    assert OTHER in orphan


def test_children_within_primaries() -> None:
    good = orders(("p", None, 1.0, 1.0), ("c1", "p", 0.5, 0.5), ("c2", "p", 0.5, 0.5))
    assert rules.children_within_primaries(good) == []
    assert rules.children_within_primaries(orders(("p", None, 1.0, 0.0))) == []

    (too_big,) = rules.children_within_primaries(
        orders(("p", None, 1.0, 0.0), ("c", "p", 1.5, 0.0))
    )
    assert "child c" in too_big and "1.5" in too_big
    (orphan,) = rules.children_within_primaries(orders(("c", "gone", 0.5, 0.5)))
    assert "primary gone is missing" in orphan
    overfilled = orders(("p", None, 1.0, 1.2), ("c1", "p", 0.6, 0.6), ("c2", "p", 0.6, 0.6))
    (problem,) = rules.children_within_primaries(overfilled)
    assert "primary p" in problem and "1.2" in problem


def test_fills_inside_windows() -> None:
    spans = windows((0, 300), (600, 900))
    inside = fills(
        (0, "BUY", 1.0, 100.0, 0.0), (299.5, "SELL", 1.0, 100.0, 0.0), (600, "BUY", 1.0, 1.0, 0.0)
    )
    assert rules.fills_inside_windows(inside, spans) == []
    assert rules.fills_inside_windows(fills(), spans) == []

    # windows are half-open: a fill at the end, or between windows, is outside
    outside = fills((300, "BUY", 1.0, 100.0, 0.0), (450, "SELL", 1.0, 100.0, 0.0))
    problems = rules.fills_inside_windows(outside, spans)
    assert len(problems) == 2
    assert problems[0].startswith(f"fill f0 of {KEY} at ")
    # another instrument's windows do not count
    (problem,) = rules.fills_inside_windows(fills((10, "BUY", 1.0, 100.0, 0.0), key=OTHER), spans)
    assert OTHER in problem


def test_fees_non_negative() -> None:
    assert (
        rules.fees_non_negative(fills((1, "BUY", 1.0, 100.0, 0.05), (2, "BUY", 1.0, 1.0, 0.0)))
        == []
    )
    (problem,) = rules.fees_non_negative(
        fills((1, "BUY", 1.0, 100.0, 0.05), (2, "BUY", 1.0, 1.0, -0.01))
    )
    assert problem == "fill f1: fee -0.01 < 0"


def test_equity_adds_up() -> None:
    good = pl.DataFrame(
        {"equity": [100.0, 95.0], "cash": [100.0, 99.0], "unrealized_pnl": [0.0, -4.0]}
    )
    assert rules.equity_adds_up(good) == []
    bad = good.with_columns(pl.Series("equity", [100.0, 96.0]))
    (problem,) = rules.equity_adds_up(bad)
    assert problem.startswith("equity row 1: 96.0 != cash 99.0")
    # within a micro-unit is fine (float noise)
    assert rules.equity_adds_up(good.with_columns(pl.col("equity") + 1e-9)) == []


# --- ledger -------------------------------------------------------------------------------------

START = 1_000.0


def ledger(fills: pl.DataFrame, marks: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(positions, equity curve) of a day opening flat with one account of START."""
    result = build_ledger(fills, marks, Portfolio(accounts={"BINANCE-FUTURES": START}))
    return result.positions, result.equity_curve


# add, add (average 105), reduce (realize +7.5), flip through zero (realize −7.5, short
# 0.5 at 100), close (realize +5); a mark between every two fills.
LEDGER_FILLS = fills(
    (1, "BUY", 1.0, 100.0, 0.5),
    (3, "BUY", 1.0, 110.0, 0.5),
    (5, "SELL", 0.5, 120.0, 0.25),
    (7, "SELL", 2.0, 100.0, 1.0),
    (9, "BUY", 0.5, 90.0, 0.25),
)
LEDGER_MARKS = marks((2, 104.0), (4, 108.0), (6, 118.0), (8, 95.0), (10, 92.0))
# (seconds, quantity, average entry, realized, cash) after each event, by hand
EXPECTED = [
    (1, 1.0, 100.0, 0.0, 999.5),
    (2, 1.0, 100.0, 0.0, 999.5),
    (3, 2.0, 105.0, 0.0, 999.0),
    (4, 2.0, 105.0, 0.0, 999.0),
    (5, 1.5, 105.0, 7.5, 1006.25),
    (6, 1.5, 105.0, 7.5, 1006.25),
    (7, -0.5, 100.0, 0.0, 997.75),
    (8, -0.5, 100.0, 0.0, 997.75),
    (9, 0.0, 0.0, 5.0, 1002.5),
    (10, 0.0, 0.0, 5.0, 1002.5),
]
# unrealized PnL at the marks: 1×(104−100), 2×(108−105), 1.5×(118−105), −0.5×(95−100), flat
MARK_UNREALIZED = {2: 4.0, 4: 6.0, 6: 19.5, 8: 2.5, 10: 0.0}


def test_ledger_positions_and_cash_by_hand() -> None:
    position_frame, equity = ledger(LEDGER_FILLS, LEDGER_MARKS)

    assert position_frame["ts_event"].to_list() == [at(s) for s, *_ in EXPECTED]
    assert position_frame["quantity"].to_list() == [q for _, q, *_ in EXPECTED]
    assert position_frame["avg_entry_price"].to_list() == [a for _, _, a, *_ in EXPECTED]
    assert position_frame["realized_pnl"].to_list() == [r for *_, r, _ in EXPECTED]
    assert position_frame["venue"].unique().to_list() == ["BINANCE-FUTURES"]

    assert equity["ts_event"].to_list() == [at(s) for s, *_ in EXPECTED]
    assert equity["cash"].to_list() == [c for *_, c in EXPECTED]
    assert equity["realized_pnl"].to_list() == [r for *_, r, _ in EXPECTED]
    by_time = {row["ts_event"]: row for row in equity.iter_rows(named=True)}
    for second, unrealized in MARK_UNREALIZED.items():
        row = by_time[at(second)]
        assert row["unrealized_pnl"] == unrealized
        assert row["equity"] == row["cash"] + unrealized
    marked = position_frame.filter(pl.col("ts_event").is_in([at(s) for s in MARK_UNREALIZED]))
    assert marked["unrealized_pnl"].to_list() == list(MARK_UNREALIZED.values())

    # the curve is self-consistent: drawdown = equity − running peak (from the start cash)
    peak = START
    for row in equity.iter_rows(named=True):
        peak = max(peak, row["equity"])
        assert row["drawdown"] == row["equity"] - peak <= 0
    assert rules.equity_adds_up(equity) == []
    assert rules.fills_match_positions(LEDGER_FILLS, position_frame) == []
    assert schema_problems(position_frame, RESULT_SCHEMAS["positions.parquet"], "positions") == []
    assert schema_problems(equity, RESULT_SCHEMAS["equity_curve.parquet"], "equity") == []


def test_ledger_values_positions_at_the_fill_price_at_a_fill() -> None:
    _, equity = ledger(LEDGER_FILLS, LEDGER_MARKS)
    by_time = {row["ts_event"]: row for row in equity.iter_rows(named=True)}
    # equity right after each fill, marked at that fill's price
    for second, expected in {1: 999.5, 3: 1009.0, 5: 1028.75, 7: 997.75, 9: 1002.5}.items():
        assert by_time[at(second)]["equity"] == expected, second
    assert equity["drawdown"].min() == -31.0


def test_ledger_two_instruments_add_up() -> None:
    both = pl.concat(
        [
            fills((1, "BUY", 1.0, 100.0, 0.5)),
            fills((2, "SELL", 2.0, 50.0, 0.5), key=OTHER),
        ]
    )
    position_frame, equity = ledger(
        both, pl.concat([marks((3, 104.0)), marks((4, 45.0), key=OTHER)])
    )
    final = equity.row(-1, named=True)
    # long 1 from 100 marked 104 (+4), short 2 from 50 marked 45 (+10), fees 1
    assert final["unrealized_pnl"] == 14.0
    assert final["cash"] == START - 1.0
    assert final["equity"] == START - 1.0 + 14.0
    last = position_frame.group_by("instrument_key").agg(pl.col("quantity").last())
    assert dict(last.iter_rows()) == {KEY: 1.0, OTHER: -2.0}
    assert set(position_frame["venue"]) == {"BINANCE-FUTURES", "OKX"}


def test_ledger_without_fills_is_flat() -> None:
    position_frame, equity = ledger(fills(), marks((1, 100.0), (2, 101.0)))
    assert position_frame.is_empty()
    assert equity["equity"].to_list() == [START, START]
    assert equity["drawdown"].to_list() == [0.0, 0.0]
    position_frame, equity = ledger(fills(), EMPTY_MARKS)
    assert position_frame.is_empty() and equity.is_empty()


def test_mark_samples_keep_the_first_mid_and_the_last_of_each_bucket() -> None:
    quotes = pl.DataFrame(
        {
            "ts_event": [at(0), at(4), at(9.5), at(12), at(31)],
            "bid_price": [100.0, 101.0, 102.0, 103.0, 104.0],
            "bid_size": [1.0] * 5,
            "ask_price": [101.0, 102.0, 103.0, 104.0, 105.0],
            "ask_size": [1.0] * 5,
        },
        schema={
            "ts_event": TS,
            "bid_price": pl.Float64,
            "bid_size": pl.Float64,
            "ask_price": pl.Float64,
            "ask_size": pl.Float64,
        },
    )
    sampled = mark_samples(quotes, KEY)
    # the first quote (the day's first price), then the last of each 10 s bucket
    assert sampled["ts_event"].to_list() == [at(0), at(9.5), at(12), at(31)]
    assert sampled["mark_price"].to_list() == [100.5, 102.5, 103.5, 104.5]
    assert sampled["instrument_key"].unique().to_list() == [KEY]
    assert mark_samples(quotes.clear(), KEY).is_empty()


# --- apply_fill ---------------------------------------------------------------------------------


def test_apply_fill_open_add_reduce_close() -> None:
    long = apply_fill(Position(), 1.0, 100.0, fee=0.1)
    assert long == Position(1.0, 100.0, 0.0, 0.1)
    added = apply_fill(long, 3.0, 120.0, fee=0.3)
    assert (added.quantity, added.avg_entry_price) == (4.0, 115.0)
    reduced = apply_fill(added, -1.0, 125.0)
    assert (reduced.quantity, reduced.avg_entry_price, reduced.realized_pnl) == (3.0, 115.0, 10.0)
    closed = apply_fill(reduced, -3.0, 105.0)
    assert closed == Position(0.0, 0.0, 10.0 - 30.0, 0.1 + 0.3)
    assert closed.unrealized_pnl(1e9) == 0.0
    # realized PnL excludes fees; fees accumulate apart
    assert closed.realized_pnl == -20.0 and closed.fees == pytest.approx(0.4)


def test_apply_fill_short_side_and_flips() -> None:
    short = apply_fill(Position(), -2.0, 50.0)
    assert (short.quantity, short.avg_entry_price) == (-2.0, 50.0)
    assert short.unrealized_pnl(40.0) == 20.0  # a short gains when the price falls
    more = apply_fill(short, -2.0, 60.0)
    assert (more.quantity, more.avg_entry_price) == (-4.0, 55.0)
    flipped = apply_fill(more, 5.0, 45.0)  # buys back 4 (+40), opens long 1 at 45
    assert (flipped.quantity, flipped.avg_entry_price, flipped.realized_pnl) == (1.0, 45.0, 40.0)
    back = apply_fill(flipped, -3.0, 50.0)  # sells 1 (+5), opens short 2 at 50
    assert (back.quantity, back.avg_entry_price, back.realized_pnl) == (-2.0, 50.0, 45.0)


def test_apply_fill_closes_through_float_noise() -> None:
    position = apply_fill(Position(), 0.3, 100.0)
    closed = apply_fill(position, -(0.1 + 0.2), 100.0)  # −0.30000000000000004
    assert (closed.quantity, closed.avg_entry_price) == (0.0, 0.0)
    assert closed.realized_pnl == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("quantity", "price"),
    [(0.0, 100.0), (-0.0, 100.0), (1.0, 0.0), (1.0, -5.0), (-1.0, -100.0)],
)
def test_apply_fill_rejects_invalid_fills(quantity: float, price: float) -> None:
    start = Position(1.0, 100.0)
    with pytest.raises(ValueError, match="invalid fill"):
        apply_fill(start, quantity, price)


@pytest.mark.parametrize(
    ("quantity", "price"),
    [(1.0, math.nan), (math.nan, 100.0), (1.0, math.inf), (math.inf, 100.0)],
    ids=["nan-price", "nan-quantity", "inf-price", "inf-quantity"],
)
def test_apply_fill_rejects_non_finite_fills(quantity: float, price: float) -> None:
    with pytest.raises(ValueError, match="invalid fill"):
        apply_fill(Position(1.0, 100.0), quantity, price)
