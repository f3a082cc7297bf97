"""Benchmark: windowed tick loading against reading full day files.

    .venv/bin/python bench/windows.py                        # 5M trades, 14 changes
    .venv/bin/python bench/windows.py --changes 30           # or 60
    .venv/bin/python bench/windows.py --trades 10000000      # a day twice as large

One instrument-day of trades is generated with the demo market simulator and written
through the tick writer (cached under runtime/bench/). Signal changes are spread evenly
over the day with jitter; each opens a 5-minute window. A fresh process then loads the
windows through the store and measures bytes, rows, peak RSS and time, so the RSS is that
of the windowed read alone. The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from execution_core.ticks.layout import DEFAULT_LAYOUT  # noqa: E402

DAY = dt.date(2025, 1, 15)
INSTRUMENT = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"


def data_dir(trades: int, seed: int) -> Path:
    span = DEFAULT_LAYOUT.span_seconds
    return REPO / "runtime" / "bench" / f"windows-{trades}-{seed}-span{span}"


def generate(trades: int, seed: int) -> None:
    """Write the instrument-day (once) and its row count."""
    from execution_core.demo.config import DemoConfig
    from execution_core.demo.market import simulate_instrument_day
    from execution_core.stores import LocalObjectStore
    from execution_core.ticks.schema import TickKind
    from execution_core.ticks.writer import write_tick_day

    root = data_dir(trades, seed)
    if (root / "day.json").exists():
        return
    instrument = next(i for i in DemoConfig(date=DAY).instruments if i.key == INSTRUMENT)
    frame, _ = simulate_instrument_day(instrument, DAY, seed, n_trades=trades, n_quotes=0)
    info = write_tick_day(LocalObjectStore(root / "ticks"), INSTRUMENT, TickKind.TRADES, DAY, frame)
    day = {"rows": info.rows, "bytes": info.bytes, "row_groups": info.row_groups}
    (root / "day.json").write_text(json.dumps(day | {"index_bytes": info.index_bytes}))


def signal_events(changes: int, seed: int):
    """``changes`` target changes spread evenly over the day, jittered by up to ±10 min."""
    import numpy as np
    import polars as pl

    from execution_core.signals.events import execution_events

    rng = np.random.default_rng(seed)
    start = dt.datetime(DAY.year, DAY.month, DAY.day, tzinfo=dt.UTC)
    slot = 86_400 / changes
    offsets = [
        (i + 0.5) * slot + rng.uniform(-min(600, slot / 4), min(600, slot / 4))
        for i in range(changes)
    ]
    signals = pl.DataFrame(
        {
            "ts_event": [start + dt.timedelta(seconds=s) for s in offsets],
            "strategy_id": ["bench"] * changes,
            "instrument_key": [INSTRUMENT] * changes,
            "target_quantity": [float((i % 2) * 2 - 1) * (1 + i) for i in range(changes)],
            "exec_algorithm": [None] * changes,
            "exec_algorithm_params": [None] * changes,
        },
        schema_overrides={
            "ts_event": pl.Datetime("ns", "UTC"),
            "exec_algorithm": pl.String,
            "exec_algorithm_params": pl.String,
        },
    )
    return execution_events(signals)


def measure(trades: int, seed: int, changes: int) -> dict[str, float | int]:
    """Load the windows (in this process) and report the I/O figures."""
    from execution_core.stores import LocalObjectStore
    from execution_core.ticks.schema import TickKind
    from execution_core.ticks.window_loader import load_tick_windows
    from execution_core.ticks.windows import execution_windows

    root = data_dir(trades, seed)
    day = json.loads((root / "day.json").read_text())
    windows = execution_windows(signal_events(changes, seed), lambda key: [key])
    baseline_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    loaded, report = load_tick_windows(
        LocalObjectStore(root / "ticks"), windows, DAY, kinds=[TickKind.TRADES]
    )
    seconds = time.perf_counter() - started
    window_rows = sum(len(t.frame) for t in loaded)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "day_rows": day["rows"],
        "changes": changes,
        "windows": len(windows),
        "bytes_read": report.bytes_read,
        "bytes_full_days": report.bytes_full_days,
        "reduction": round(report.reduction, 4),
        "ideal_reduction": round(1 - window_rows / day["rows"], 4),
        "rows_read": report.rows_read,
        "window_rows": window_rows,
        "read_amplification": round(report.read_amplification, 4),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "baseline_rss_mb": round(baseline_rss_mb, 1),  # after imports, before loading
        "seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trades", type=int, default=5_000_000)
    parser.add_argument("--changes", type=int, default=14)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phase", choices=["all", "generate", "measure"], default="all")
    args = parser.parse_args()
    if args.phase == "generate":
        generate(args.trades, args.seed)
        return
    if args.phase == "measure":
        print(json.dumps(measure(args.trades, args.seed, args.changes)))
        return
    common = [
        "--trades",
        str(args.trades),
        "--seed",
        str(args.seed),
        "--changes",
        str(args.changes),
    ]
    subprocess.run([sys.executable, __file__, "--phase", "generate", *common], check=True)
    out = subprocess.run(
        [sys.executable, __file__, "--phase", "measure", *common],
        check=True,
        capture_output=True,
        text=True,
    )
    print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
