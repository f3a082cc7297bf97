"""Benchmark: the backtest pipeline against a bare NautilusTrader engine on the same ticks.

    .venv/bin/python bench/backtest.py                  # 120 changes, BTC on 3 venues, scale 2
    .venv/bin/python bench/backtest.py --changes 30     # fewer windows (for the growth curve)

Generates (once, cached under runtime/bench/) a demo day of BTC perpetuals on Binance,
Bybit and OKX and one strategy whose target changes every ~12 minutes on ANY venue,
rotating NORMAL/TWAP/VWAP/ICEBERG. Then, in one process:

- pipeline: load the windows from the tick store, convert, run the engine with the signal
  strategy, router and execution algorithms, build and write the result files;
- bare: convert the same window ticks and run an engine whose strategy only subscribes.

Each path runs ``--repeat`` times, alternating, and the best time of each counts. The
last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from execution_core.ticks.layout import DEFAULT_LAYOUT  # noqa: E402

DAY = dt.date(2025, 1, 15)
ALGOS = [
    ("NORMAL", None),
    ("TWAP", '{"duration_sec": 120, "max_slices": 6}'),
    ("VWAP", '{"duration_sec": 180, "max_slices": 6}'),
    ("ICEBERG", '{"display_quantity": 0.05, "duration_sec": 240}'),
]


def root(scale: float, changes: int) -> Path:
    span = DEFAULT_LAYOUT.span_seconds
    return REPO / "runtime" / "bench" / f"backtest-{scale}-{changes}-span{span}"


def generate(scale: float, changes: int) -> None:
    import numpy as np
    import polars as pl

    from execution_core.demo.config import DemoConfig
    from execution_core.demo.publish import publish_demo_day
    from execution_core.instruments.reference import load_reference
    from execution_core.signals.loader import write_signal_file
    from execution_core.stores import LocalObjectStore

    base = root(scale, changes)
    if (base / "done").exists():
        return
    config = DemoConfig(date=DAY, ticks_scale=scale)
    config = config.model_copy(
        update={
            "instruments": [i for i in config.instruments if i.asset == "BTC"],
            "strategies": [],
        }
    )
    reference = load_reference()
    publish_demo_day(
        config, LocalObjectStore(base / "ticks"), LocalObjectStore(base / "signals"), reference
    )
    rng = np.random.default_rng(3)
    start = dt.datetime(DAY.year, DAY.month, DAY.day, tzinfo=dt.UTC)
    slot = 86_400 / changes
    times = [start + dt.timedelta(seconds=(i + 0.5) * slot) for i in range(changes)]
    targets = np.round(rng.uniform(-2, 2, changes), 3)
    signals = pl.DataFrame(
        {
            "ts_event": times,
            "strategy_id": ["bench-btc"] * changes,
            "instrument_key": ["ANY:PERPETUAL:BTC-USDT@LIN"] * changes,
            "target_quantity": targets,
            "exec_algorithm": [ALGOS[i % 4][0] for i in range(changes)],
            "exec_algorithm_params": [ALGOS[i % 4][1] for i in range(changes)],
        },
        schema_overrides={"ts_event": pl.Datetime("ns", "UTC"), "exec_algorithm_params": pl.String},
    )
    write_signal_file(LocalObjectStore(base / "signals"), "bench-btc", DAY, signals, reference)
    (base / "done").write_text("ok")


def pipeline(base: Path) -> tuple[int, float, dict]:
    from execution_core.instruments.ids import CanonicalId
    from execution_core.instruments.reference import load_reference
    from execution_core.signals.events import execution_events
    from execution_core.signals.loader import load_signals_day
    from execution_core.stores import LocalObjectStore, artifacts
    from execution_core.ticks.window_loader import load_tick_windows
    from execution_core.ticks.windows import execution_windows
    from pipelines.backtest.engine import BacktestConfig
    from pipelines.backtest.runner import run_backtest

    started = time.perf_counter()
    reference = load_reference()
    signals, _ = load_signals_day(LocalObjectStore(base / "signals"), DAY, reference)
    events = execution_events(signals)
    windows = execution_windows(
        events, lambda k: [s.key for s in reference.backtest_listing(CanonicalId.parse(k))]
    )
    ticks, io = load_tick_windows(LocalObjectStore(base / "ticks"), windows, DAY)
    result = run_backtest(
        "bench", events, ticks, reference, BacktestConfig(log_level="OFF"), io.as_dict()
    )
    frames = {
        "orders.parquet": result.orders,
        "fills.parquet": result.fills,
        "positions.parquet": result.positions,
        "equity_curve.parquet": result.equity_curve,
    }
    artifacts.commit(
        LocalObjectStore(base / "results"),
        "backtest_results/bench",
        {
            "summary.json": json.dumps(result.summary, default=str).encode(),
            **{n: artifacts.parquet_bytes(f) for n, f in frames.items()},
        },
    )
    n_ticks = sum(len(t.frame) for t in ticks)
    info = {"windows": len(windows), "orders": len(result.orders), "fills": len(result.fills)}
    return n_ticks, time.perf_counter() - started, info | {"_ticks": ticks}


def bare(ticks: list) -> float:
    """Convert the same ticks and run an engine whose strategy only subscribes."""
    from nautilus_trader.trading.strategy import Strategy

    from execution_core.instruments.reference import load_reference
    from execution_core.nautilus.data import quote_ticks, trade_ticks
    from execution_core.ticks.schema import TickKind
    from pipelines.backtest.engine import BacktestConfig, build_engine

    class SubscribeOnly(Strategy):
        def __init__(self, ids: list) -> None:
            super().__init__()
            self._ids = ids

        def on_start(self) -> None:
            for instrument_id in self._ids:
                self.subscribe_quote_ticks(instrument_id)
                self.subscribe_trade_ticks(instrument_id)

    started = time.perf_counter()
    reference = load_reference()
    keys = sorted({t.instrument_key for t in ticks})
    engine, instruments = build_engine(
        [reference.get(k) for k in keys], BacktestConfig(log_level="OFF")
    )
    data = []
    for t in ticks:
        convert = trade_ticks if t.kind is TickKind.TRADES else quote_ticks
        data.extend(convert(t.frame, instruments[t.instrument_key]))
    engine.add_data(data, sort=True)
    engine.add_strategy(SubscribeOnly([i.id for i in instruments.values()]))
    engine.run()
    engine.dispose()
    # Free the ticks and the engine inside the clock, as the pipeline does (its run returns
    # only after dropping them): releasing 2M ticks costs about 0.1 s.
    del data, engine
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--changes", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs of each path")
    args = parser.parse_args()
    generate(args.scale, args.changes)
    started = time.perf_counter()
    pipeline_runs, bare_runs = [], []
    for _ in range(args.repeat):  # alternate, so a noisy neighbour hits both paths alike
        n_ticks, seconds, info = pipeline(root(args.scale, args.changes))
        pipeline_runs.append(seconds)
        bare_runs.append(bare(info.pop("_ticks")))
    pipeline_s, bare_s = min(pipeline_runs), min(bare_runs)
    result = {
        "ticks": n_ticks,
        "windows": info["windows"],
        "orders": info["orders"],
        "fills": info["fills"],
        "pipeline_seconds": round(pipeline_s, 3),
        "bare_engine_seconds": round(bare_s, 3),
        "pipeline_ticks_per_s": round(n_ticks / pipeline_s),
        "bare_engine_ticks_per_s": round(n_ticks / bare_s),
        "ratio": round(bare_s / pipeline_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "repeat": args.repeat,
        "seconds": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
