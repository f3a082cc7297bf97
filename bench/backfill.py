"""Benchmark: a multi-day backfill through a real Dagster instance, 1 and 2 runs at a time.

    .venv/bin/python bench/backfill.py                      # 6 demo days, scale 0.5
    .venv/bin/python bench/backfill.py --days 4 --scale 0.1

What can run in parallel. The market-data assets of a day (instruments → signals →
execution_windows → tick_windows) depend on nothing of another day; the backtest of a day
(``backtest_run`` and ``backtest_results``) opens with the previous day's closing portfolio
(``backtest_portfolio``, partition mapping -1), so the backtests form a chain that runs in
day order, whatever the concurrency. A backfill of N days is therefore 2N runs:

- ``md(d)``: ``dagster asset materialize --select group:market_data --partition d``
- ``bt(d)``: ``dagster asset materialize --select group:backtest --partition d``, after
  ``md(d)`` and ``bt(d-1)``

and with two slots the most it can overlap is the market data of later days with the
backtest of day d (the chain itself never runs two days at once). The script runs the same
2N runs with 1 slot, then with 2 slots (greedy: a ready backtest first, it is the critical
path), each time into an empty results store and a fresh Dagster instance (SQLite, a temp
DAGSTER_HOME): every run is a real Dagster run in that instance, in its own process, as
the DefaultRunLauncher (or the DockerRunLauncher, a container per run) would start it. The
slots are this script's, standing in for the QueuedRunCoordinator's ``max_concurrent_runs``
(the Dagster daemon's queue adds its own polling delay, which is not what is measured).
As a reference it also runs the days as one run each (``--select '*backtest_results'``,
1 slot): fewer process starts, no overlap.

``same_results``: every mode produced the same daily final equities. The last stdout line
is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FIRST = dt.date(2025, 1, 15)
DAGSTER = str(REPO / ".venv" / "bin" / "dagster")


def generate(base: Path, days: list[dt.date], scale: float) -> None:
    """The demo days' ticks and signals, once (cached under runtime/bench/)."""
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


@dataclass
class Run:
    """One Dagster run: a selection of assets for one day's partition."""

    name: str
    day: dt.date
    select: str
    after: list[str] = field(default_factory=list)


def split_plan(days: list[dt.date]) -> list[Run]:
    """Market data and backtest as separate runs: what lets days overlap at all."""
    plan: list[Run] = []
    for i, day in enumerate(days):
        plan.append(Run(f"md:{day}", day, "group:market_data"))
        after = [f"md:{day}"] + ([f"bt:{days[i - 1]}"] if i else [])
        plan.append(Run(f"bt:{day}", day, "group:backtest", after))
    return plan


def whole_day_plan(days: list[dt.date]) -> list[Run]:
    plan = []
    for i, day in enumerate(days):
        after = [f"day:{days[i - 1]}"] if i else []
        plan.append(Run(f"day:{day}", day, "*backtest_results", after))
    return plan


def command(run: Run) -> list[str]:
    return [DAGSTER, "asset", "materialize", "-m", "pipelines.definitions",
            "--select", run.select, "--partition", run.day.isoformat()]  # fmt: skip


def execute(plan: list[Run], slots: int, env: dict[str, str]) -> float:
    """Run ``plan`` with at most ``slots`` runs at once, each when what it needs is done.
    Returns the wall time in seconds; exits with the run's log if a run fails."""
    done: set[str] = set()
    running: dict[str, subprocess.Popen[bytes]] = {}
    logs: dict[str, Path] = {}
    pending = list(plan)
    started = time.perf_counter()
    while pending or running:
        ready = [r for r in pending if all(a in done for a in r.after)]
        # a backtest first: the chain of backtests is the critical path
        ready.sort(key=lambda r: (not r.name.startswith(("bt:", "day:")), r.day))
        while ready and len(running) < slots:
            run = ready.pop(0)
            pending.remove(run)
            logs[run.name] = Path(env["BENCH_LOG_DIR"]) / f"{run.name.replace(':', '_')}.log"
            with logs[run.name].open("wb") as log:
                running[run.name] = subprocess.Popen(
                    command(run), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
                )
        time.sleep(0.05)
        for name, process in list(running.items()):
            if process.poll() is None:
                continue
            del running[name]
            if process.returncode != 0:
                for other in running.values():
                    other.kill()
                sys.exit(f"run {name} failed:\n{logs[name].read_text()[-3000:]}")
            done.add(name)
    return time.perf_counter() - started


def fresh_env(base: Path, tmp: Path, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """An empty results/instruments store and Dagster home (the project's dagster.yaml),
    the generated ticks and signals shared."""
    run = tmp / name
    for sub in ("results", "instruments", "dagster", "logs"):
        (run / sub).mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", run / "dagster" / "dagster.yaml")
    urls = {
        "ticks": f"file://{base / 'ticks'}",
        "signals": f"file://{base / 'signals'}",
        "results": f"file://{run / 'results'}",
        "instruments": f"file://{run / 'instruments'}",
    }
    env = dict(os.environ)
    env |= {f"EXEC_{key.upper()}_STORE_URL": url for key, url in urls.items()}
    env |= {
        "DAGSTER_HOME": str(run / "dagster"),
        "EXEC_BACKTEST_FIRST_DAY": FIRST.isoformat(),
        "BENCH_LOG_DIR": str(run / "logs"),
    }
    # create the instance's SQLite databases once, before runs start side by side (two
    # processes creating them at the same moment collide on alembic_version)
    init = "import dagster; dagster.DagsterInstance.get().get_runs(limit=1)"
    subprocess.run([sys.executable, "-c", init], env=env, check=True)
    return env, urls


def final_equities(urls: dict[str, str], days: list[dt.date]) -> list[float]:
    from pipelines.defs.committed import committed
    from pipelines.defs.resources import StoresResource

    stores = StoresResource(**{f"{name}_url": url for name, url in urls.items()})
    return [
        committed(stores, "backtest_run", d.isoformat()).json("summary.json")["final_equity"]
        for d in days
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--scale", type=float, default=0.5)
    args = parser.parse_args()
    days = [FIRST + dt.timedelta(days=i) for i in range(args.days)]
    base = REPO / "runtime" / "bench" / f"backfill-{args.scale}-{args.days}"
    generate(base, days, args.scale)

    modes = [("one_run_per_day", whole_day_plan(days), 1)]
    modes += [(f"split_{slots}", split_plan(days), slots) for slots in (1, 2)]
    results: dict[str, dict[str, float]] = {}
    equities: list[list[float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        for name, plan, slots in modes:
            env, urls = fresh_env(base, Path(tmp), name)
            print(f"{name}: {len(plan)} runs, {slots} at a time", file=sys.stderr)
            seconds = execute(plan, slots, env)
            results[name] = {
                "concurrency": slots,
                "runs": len(plan),
                "seconds": round(seconds, 2),
                "days_per_minute": round(args.days / seconds * 60, 3),
            }
            equities.append(final_equities(urls, days))
    print(
        json.dumps(
            {
                "days": args.days,
                "scale": args.scale,
                "cores": os.cpu_count(),
                "parallelism": "market data of later days overlaps the backtest of day d; "
                "the backtests run in day order (each opens with the previous day's close)",
                "concurrency_1": results["split_1"],
                "concurrency_2": results["split_2"],
                "one_run_per_day": results["one_run_per_day"],
                "speedup_2_over_1": round(
                    results["split_1"]["seconds"] / results["split_2"]["seconds"], 3
                ),
                "same_results": all(e == equities[0] for e in equities),
            }
        )
    )


if __name__ == "__main__":
    main()
