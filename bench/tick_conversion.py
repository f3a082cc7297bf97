"""Benchmark: tick-store frames → NautilusTrader ticks, our path against the wranglers.

    .venv/bin/python bench/tick_conversion.py                  # 1M trades + 1M quotes
    .venv/bin/python bench/tick_conversion.py --ticks 200000
    .venv/bin/python bench/tick_conversion.py --catalog        # + Nautilus catalog read-back

Synthetic trades and quotes on the BINANCE-FUTURES BTC-USDT perpetual's grid (price
precision 1, size precision 3) are converted by ``execution_core.nautilus.data``
(``from_raw_arrays_to_list`` with vectorised checks) and by NautilusTrader's pandas
``TradeTickDataWrangler`` / ``QuoteTickDataWrangler``; the wranglers' rates exclude the
polars → pandas conversion they need, which is timed separately. Both outputs are compared
tick by tick. ``bare_from_raw_arrays_trades_per_s`` times ``TradeTick.from_raw_arrays_to_list``
alone on prepared arrays (the floor of our path: its checks and column extraction are the
difference). Also timed: :func:`merged_stream` of both lists and the engine's own
``sorted(key=lambda x: x.ts_init)`` (what ``BacktestEngine.add_data`` does on every call).
Each step is timed ``--repeat`` times (default 3), the best time is reported.
``--catalog`` also writes the trades to a temporary ``ParquetDataCatalog`` and times
``catalog.query`` (Rust decoding of fixed-point columns), the fastest way Nautilus itself
builds ticks. The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

INSTRUMENT = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
T0 = 1_736_899_200_000_000_000  # 2025-01-15T00:00:00Z


def frames(n: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` trades and ``n`` quotes over one day, on the 0.1 / 0.001 grid."""
    rng = np.random.default_rng(seed)
    ts_type = pl.Datetime("ns", "UTC")

    def times() -> pl.Series:
        ts = np.sort(rng.integers(0, 86_400 * 10**9, n)) + T0
        return pl.Series("ts_event", ts, dtype=pl.Int64).cast(ts_type)

    mid_ticks = 430_000 + np.cumsum(rng.integers(-2, 3, n))
    lots = rng.integers(1, 5_000, n)
    trades = pl.DataFrame(
        {
            "ts_event": times(),
            "price": np.round(mid_ticks * 0.1, 1),
            "size": np.round(lots * 0.001, 3),
            "aggressor_side": np.where(rng.random(n) < 0.5, "BUY", "SELL"),
            "trade_id": np.arange(n).astype(str),
        }
    )
    spread = rng.integers(1, 4, n)
    quotes = pl.DataFrame(
        {
            "ts_event": times(),
            "bid_price": np.round(mid_ticks * 0.1, 1),
            "bid_size": np.round(rng.integers(1, 50_000, n) * 0.001, 3),
            "ask_price": np.round((mid_ticks + spread) * 0.1, 1),
            "ask_size": np.round(rng.integers(1, 50_000, n) * 0.001, 3),
        }
    )
    return trades, quotes


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    """The last result of ``fn`` and its best wall time over ``repeat`` runs."""
    best = float("inf")
    result: Any = None
    for _ in range(max(1, repeat)):
        result = None  # free the previous run's objects before the next one
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def same(ours: list[Any], theirs: list[Any]) -> bool:
    return len(ours) == len(theirs) and all(a == b for a, b in zip(ours, theirs, strict=True))


def catalog_query(trades: list[Any], repeat: int) -> float:
    from nautilus_trader.model.data import TradeTick
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    with tempfile.TemporaryDirectory() as root:
        catalog = ParquetDataCatalog(root)
        catalog.write_data(trades)
        result, seconds = timed(lambda: catalog.query(TradeTick), repeat)
        assert len(result) == len(trades)
    return seconds


def bare_trades(trades_df: pl.DataFrame, inst: Any, repeat: int) -> float:
    """Best time of ``TradeTick.from_raw_arrays_to_list`` alone on prepared arrays."""
    from nautilus_trader.model.data import TradeTick

    ts = trades_df["ts_event"].dt.epoch("ns").cast(pl.UInt64).to_numpy(writable=True)
    args = (
        inst.id,
        inst.price_precision,
        inst.size_precision,
        trades_df["price"].to_numpy(writable=True),
        trades_df["size"].to_numpy(writable=True),
        np.where(trades_df["aggressor_side"].to_numpy() == "BUY", 1, 2).astype(np.uint8),
        trades_df["trade_id"].to_list(),
        ts,
        ts,
    )
    return timed(lambda: TradeTick.from_raw_arrays_to_list(*args), repeat)[1]


def wrangle(
    frame: pl.DataFrame, wrangler: Any, ours: list[Any], repeat: int
) -> tuple[float, float, bool]:
    """(polars → pandas seconds, wrangler seconds, same ticks as ours)."""
    pdf, pandas_s = timed(lambda: frame.to_pandas().set_index("ts_event"), repeat)
    theirs, wrangler_s = timed(lambda: wrangler.process(pdf), repeat)
    return pandas_s, wrangler_s, same(ours, theirs)


def merge(quotes: list[Any], trades: list[Any], repeat: int) -> tuple[float, float, bool]:
    """(merged_stream seconds, engine-style sort seconds, same order)."""
    from execution_core.nautilus.data import merged_stream

    merged, merge_s = timed(lambda: merged_stream(quotes, trades), repeat)
    engine, engine_s = timed(lambda: sorted([*quotes, *trades], key=lambda d: d.ts_init), repeat)
    return merge_s, engine_s, all(a is b for a, b in zip(merged, engine, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=1_000_000, help="trades (and quotes)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--catalog", action="store_true", help="also time catalog.query")
    args = parser.parse_args()
    r = args.repeat

    import nautilus_trader
    from nautilus_trader.model.objects import FIXED_PRECISION, HIGH_PRECISION
    from nautilus_trader.persistence.wranglers import (
        QuoteTickDataWrangler,
        TradeTickDataWrangler,
    )

    from execution_core.instruments.reference import load_reference
    from execution_core.nautilus.data import quote_ticks, trade_ticks
    from execution_core.nautilus.instruments import to_nautilus_instrument

    inst = to_nautilus_instrument(load_reference().get(INSTRUMENT))
    trades_df, quotes_df = frames(args.ticks, args.seed)
    n = args.ticks

    raw_trades, raw_trades_s = timed(lambda: trade_ticks(trades_df, inst), r)
    bare_s = bare_trades(trades_df, inst, r)
    raw_quotes, raw_quotes_s = timed(lambda: quote_ticks(quotes_df, inst), r)
    trades_pandas_s, wrangler_trades_s, trades_equal = wrangle(
        trades_df.rename({"size": "quantity", "aggressor_side": "side"}),
        TradeTickDataWrangler(inst),
        raw_trades,
        r,
    )
    quotes_pandas_s, wrangler_quotes_s, quotes_equal = wrangle(
        quotes_df, QuoteTickDataWrangler(inst), raw_quotes, r
    )
    merge_s, engine_sort_s, merge_equal = merge(raw_quotes, raw_trades, r)

    result: dict[str, Any] = {
        "ticks": n,
        "nautilus_trader": nautilus_trader.__version__,
        "high_precision": bool(HIGH_PRECISION),
        "fixed_precision": FIXED_PRECISION,
        "raw_trades_per_s": round(n / raw_trades_s),
        "bare_from_raw_arrays_trades_per_s": round(n / bare_s),
        "wrangler_trades_per_s": round(n / wrangler_trades_s),
        "wrangler_trades_incl_pandas_per_s": round(n / (wrangler_trades_s + trades_pandas_s)),
        "raw_quotes_per_s": round(n / raw_quotes_s),
        "wrangler_quotes_per_s": round(n / wrangler_quotes_s),
        "wrangler_quotes_incl_pandas_per_s": round(n / (wrangler_quotes_s + quotes_pandas_s)),
        "trades_speedup": round(wrangler_trades_s / raw_trades_s, 2),
        "quotes_speedup": round(wrangler_quotes_s / raw_quotes_s, 2),
        "to_pandas_s": round(trades_pandas_s + quotes_pandas_s, 3),
        "merged_stream_s": round(merge_s, 3),
        "engine_style_sort_s": round(engine_sort_s, 3),
        "trades_equal_wrangler": trades_equal,
        "quotes_equal_wrangler": quotes_equal,
        "merge_equal_engine_sort": merge_equal,
    }
    if args.catalog:
        result["catalog_query_trades_per_s"] = round(n / catalog_query(raw_trades, r))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
