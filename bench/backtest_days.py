"""Benchmark: a backfill of consecutive demo days, in one process and through the Dagster CLI.

    .venv/bin/python bench/backtest_days.py              # 5 demo days from 2025-01-15, scale 1
    .venv/bin/python bench/backtest_days.py --days 3 --scale 0.2

Generates (once, cached under runtime/bench/) the demo days, then runs them twice, each
time into an empty results store and a fresh Dagster instance (SQLite) under runtime/bench:

- in-process: ``exec-services backtest --from FIRST --to LAST``, one command: the days in
  order, each a ``dg.materialize`` of the market-data and backtest assets with their checks,
  in that one process (Python, the stack and the definitions imported once); its wall time;
- dagster: the same days through ``dagster asset materialize -m pipelines.definitions
  --select '*backtest_results' --partition DAY``, one command per day, in order (each
  starts Python, imports the stack and loads the definitions: what a user of the Dagster
  CLI pays);
- day commands: ``exec-services backtest --from DAY --to DAY``, one command per day, in
  order: the same per-process costs as a Dagster run, without Dagster's run machinery.

Each day opens with the previous day's close (the first day opens flat: it is the first
backtest day of both runs). ``equity_continuity_error`` is the last day's final equity
minus the starting cash minus the sum of the daily PnLs (0 within float rounding when the
days carry the portfolio). ``same_results`` says both runs produced the same final equity.
The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FIRST = dt.date(2025, 1, 15)
STORE_NAMES = ("instruments", "ticks", "signals", "results")


def root(scale: float, days: int) -> Path:
    return REPO / "runtime" / "bench" / f"backtest-days-{scale}-{days}"


def generate(base: Path, days: list[dt.date], scale: float) -> None:
    from execution_core.demo.config import DemoConfig
    from execution_core.demo.publish import publish_demo_day
    from execution_core.instruments.reference import load_reference
    from execution_core.stores import LocalObjectStore

    if (base / "done").exists():
        return
    ticks, signals = LocalObjectStore(base / "ticks"), LocalObjectStore(base / "signals")
    for day in days:
        print(f"generating the demo day {day} (scale {scale})", file=sys.stderr)
        publish_demo_day(DemoConfig(date=day, ticks_scale=scale), ticks, signals, load_reference())
    (base / "done").write_text("ok")


def fresh_run_dirs(base: Path, name: str) -> tuple[dict[str, str], Path]:
    """Store URLs (shared inputs, an empty results and instruments store) and an empty
    Dagster home with the project's dagster.yaml."""
    run = base / "runs" / name
    shutil.rmtree(run, ignore_errors=True)
    for sub in ("results", "instruments", "dagster"):
        (run / sub).mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", run / "dagster" / "dagster.yaml")
    urls = {
        "ticks": f"file://{base / 'ticks'}",
        "signals": f"file://{base / 'signals'}",
        "results": f"file://{run / 'results'}",
        "instruments": f"file://{run / 'instruments'}",
    }
    return urls, run / "dagster"


def store_env(urls: dict[str, str], home: Path) -> dict[str, str]:
    env = {f"EXEC_{name.upper()}_STORE_URL": url for name, url in urls.items()}
    return env | {"DAGSTER_HOME": str(home), "EXEC_BACKTEST_FIRST_DAY": FIRST.isoformat()}


def final_summaries(urls: dict[str, str], days: list[dt.date]) -> list[dict]:
    from pipelines.defs.committed import committed
    from pipelines.defs.resources import StoresResource

    stores = StoresResource(**{f"{name}_url": url for name, url in urls.items()})
    return [committed(stores, "backtest_run", d.isoformat()).json("summary.json") for d in days]


def run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")


def in_process(base: Path, days: list[dt.date]) -> tuple[float, list[dict]]:
    urls, home = fresh_run_dirs(base, "in-process")
    env = os.environ | store_env(urls, home)
    command = [
        str(REPO / ".venv" / "bin" / "exec-services"),
        "backtest",
        "--from",
        days[0].isoformat(),
        "--to",
        days[-1].isoformat(),
    ]
    started = time.perf_counter()
    run(command, env)
    return time.perf_counter() - started, final_summaries(urls, days)


def day_commands(base: Path, days: list[dt.date]) -> float:
    urls, home = fresh_run_dirs(base, "day-commands")
    env = os.environ | store_env(urls, home)
    exec_services = str(REPO / ".venv" / "bin" / "exec-services")
    started = time.perf_counter()
    for day in days:
        run([exec_services, "backtest", "--from", day.isoformat(), "--to", day.isoformat()], env)
    return time.perf_counter() - started


def through_dagster_cli(base: Path, days: list[dt.date]) -> tuple[float, list[dict]]:
    urls, home = fresh_run_dirs(base, "dagster-cli")
    env = os.environ | store_env(urls, home)
    started = time.perf_counter()
    for day in days:
        command = [
            str(REPO / ".venv" / "bin" / "dagster"),
            "asset",
            "materialize",
            "-m",
            "pipelines.definitions",
            "--select",
            "*backtest_results",
            "--partition",
            day.isoformat(),
        ]
        run(command, env)
    return time.perf_counter() - started, final_summaries(urls, days)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    days = [FIRST + dt.timedelta(days=i) for i in range(args.days)]
    base = root(args.scale, args.days)
    generate(base, days, args.scale)

    from pipelines.backtest.range_summary import summarize_range

    in_process_s, summaries = in_process(base, days)
    dagster_s, dagster_summaries = through_dagster_cli(base, days)
    day_commands_s = day_commands(base, days)
    total = summarize_range(summaries)
    result = {
        "days": args.days,
        "scale": args.scale,
        "seconds_per_day": round(in_process_s / args.days, 3),
        "dagster_seconds_per_day": round(dagster_s / args.days, 3),
        "dagster_ratio": round(dagster_s / in_process_s, 3),
        # a process per day either way: what Dagster's run machinery itself costs
        "day_command_seconds_per_day": round(day_commands_s / args.days, 3),
        "dagster_ratio_to_day_commands": round(dagster_s / day_commands_s, 3),
        "equity_continuity_error": total["equity_continuity_error"],
        "equity_continuity_error_relative": abs(total["equity_continuity_error"])
        / total["starting_cash"],
        "final_equity": total["final_equity"],
        "same_results": [s["final_equity"] for s in summaries]
        == [s["final_equity"] for s in dagster_summaries],
        "orders": total["n_orders"],
        "fills": total["n_fills"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
