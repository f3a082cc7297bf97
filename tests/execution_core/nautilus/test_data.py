"""Tick frames → NautilusTrader ticks: exactness, error paths, real data, engine smoke test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.enums import AccountType, AggressorSide, OmsType
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import FIXED_PRECISION, Currency, Money, Price, Quantity
from nautilus_trader.persistence.wranglers import QuoteTickDataWrangler, TradeTickDataWrangler

from execution_core.errors import DataError
from execution_core.instruments.reference import (
    InstrumentReference,
    InstrumentSpec,
    load_reference,
)
from execution_core.nautilus.data import merged_stream, quote_ticks, trade_ticks
from execution_core.nautilus.instruments import quantity_scale, to_nautilus_instrument, venue_of
from execution_core.ticks.converters.binance import read_quotes_fixture, read_trades_fixture
from execution_core.ticks.schema import QUOTE_COLUMNS, TRADE_COLUMNS

BINANCE_PERP = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
BINANCE_SPOT = "BINANCE-SPOT:SPOT_PAIR:BTC-USDT"
OKX_PERP = "OKX:PERPETUAL:BTC-USDT@LIN"
T0 = 1_736_899_200_000_000_000  # 2025-01-15T00:00:00Z in ns


@pytest.fixture(scope="module")
def reference() -> InstrumentReference:
    return load_reference()


@pytest.fixture(scope="module")
def perp(reference: InstrumentReference) -> Instrument:
    return to_nautilus_instrument(reference.get(BINANCE_PERP))


@pytest.fixture(scope="module")
def spot_2021(reference: InstrumentReference) -> InstrumentSpec:
    """BINANCE-SPOT BTC-USDT as listed in January 2021: sizes had 6 decimals, not 5
    (``binance_btcusdt_instrument_repr.txt``: size_precision=6, size_increment=0.000001)."""
    step = Decimal("0.000001")
    return reference.get(BINANCE_SPOT).model_copy(
        update={"size_precision": 6, "size_increment": step, "lot_size": step, "min_quantity": step}
    )


def _ts(offsets_ns: list[int]) -> pl.Series:
    return pl.Series("ts_event", [T0 + o for o in offsets_ns], dtype=pl.Int64).cast(
        TRADE_COLUMNS["ts_event"]
    )


def _trades(
    prices: list[float],
    sizes: list[float],
    sides: list[str],
    ids: list[str] | None = None,
    offsets: list[int] | None = None,
) -> pl.DataFrame:
    n = len(prices)
    return pl.DataFrame(
        {
            "ts_event": _ts(offsets if offsets is not None else list(range(0, 1000 * n, 1000))),
            "price": prices,
            "size": sizes,
            "aggressor_side": sides,
            "trade_id": ids if ids is not None else [f"t{i}" for i in range(n)],
        },
        schema=TRADE_COLUMNS,
    )


def _quotes(rows: list[tuple[int, float, float, float, float]]) -> pl.DataFrame:
    offsets, bid, bid_size, ask, ask_size = (list(c) for c in zip(*rows, strict=True))
    return pl.DataFrame(
        {
            "ts_event": _ts(offsets),
            "bid_price": bid,
            "bid_size": bid_size,
            "ask_price": ask,
            "ask_size": ask_size,
        },
        schema=QUOTE_COLUMNS,
    )


def _raw(text: str) -> int:
    """The exact fixed-point raw value of a decimal string."""
    return int(Decimal(text).scaleb(FIXED_PRECISION))


# --- trades -------------------------------------------------------------------------------


def test_trades_exact_on_small_frame(perp: Instrument) -> None:
    frame = _trades(
        [43000.1, 43000.2, 99999.9, 0.1],
        [0.001, 12.345, 1000.0, 0.003],
        ["BUY", "SELL", "NO_AGGRESSOR", "BUY"],
        ids=["1", "abc-2", "x" * 36, "4"],
        offsets=[0, 1, 1, 86_399_999_999_999],
    )
    ticks = trade_ticks(frame, perp)
    assert [type(t) for t in ticks] == [TradeTick] * 4
    assert [t.instrument_id for t in ticks] == [perp.id] * 4
    assert [str(t.price) for t in ticks] == ["43000.1", "43000.2", "99999.9", "0.1"]
    assert [t.price.raw for t in ticks] == [
        _raw(p) for p in ("43000.1", "43000.2", "99999.9", "0.1")
    ]
    assert [t.price.precision for t in ticks] == [1] * 4
    assert [str(t.size) for t in ticks] == ["0.001", "12.345", "1000.000", "0.003"]
    assert [t.size.raw for t in ticks] == [_raw(s) for s in ("0.001", "12.345", "1000", "0.003")]
    assert [t.size.precision for t in ticks] == [3] * 4
    assert [t.aggressor_side for t in ticks] == [
        AggressorSide.BUYER,
        AggressorSide.SELLER,
        AggressorSide.NO_AGGRESSOR,
        AggressorSide.BUYER,
    ]
    assert [t.trade_id for t in ticks] == [TradeId(i) for i in ("1", "abc-2", "x" * 36, "4")]
    expected_ts = [T0, T0 + 1, T0 + 1, T0 + 86_399_999_999_999]
    assert [t.ts_event for t in ticks] == expected_ts
    assert [t.ts_init for t in ticks] == expected_ts
    assert ticks[0] == TradeTick(
        perp.id,
        Price.from_str("43000.1"),
        Quantity.from_str("0.001"),
        AggressorSide.BUYER,
        TradeId("1"),
        T0,
        T0,
    )


def test_trades_ts_init_delta_and_empty_frame(perp: Instrument) -> None:
    ticks = trade_ticks(_trades([1.0], [1.0], ["SELL"]), perp, ts_init_delta=5_000)
    assert (ticks[0].ts_event, ticks[0].ts_init) == (T0, T0 + 5_000)
    assert trade_ticks(_trades([], [], []), perp) == []
    with pytest.raises(ValueError, match="ts_init_delta"):
        trade_ticks(_trades([1.0], [1.0], ["SELL"]), perp, ts_init_delta=-1)


def test_trades_off_grid_values_are_refused_or_rounded(perp: Instrument) -> None:
    frame = _trades([43000.1, 43000.14, 43000.15], [0.001, 0.001, 0.0015], ["BUY"] * 3)
    with pytest.raises(DataError, match=r"'price': 2 of 3 values .* row 1: 43000.14"):
        trade_ticks(frame, perp)
    ticks = trade_ticks(frame, perp, strict=False)
    # Half away from zero, like Nautilus: 0.0015 → 0.002; 43000.15 → 43000.2.
    assert [str(t.price) for t in ticks] == ["43000.1", "43000.1", "43000.2"]
    assert [str(t.size) for t in ticks] == ["0.001", "0.001", "0.002"]


def test_trades_sizes_rounding_to_zero_are_refused(perp: Instrument) -> None:
    with pytest.raises(DataError, match=r"'size': 1 values round to 0 .* row 1"):
        trade_ticks(_trades([1.0, 1.0], [0.001, 0.0004], ["BUY"] * 2), perp, strict=False)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("aggressor_side", "UNKNOWN", r"'aggressor_side' has 'UNKNOWN' at row 1"),
        ("trade_id", "", r"trade_id '' at row 1 must be 1-36"),
        ("trade_id", "y" * 37, r"at row 1 must be 1-36"),
        ("price", float("nan"), r"'price': value nan at row 1 is not finite"),
        ("size", None, r"'size' has 1 null\(s\), first at row 1"),
        ("aggressor_side", None, r"'aggressor_side' has 1 null"),
    ],
)
def test_trades_bad_rows_name_column_and_row(
    perp: Instrument, column: str, value: object, message: str
) -> None:
    frame = _trades([1.0, 2.0], [1.0, 1.0], ["BUY", "SELL"])
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit(value, dtype=frame.schema[column]))
        .otherwise(pl.col(column))
        .alias(column)
    )
    with pytest.raises(DataError, match=message):
        trade_ticks(frame, perp)


def test_trades_missing_column(perp: Instrument) -> None:
    with pytest.raises(DataError, match="missing column"):
        trade_ticks(_trades([1.0], [1.0], ["BUY"]).drop("trade_id"), perp)


def test_okx_contract_sizes_scale_to_base_units(reference: InstrumentReference) -> None:
    spec = reference.get(OKX_PERP)
    inst = to_nautilus_instrument(spec)
    frame = _trades([97000.1, 97000.2], [1.0, 0.03], ["BUY", "SELL"])  # contracts
    ticks = trade_ticks(frame, inst, size_scale=float(quantity_scale(spec)))
    assert [str(t.size) for t in ticks] == ["0.0100", "0.0003"]  # BTC
    assert [t.size.raw for t in ticks] == [_raw("0.01"), _raw("0.0003")]


# --- quotes -------------------------------------------------------------------------------


def test_quotes_exact_and_zero_sizes(perp: Instrument) -> None:
    frame = _quotes(
        [
            (0, 43000.0, 1.5, 43000.1, 0.002),
            (7, 43000.0, 0.0, 43000.1, 2.0),
            (7, 42999.9, 3.0, 43000.0, 0.0),
        ]
    )
    ticks = quote_ticks(frame, perp)
    assert [type(q) for q in ticks] == [QuoteTick] * 3
    first = ticks[0]
    assert first == QuoteTick(
        perp.id,
        Price.from_str("43000.0"),
        Price.from_str("43000.1"),
        Quantity.from_str("1.500"),
        Quantity.from_str("0.002"),
        T0,
        T0,
    )
    assert first.bid_price.raw == _raw("43000") and first.ask_size.raw == _raw("0.002")
    # Zero sizes are kept by default (an empty side at the touch) ...
    assert [str(q.bid_size) for q in ticks] == ["1.500", "0.000", "3.000"]
    assert [str(q.ask_size) for q in ticks] == ["0.002", "2.000", "0.000"]
    assert [q.ts_init for q in ticks] == [T0, T0 + 7, T0 + 7]
    # ... or dropped on request.
    kept = quote_ticks(frame, perp, drop_zero_size=True)
    assert kept == ticks[:1]


def test_quotes_off_grid_sizes(perp: Instrument) -> None:
    frame = _quotes([(0, 43000.0, 1.5, 43000.1, 0.0025)])
    with pytest.raises(DataError, match=r"'ask_size': 1 of 1 values .* 3-decimal grid"):
        quote_ticks(frame, perp)
    assert str(quote_ticks(frame, perp, strict=False)[0].ask_size) == "0.003"
    assert (
        quote_ticks(_quotes([(0, 1.0, 1.0, 1.1, 0.0004)]), perp, strict=False, drop_zero_size=True)
        == []
    )


# --- real data ----------------------------------------------------------------------------


def test_real_binance_trades_need_the_2021_size_precision(
    real_data_dir: Path, reference: InstrumentReference
) -> None:
    frame = read_trades_fixture(real_data_dir / "binance_btcusdt_trades_20210108.parquet")
    today = to_nautilus_instrument(reference.get(BINANCE_SPOT))
    assert today.size_precision == 5
    with pytest.raises(DataError, match=r"'size': \d+ of 2001 values are not on the 5-decimal"):
        trade_ticks(frame, today)
    with pytest.raises(DataError, match="round to 0"):  # 0.000001 BTC trades
        trade_ticks(frame, today, strict=False)


def test_real_binance_trades_exact(real_data_dir: Path, spot_2021: InstrumentSpec) -> None:
    frame = read_trades_fixture(real_data_dir / "binance_btcusdt_trades_20210108.parquet")
    inst = to_nautilus_instrument(spot_2021)
    assert str(inst.id) == "BTCUSDT.BINANCE"
    ticks = trade_ticks(frame, inst)
    assert len(ticks) == frame.height == 2001
    side = {"BUY": AggressorSide.BUYER, "SELL": AggressorSide.SELLER}
    for tick, row in zip(
        ticks, frame.with_columns(pl.col("ts_event").dt.epoch("ns")).iter_rows(), strict=True
    ):
        ts, price, size, aggressor, trade_id = row
        assert tick.price.raw == _raw(f"{price:.2f}")
        assert tick.size.raw == _raw(f"{size:.6f}")
        assert tick.aggressor_side == side[aggressor]
        assert tick.trade_id.value == trade_id
        assert tick.ts_event == tick.ts_init == ts
    # The same ticks as NautilusTrader's own pandas wrangler.
    pdf = (
        frame.rename({"size": "quantity", "aggressor_side": "side"})
        .to_pandas()
        .set_index("ts_event")
    )
    assert ticks == TradeTickDataWrangler(inst).process(pdf)


def test_real_binance_quotes_exact(real_data_dir: Path, spot_2021: InstrumentSpec) -> None:
    frame = read_quotes_fixture(real_data_dir / "binance_btcusdt_quotes_20210108.parquet")
    inst = to_nautilus_instrument(spot_2021)
    ticks = quote_ticks(frame, inst)
    assert len(ticks) == frame.height == 451
    for tick, row in zip(
        ticks, frame.with_columns(pl.col("ts_event").dt.epoch("ns")).iter_rows(), strict=True
    ):
        ts, bid, bid_size, ask, ask_size = row
        assert (tick.bid_price.raw, tick.ask_price.raw) == (_raw(f"{bid:.2f}"), _raw(f"{ask:.2f}"))
        assert tick.bid_size.raw == _raw(f"{bid_size:.6f}")
        assert tick.ask_size.raw == _raw(f"{ask_size:.6f}")
        assert tick.ts_event == tick.ts_init == ts
    assert ticks == QuoteTickDataWrangler(inst).process(frame.to_pandas().set_index("ts_event"))


# --- merged stream and the engine ---------------------------------------------------------


def test_merged_stream_is_stable_by_ts_init(perp: Instrument) -> None:
    trades = trade_ticks(
        _trades([1.0, 2.0, 3.0], [1.0] * 3, ["BUY"] * 3, offsets=[5, 10, 10]), perp
    )
    quotes = quote_ticks(_quotes([(0, 1.0, 1.0, 1.1, 1.0), (10, 1.0, 1.0, 1.1, 1.0)]), perp)
    merged = merged_stream(quotes, trades)
    assert [d.ts_init - T0 for d in merged] == [0, 5, 10, 10, 10]
    assert [type(d).__name__ for d in merged] == [
        "QuoteTick",
        "TradeTick",
        "QuoteTick",  # quotes before trades at equal ts
        "TradeTick",
        "TradeTick",
    ]
    assert merged[3] is trades[1] and merged[4] is trades[2]
    assert merged_stream() == [] and merged_stream([], []) == []
    backwards = list(reversed(trades))
    assert merged_stream(backwards) == sorted(backwards, key=lambda t: t.ts_init)


def _engine() -> BacktestEngine:
    return BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))


def test_backtest_engine_smoke(real_data_dir: Path, spot_2021: InstrumentSpec) -> None:
    inst = to_nautilus_instrument(spot_2021)
    trades = trade_ticks(
        read_trades_fixture(real_data_dir / "binance_btcusdt_trades_20210108.parquet"), inst
    )
    quotes = quote_ticks(
        read_quotes_fixture(real_data_dir / "binance_btcusdt_quotes_20210108.parquet"), inst
    )
    usdt = Currency.from_str("USDT")
    engine = _engine()
    try:
        engine.add_venue(
            venue=venue_of(spot_2021),
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=usdt,
            starting_balances=[Money(1_000_000, usdt)],
        )
        engine.add_instrument(inst)
        engine.add_data(quotes, sort=False)
        engine.add_data(trades)
        # The engine's stable sort gives the merged stream's order.
        assert all(a is b for a, b in zip(engine.data, merged_stream(quotes, trades), strict=True))
        engine.run()
        assert engine.iteration == len(quotes) + len(trades) == 2452
        assert engine.get_result().iterations == 2452
    finally:
        engine.dispose()


def test_every_listing_loads_into_an_engine(reference: InstrumentReference) -> None:
    engine = _engine()
    backtested = [spec for spec in reference.specs() if spec.backtest]
    try:
        for venue in sorted({str(venue_of(spec)) for spec in backtested}):
            specs = [s for s in backtested if str(venue_of(s)) == venue]
            settlements = sorted({s.settlement for s in specs})
            engine.add_venue(
                venue=venue_of(specs[0]),
                oms_type=OmsType.NETTING,
                account_type=AccountType.MARGIN,
                base_currency=None,
                starting_balances=[Money(1_000, Currency.from_str(c)) for c in settlements],
            )
            for spec in specs:
                inst = to_nautilus_instrument(spec)
                engine.add_instrument(inst)
                start = dt.datetime(2025, 1, 15, tzinfo=dt.UTC)
                price = 40_000.0 if spec.base == "BTC" else 2_000.0
                size = float(spec.min_quantity * spec.multiplier)
                frame = _trades([price], [size], ["BUY"])
                assert frame["ts_event"][0] == start
                engine.add_data(trade_ticks(frame, inst))
        engine.run()
        assert engine.iteration == len(backtested)
    finally:
        engine.dispose()
