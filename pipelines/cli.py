"""``exec-services``: the command line of the pipelines (``make demo`` runs ``demo``)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Annotated

import dagster as dg
import polars as pl
import typer
from tqdm import tqdm

from execution_core.demo.config import DemoConfig
from execution_core.demo.publish import publish_demo_day
from execution_core.errors import ExecutionServicesError
from execution_core.instruments.reference import parse_reference
from execution_core.stores import artifacts
from execution_core.ticks.converters import binance, tardis
from execution_core.ticks.schema import TickKind
from execution_core.ticks.writer import write_tick_day
from pipelines.defs.backtest.assets import BACKTEST_ASSETS
from pipelines.defs.live.assets import LIVE_ASSETS, RECONCILIATION_TABLES
from pipelines.defs.live.resources import LiveDaemonResource
from pipelines.defs.market_data.assets import MARKET_DATA_ASSETS
from pipelines.defs.metadata import artifact_prefix
from pipelines.defs.resources import StoresResource, read_reference_source
from pipelines.settings import stores_from_config

DEMO_DAY = dt.date(2025, 1, 15)

ConfigOption = Annotated[
    Path | None, typer.Option(help="JSON config (see config/execution_services.json).")
]

app = typer.Typer(help="Execution Services pipelines.", no_args_is_help=True)
log = logging.getLogger("exec_services")


def _echo_json(payload: object) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _instance() -> dg.DagsterInstance:
    """The DAGSTER_HOME instance (``make`` sets it to runtime/dagster), else an ephemeral one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    log.warning("DAGSTER_HOME is not set: using an ephemeral instance (run history is not kept)")
    return dg.DagsterInstance.ephemeral()


def generate(day: dt.date, scale: float, seed: int, stores: StoresResource) -> None:
    raw, source = read_reference_source(stores)
    reference = parse_reference(raw, source=source)
    config = DemoConfig(date=day, ticks_scale=scale, seed=seed)
    with tqdm(total=len(config.instruments), desc="demo ticks", unit="instrument") as bar:
        report = publish_demo_day(
            config, stores.ticks, stores.signals, reference, progress=lambda _: bar.update()
        )
    typer.echo(
        f"demo data for {day}: {report.trades:,} trades, {report.quotes:,} quotes "
        f"({report.tick_bytes / 1e6:.1f} MB) in {stores.url('ticks')}; "
        f"{len(report.signal_files)} signal files in {stores.url('signals')}"
    )


def materialize_pipeline(day: dt.date, stores: StoresResource) -> tuple[dict, dict]:
    """Materialize every asset (market data, backtest, upload) for ``day``, with checks.

    Returns the windowed-loading I/O report and the backtest's summary.json.
    """
    result = dg.materialize(
        [*MARKET_DATA_ASSETS, *BACKTEST_ASSETS],
        partition_key=day.isoformat(),
        instance=_instance(),
        resources={"stores": stores},
        raise_on_error=False,
    )
    if not result.success:
        raise typer.Exit(code=_fail(f"pipeline run failed: {_failure_message(result)}"))
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    if failed:
        raise typer.Exit(code=_fail(f"blocking checks failed: {', '.join(failed)}"))
    ticks = artifacts.open_set(stores.results, artifact_prefix("tick_windows", day.isoformat()))
    run = artifacts.open_set(stores.results, artifact_prefix("backtest_run", day.isoformat()))
    io_report = json.loads(artifacts.read_file(stores.results, ticks, "io.json"))
    summary = json.loads(artifacts.read_file(stores.results, run, "summary.json"))
    return io_report, summary


def _echo_summary(summary: dict, stores: StoresResource) -> None:
    shown = {k: v for k, v in summary.items() if k not in ("config", "rejected_signals")}
    shown["rejected_signals"] = len(summary.get("rejected_signals", []))
    _echo_json(shown)
    typer.echo(f"result files: {stores.results.describe('backtest_results/' + summary['run_id'])}/")
    for name in (
        "summary.json",
        "orders.parquet",
        "fills.parquet",
        "positions.parquet",
        "equity_curve.parquet",
    ):
        typer.echo(f"  {name}")


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The root cause of the first failed step (e.g. the DataError naming the bad file)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            # Dagster wraps the user's exception; report that one, not what it was raised from.
            while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
                error = error.cause
            return f"step {event.step_key}: {error.message.strip()}"
    return "unknown failure (see the Dagster run logs)"


def _fail(message: str) -> int:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return 1


@app.command()
def demo(
    day: Annotated[str, typer.Option(help="Demo day (YYYY-MM-DD).")] = DEMO_DAY.isoformat(),
    scale: Annotated[float, typer.Option(help="Multiplies the number of ticks.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the demo data.")] = 7,
    config: ConfigOption = None,
) -> None:
    """Generate the demo day, run the whole pipeline (data assets, backtest, upload) with its
    checks, and print the backtest summary, the I/O saved and where the result files are."""
    stores = stores_from_config(config)
    the_day = dt.date.fromisoformat(day)
    generate(the_day, scale, seed, stores)
    typer.echo(f"materializing the market-data and backtest assets for {day}…")
    io_report, summary = materialize_pipeline(the_day, stores)
    _echo_summary(summary, stores)
    typer.echo(
        f"I/O: read {io_report['bytes_read']:,} of {io_report['bytes_full_days']:,} bytes "
        f"of the day files: reduction {io_report['reduction']:.1%} "
        f"(ideal {io_report['ideal_reduction']:.1%}: the window rows' share of the day) "
        f"(read amplification {io_report['read_amplification']:.3f})"
    )
    typer.echo("Dagster UI on the same definitions and runs: make dagster-dev")


@app.command("generate-demo")
def generate_demo(
    day: Annotated[str, typer.Option(help="Day (YYYY-MM-DD).")] = DEMO_DAY.isoformat(),
    scale: Annotated[float, typer.Option(help="Multiplies the number of ticks.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 7,
    config: ConfigOption = None,
) -> None:
    """Only generate the demo data into the tick and signal stores."""
    generate(dt.date.fromisoformat(day), scale, seed, stores_from_config(config))


@app.command("live-reconcile")
def live_reconcile(
    daemon_url: Annotated[
        str | None, typer.Option(help="The daemon's API (default: EXEC_DAEMON_URL or :8001).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Materialize the live reconciliation assets once (the daemon settles what it can, then
    the OMS is compared with every venue's own record) and print the breaks per table."""
    daemon = LiveDaemonResource(api_url=daemon_url) if daemon_url else LiveDaemonResource()
    stores = stores_from_config(config)
    for noisy in ("alembic", "pgserver", "execution_core.database"):  # storage set-up chatter
        logging.getLogger(noisy).setLevel(logging.WARNING)
    result = dg.materialize(
        LIVE_ASSETS,
        selection=list(RECONCILIATION_TABLES),
        instance=_instance(),
        resources={"stores": stores, "live_daemon": daemon},
        raise_on_error=False,
        # the run's step-by-step log stays in the run (Dagster UI); the breaks are printed
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    if not result.success:
        raise typer.Exit(code=_fail(f"reconciliation failed: {_failure_message(result)}"))
    materialized = {
        m.asset_key.path[-1]: m.metadata
        for m in result.asset_materializations_for_node("live_reconciliation")
    }
    total = 0
    for key in RECONCILIATION_TABLES:
        metadata = materialized[key]
        n_breaks = int(str(metadata["n_breaks"].value))
        total += n_breaks
        typer.echo(
            f"{key}: {n_breaks} breaks {metadata['breaks_by_type'].value} "
            f"(compared {metadata['rows_compared'].value}; settled by the daemon: "
            f"{metadata['n_settled'].value})"
        )
    location = str(materialized["reconciliation_orders"]["location"].value)
    typer.echo(f"reconciliation: {total} breaks; tables in {location.rsplit('/', 1)[0]}/")
    if total:
        raise typer.Exit(code=1)


CONVERTERS = {
    "binance-trades": (binance.read_trades_csv, TickKind.TRADES),
    "binance-trades-fixture": (binance.read_trades_fixture, TickKind.TRADES),
    "binance-quotes-fixture": (binance.read_quotes_fixture, TickKind.QUOTES),
    "binance-book-ticker": (binance.read_book_ticker_csv, TickKind.QUOTES),
    "tardis-trades": (tardis.read_trades_csv, TickKind.TRADES),
    "tardis-quotes": (tardis.read_quotes_csv, TickKind.QUOTES),
    "tardis-book-snapshot": (tardis.read_book_snapshot_csv, TickKind.QUOTES),
}


@app.command()
def convert(
    fmt: Annotated[str, typer.Argument(help=f"One of: {', '.join(CONVERTERS)}")],
    path: Annotated[Path, typer.Argument(help="The source file.")],
    instrument: Annotated[
        str, typer.Option(help="Canonical ID, e.g. BINANCE-SPOT:SPOT_PAIR:BTC-USDT")
    ],
    config: ConfigOption = None,
) -> None:
    """Convert a real exchange file into the tick store (one file per UTC day it covers)."""
    if fmt not in CONVERTERS:
        raise typer.BadParameter(f"unknown format {fmt!r}; expected one of {', '.join(CONVERTERS)}")
    reader, kind = CONVERTERS[fmt]
    frame = reader(path)
    stores = stores_from_config(config)
    days = frame["ts_event"].dt.date().unique().sort().to_list()
    for day in days:
        part = frame.filter(pl.col("ts_event").dt.date() == day)
        info = write_tick_day(stores.ticks, instrument, kind, day, part)
        typer.echo(f"{info.key}: {info.rows} rows in {info.row_groups} row groups")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        app()
    except ExecutionServicesError as exc:
        raise SystemExit(_fail(f"error: {exc}")) from None


if __name__ == "__main__":
    main()
