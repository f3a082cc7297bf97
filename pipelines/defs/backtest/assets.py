"""Backtest assets, one partition per day.

``backtest_run`` (a multi-asset: orders, fills, positions, equity curve) runs the day's
signal changes through NautilusTrader on the windowed ticks; ``backtest_results``
validates the four files and ``summary.json`` against their schemas and uploads them
atomically to ``backtest_results/{run_id}/`` in the execution store, then runs the
blocking consistency checks on what was uploaded.

Loading this module imports neither NautilusTrader nor matplotlib: the steps import them
(the runner, the plots) when they run, so that loading the definitions stays fast.
"""

import json
from collections.abc import Iterator

import dagster as dg

from execution_core.errors import DataError
from execution_core.results.schemas import RESULT_SCHEMAS
from execution_core.stores import artifacts
from execution_core.ticks.schema import TickKind
from execution_core.ticks.window_loader import TickWindows
from pipelines.backtest.config import BacktestConfig
from pipelines.defs.backtest import checks
from pipelines.defs.backtest.plots import equity_curve_png, markdown_image, slippage_png
from pipelines.defs.market_data.assets import instruments, reference_for, signals, tick_windows
from pipelines.defs.metadata import artifact_prefix, table_preview
from pipelines.defs.partitions import daily_partitions
from pipelines.defs.resources import StoresResource

GROUP = "backtest"
RUN_FILES = {
    "backtest_orders": "orders.parquet",
    "backtest_fills": "fills.parquet",
    "backtest_positions": "positions.parquet",
    "backtest_equity_curve": "equity_curve.parquet",
}


class BacktestRunConfig(dg.Config):
    """Run config (editable in the launchpad); part of the run_id."""

    starting_cash: float = 1_000_000.0
    leverage: float = 10.0
    prob_fill_on_limit: float = 1.0
    prob_slippage: float = 0.0
    random_seed: int = 42
    decision_timeout_ms: int = 2_000

    def to_backtest_config(self) -> BacktestConfig:
        return BacktestConfig(**self.model_dump())


def load_tick_windows(
    stores: StoresResource, partition_key: str
) -> tuple[list[TickWindows], dict, dict]:
    """The committed windowed ticks, their I/O report and their manifest checksums."""
    committed = artifacts.open_set(stores.results, artifact_prefix("tick_windows", partition_key))
    ticks = [
        TickWindows(key, TickKind(kind), artifacts.read_parquet(stores.results, committed, name))
        for name, (key, kind) in committed.metadata["index"].items()
    ]
    io_report = json.loads(artifacts.read_file(stores.results, committed, "io.json"))
    # the tick files' content only: io.json names store locations, which must not matter
    hashes = {n: f["sha256"] for n, f in committed.files.items() if n.endswith(".parquet")}
    return ticks, io_report, hashes


@dg.multi_asset(
    name="backtest_run",
    group_name=GROUP,
    partitions_def=daily_partitions,
    specs=[
        dg.AssetSpec(
            key,
            deps=[instruments, signals, tick_windows],
            description=f"{name} of the day's backtest",
        )
        for key, name in RUN_FILES.items()
    ],
)
def backtest_run(
    context: dg.AssetExecutionContext, config: BacktestRunConfig, stores: StoresResource
) -> Iterator[dg.MaterializeResult]:
    from pipelines.backtest.results import decision_record  # NautilusTrader
    from pipelines.backtest.runner import derive_run_id, run_backtest

    day = context.partition_key
    reference = reference_for(stores, day)
    signals_set = artifacts.open_set(stores.results, artifact_prefix("signals", day))
    events = artifacts.read_parquet(stores.results, signals_set, "events.parquet")
    ticks, io_report, tick_hashes = load_tick_windows(stores, day)
    backtest_config = config.to_backtest_config()
    instruments_set = artifacts.open_set(stores.results, artifact_prefix("instruments", day))
    inputs = {
        "events": signals_set.files["events.parquet"]["sha256"],
        "ticks": tick_hashes,
        "reference": instruments_set.files["reference.json"]["sha256"],  # fees change results
    }
    run_id = derive_run_id(day, inputs, backtest_config)
    context.log.info(f"backtest_start run_id={run_id} events={len(events)} tick_sets={len(ticks)}")
    result = run_backtest(
        run_id, events, ticks, reference, backtest_config, io_report, progress=context.log.info
    )
    frames = {
        "orders.parquet": result.orders,
        "fills.parquet": result.fills,
        "positions.parquet": result.positions,
        "equity_curve.parquet": result.equity_curve,
    }
    decisions = [decision_record(d) for d in result.decisions]
    artifacts.commit(
        stores.results,
        artifact_prefix("backtest_run", day),
        {
            **{n: artifacts.parquet_bytes(f) for n, f in frames.items()},
            "summary.json": json.dumps(result.summary, indent=2, default=str).encode(),
            "decisions.json": json.dumps(decisions, indent=2, default=str).encode(),
        },
        {"run_id": run_id},
    )
    context.log.info(
        f"backtest_done run_id={run_id} orders={len(result.orders)} fills={len(result.fills)}"
    )
    for key, name in RUN_FILES.items():
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "run_id": run_id,
                "rows": len(frames[name]),
                "preview": table_preview(frames[name]),
            },
        )


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    deps=list(RUN_FILES),
    check_specs=checks.RESULT_CHECKS,
    description="Result files uploaded to backtest_results/{run_id}/ in the execution store.",
)
def backtest_results(
    context: dg.AssetExecutionContext, stores: StoresResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    day = context.partition_key
    run_set = artifacts.open_set(stores.results, artifact_prefix("backtest_run", day))
    frames = {
        name: artifacts.read_parquet(stores.results, run_set, name) for name in RESULT_SCHEMAS
    }
    for name, frame in frames.items():
        problems = checks.schema_problems(frame, RESULT_SCHEMAS[name], name)
        if problems:  # nothing is uploaded
            raise DataError(
                f"{stores.results.describe(run_set.prefix)}: " + "; ".join(problems[:5])
            )
    summary_bytes = artifacts.read_file(stores.results, run_set, "summary.json")
    summary = json.loads(summary_bytes)
    run_id = summary["run_id"]
    prefix = f"backtest_results/{run_id}"
    artifacts.commit(
        stores.results,
        prefix,
        {
            "summary.json": summary_bytes,
            **{n: artifacts.parquet_bytes(f) for n, f in frames.items()},
        },
        {"run_id": run_id, "partition": day},
    )
    equity = frames["equity_curve.parquet"]
    yield dg.MaterializeResult(
        metadata={
            "run_id": run_id,
            "location": stores.results.describe(prefix),
            "n_orders": summary["n_orders"],
            "n_fills": summary["n_fills"],
            "total_fees": dg.MetadataValue.float(float(summary["total_fees"])),
            "realized_pnl": dg.MetadataValue.float(float(summary["realized_pnl"])),
            "final_equity": dg.MetadataValue.float(float(summary["final_equity"])),
            "max_drawdown": dg.MetadataValue.float(float(summary["max_drawdown"])),
            "slippage_bps": dg.MetadataValue.json(summary["slippage_bps"]),
            "io": dg.MetadataValue.json(summary["io"]),
            "equity_curve": dg.MetadataValue.md(
                markdown_image(equity_curve_png(equity, f"Equity {day}"), "equity curve")
            ),
            "slippage_by_algorithm": dg.MetadataValue.md(
                markdown_image(slippage_png(summary["slippage_bps"]), "slippage")
            ),
            "fills_preview": table_preview(frames["fills.parquet"]),
        }
    )
    yield from checks.retracting_on_failure(
        stores, prefix, checks.check_results(stores, day, prefix)
    )


BACKTEST_ASSETS = [backtest_run, backtest_results]
