"""Backtest assets, one partition per day, each day opening with the previous day's close.

``backtest_run`` (a multi-asset: the closing portfolio, orders, fills, positions, equity
curve) runs the day's signal changes through NautilusTrader on the windowed ticks, from
the portfolio the previous day closed with (``backtest_portfolio`` depends on its own
previous partition; the first day opens flat). ``backtest_results`` validates the four
files and ``summary.json`` against their schemas and uploads them atomically to
``backtest_results/{run_id}/`` in the execution store, then runs the blocking consistency
checks on what was uploaded.

Upstream data is named by asset key and read through :mod:`pipelines.defs.committed`; the
closing portfolio's hash is ``backtest_portfolio``'s data version, so re-running a day with
another outcome marks the days after it stale (a backfill recomputes them).

Loading this module imports neither NautilusTrader nor matplotlib: the steps import them
(the runner, the plots) when they run, so that loading the definitions stays fast.
"""

import datetime as dt
import json
from collections.abc import Iterator

import dagster as dg

from execution_core.accounting.portfolio import Portfolio
from execution_core.errors import DataError
from execution_core.results.schemas import RESULT_SCHEMAS
from execution_core.stores import artifacts
from execution_core.ticks.schema import TickKind
from execution_core.ticks.window_loader import TickWindows
from pipelines.backtest.config import BacktestConfig
from pipelines.defs.backtest import checks
from pipelines.defs.backtest.plots import equity_curve_png, markdown_image, slippage_png
from pipelines.defs.committed import CommittedFiles, committed, committed_reference
from pipelines.defs.metadata import artifact_prefix, table_preview
from pipelines.defs.partitions import FIRST_DAY, daily_partitions
from pipelines.defs.resources import StoresResource

GROUP = "backtest"
PORTFOLIO = "backtest_portfolio"
PORTFOLIO_FILE = "portfolio.json"
RUN_FILES = {
    "backtest_orders": "orders.parquet",
    "backtest_fills": "fills.parquet",
    "backtest_positions": "positions.parquet",
    "backtest_equity_curve": "equity_curve.parquet",
}
UPSTREAM = ["instruments", "signals", "tick_windows"]  # market_data's asset keys
PREVIOUS_DAY = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)


class BacktestRunConfig(dg.Config):
    """Run config (editable in the launchpad); part of the run_id."""

    starting_cash: float = 1_000_000.0  # of each venue's account, when it opens
    leverage: float = 10.0
    prob_fill_on_limit: float = 1.0
    prob_slippage: float = 0.0
    random_seed: int = 42
    decision_timeout_ms: int = 2_000
    # Open this day flat (fresh accounts, no positions) instead of with the previous day's
    # closing portfolio: for a day whose previous day has not been (and will not be) run.
    start_flat: bool = False

    def to_backtest_config(self) -> BacktestConfig:
        return BacktestConfig(**self.model_dump(exclude={"start_flat"}))


def load_tick_windows(
    stores: StoresResource, partition_key: str
) -> tuple[list[TickWindows], dict, dict]:
    """The committed windowed ticks, their I/O report and their manifest checksums."""
    files = committed(stores, "tick_windows", partition_key)
    ticks = [
        TickWindows(key, TickKind(kind), files.frame(name))
        for name, (key, kind) in files.metadata["index"].items()
    ]
    # the tick files' content only: io.json names store locations, which must not matter
    hashes = {n: files.sha256(n) for n in files.names() if n.endswith(".parquet")}
    return ticks, files.json("io.json"), hashes


def opening_portfolio(
    stores: StoresResource, day: dt.date, start_flat: bool
) -> tuple[Portfolio, str]:
    """The portfolio ``day`` opens with, and where it came from.

    The first backtest day, or a day run with ``start_flat``, opens flat; any other day
    opens with the previous day's closing portfolio, which must have been committed."""
    if day <= FIRST_DAY or start_flat:
        return Portfolio(), "flat"
    previous = (day - dt.timedelta(days=1)).isoformat()
    files = committed(stores, "backtest_run", previous)
    try:
        return Portfolio.from_json(files.bytes(PORTFOLIO_FILE)), f"close of {previous}"
    except DataError as exc:
        raise DataError(
            f"{day}: the backtest of the previous day {previous} has not been run ({exc}); "
            f"a day opens with the previous day's closing portfolio. Run the days in order "
            f"from the first day {FIRST_DAY} (exec-services backtest --from {FIRST_DAY} "
            f"--to {day}, or a Dagster backfill), or open {day} flat "
            f"(exec-services backtest --start-flat, or start_flat: true in the run config)"
        ) from None


@dg.multi_asset(
    name="backtest_run",
    group_name=GROUP,
    partitions_def=daily_partitions,
    specs=[
        dg.AssetSpec(
            key,
            deps=[*UPSTREAM, dg.AssetDep(PORTFOLIO, partition_mapping=PREVIOUS_DAY)],
            description=description,
        )
        # the portfolio first: the other outputs depend on its previous partition
        for key, description in [
            (PORTFOLIO, "Accounts, positions and last prices at the day's close"),
            *[(k, f"{name} of the day's backtest") for k, name in RUN_FILES.items()],
        ]
    ],
)
def backtest_run(
    context: dg.AssetExecutionContext, config: BacktestRunConfig, stores: StoresResource
) -> Iterator[dg.MaterializeResult]:
    from pipelines.backtest.results import decision_record  # NautilusTrader
    from pipelines.backtest.runner import derive_run_id, run_backtest

    day = context.partition_key
    opening, opened_from = opening_portfolio(stores, dt.date.fromisoformat(day), config.start_flat)
    signals = committed(stores, "signals", day)
    events = signals.frame("events.parquet")
    ticks, io_report, tick_hashes = load_tick_windows(stores, day)
    backtest_config = config.to_backtest_config()
    inputs = {
        "events": signals.sha256("events.parquet"),
        "ticks": tick_hashes,
        "reference": committed(stores, "instruments", day).sha256("reference.json"),
        "opening": opening.sha256(),
    }
    run_id = derive_run_id(day, inputs, backtest_config)
    context.log.info(
        f"backtest_start run_id={run_id} events={len(events)} tick_sets={len(ticks)} "
        f"opening={opened_from!r}"
    )
    result = run_backtest(
        run_id,
        events,
        ticks,
        committed_reference(stores, day),
        backtest_config,
        io_report,
        progress=context.log.info,
        opening=opening,
        opened_at=dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC),
    )
    frames = {
        "orders.parquet": result.orders,
        "fills.parquet": result.fills,
        "positions.parquet": result.positions,
        "equity_curve.parquet": result.equity_curve,
    }
    summary = {"day": day, **result.summary, "opened_from": opened_from}
    decisions = [decision_record(d) for d in result.decisions]
    artifacts.commit(
        stores.results,
        artifact_prefix("backtest_run", day),
        {
            **{n: artifacts.parquet_bytes(f) for n, f in frames.items()},
            "summary.json": json.dumps(summary, indent=2, default=str).encode(),
            "decisions.json": json.dumps(decisions, indent=2, default=str).encode(),
            PORTFOLIO_FILE: result.closing.to_json(),
        },
        {"run_id": run_id, "opening_sha256": opening.sha256(), "opened_from": opened_from},
    )
    context.log.info(
        f"backtest_done run_id={run_id} orders={len(result.orders)} fills={len(result.fills)} "
        f"pnl={summary['pnl']} final_equity={summary['final_equity']}"
    )
    yield dg.MaterializeResult(
        asset_key=PORTFOLIO,
        data_version=dg.DataVersion(result.closing.sha256()),
        metadata={
            "run_id": run_id,
            "opened_from": opened_from,
            "final_equity": dg.MetadataValue.float(float(summary["final_equity"])),
            "pnl": dg.MetadataValue.float(float(summary["pnl"])),
            "accounts": dg.MetadataValue.json(summary["accounts"]),
            "positions": dg.MetadataValue.json(summary["closing_positions"]),
        },
    )
    for key, name in RUN_FILES.items():
        yield dg.MaterializeResult(
            asset_key=key,
            data_version=dg.DataVersion(run_id),  # the run_id hashes every input
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
    run_set: CommittedFiles = committed(stores, "backtest_run", day)
    frames = {name: run_set.frame(name) for name in RESULT_SCHEMAS}
    for name, frame in frames.items():
        problems = checks.schema_problems(frame, RESULT_SCHEMAS[name], name)
        if problems:  # nothing is uploaded
            raise DataError(f"{run_set.location}: " + "; ".join(problems[:5]))
    summary_bytes = run_set.bytes("summary.json")
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
            "pnl": dg.MetadataValue.float(float(summary["pnl"])),
            "final_equity": dg.MetadataValue.float(float(summary["final_equity"])),
            "opened_from": summary["opened_from"],
            "accounts": dg.MetadataValue.json(summary["accounts"]),
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
