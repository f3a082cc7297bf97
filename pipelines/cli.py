"""``exec-services``: the command line of the pipelines (``make demo`` runs ``demo``)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import polars as pl
import typer
from tqdm import tqdm

from execution_core.errors import ExecutionServicesError
from execution_core.ticks.converters import binance, tardis
from execution_core.ticks.schema import TickKind
from execution_core.ticks.writer import write_tick_day

if TYPE_CHECKING:  # the definitions are imported when a command needs them (see _use_config)
    import dagster as dg

    from pipelines.defs.resources import StoresResource

DEMO_DAY = dt.date(2025, 1, 15)
LOG_FILE = Path("runtime") / "logs" / "exec-services.log"
PROJECT_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"

ConfigOption = Annotated[
    Path | None, typer.Option(help="JSON config (see config/execution_services.json).")
]

app = typer.Typer(help="Execution Services pipelines.", no_args_is_help=True)
log = logging.getLogger("exec_services")


def _echo_json(payload: object) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def _use_config(config: Path | None) -> StoresResource:
    """The stores of ``config``. The Dagster definitions read the same file (its
    ``backtest.first_day``), so it is set as ``EXEC_CONFIG`` before they are imported."""
    if config is not None:
        os.environ["EXEC_CONFIG"] = str(config.resolve())
    from pipelines.settings import stores_from_config

    return stores_from_config(config)


def _instance() -> dg.DagsterInstance:
    """The DAGSTER_HOME instance; unset, the project's ``runtime/dagster`` (as ``make`` sets
    it), so that runs from the command line show in the Dagster UI and history is kept."""
    import dagster as dg

    if not os.environ.get("DAGSTER_HOME"):
        home = Path("runtime", "dagster").resolve()
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists() and PROJECT_DAGSTER_YAML.exists():
            shutil.copy(PROJECT_DAGSTER_YAML, home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def generate(day: dt.date, scale: float, seed: int, stores: StoresResource) -> None:
    from execution_core.demo.config import DemoConfig
    from execution_core.demo.publish import publish_demo_day
    from execution_core.instruments.reference import parse_reference
    from pipelines.defs.resources import read_reference_source

    raw, source = read_reference_source(stores)
    reference = parse_reference(raw, source=source)
    config = DemoConfig(date=day, ticks_scale=scale, seed=seed)
    with tqdm(total=len(config.instruments), desc=f"demo ticks {day}", unit="instrument") as bar:
        report = publish_demo_day(
            config, stores.ticks, stores.signals, reference, progress=lambda _: bar.update()
        )
    typer.echo(
        f"demo data for {day}: {report.trades:,} trades, {report.quotes:,} quotes "
        f"({report.tick_bytes / 1e6:.1f} MB) in {stores.url('ticks')}; "
        f"{len(report.signal_files)} signal files in {stores.url('signals')}"
    )


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


def _fail(message: str) -> int:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return 1


def _parse_day(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected a day as YYYY-MM-DD, got {value!r}", param_hint=option
        ) from None


def _day_line(summary: dict[str, Any]) -> str:
    return (
        f"{summary['day']}  signals {summary['signals']:>4}  orders {summary['n_orders']:>5}  "
        f"fills {summary['n_fills']:>5}  fees {summary['total_fees']:>12,.2f}  "
        f"pnl {summary['pnl']:>14,.2f}  equity {summary['final_equity']:>16,.2f}"
    )


@app.command()
def demo(
    day: Annotated[str, typer.Option(help="Demo day (YYYY-MM-DD).")] = DEMO_DAY.isoformat(),
    scale: Annotated[float, typer.Option(help="Multiplies the number of ticks.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the demo data.")] = 7,
    config: ConfigOption = None,
) -> None:
    """Generate the demo day, run the whole pipeline (data assets, backtest, upload) with its
    checks, and print the backtest summary, the I/O saved and where the result files are.
    The demo day opens flat (it has no previous day)."""
    stores = _use_config(config)
    the_day = dt.date.fromisoformat(day)
    generate(the_day, scale, seed, stores)
    typer.echo(f"materializing the market-data and backtest assets for {day}…")
    from pipelines.runs import materialize_day

    result = materialize_day(the_day, stores, _instance(), start_flat=True)
    _echo_summary(result.summary, stores)
    io_report = result.io_report
    typer.echo(
        f"I/O: read {io_report['bytes_read']:,} of {io_report['bytes_full_days']:,} bytes "
        f"of the day files: reduction {io_report['reduction']:.1%} "
        f"(ideal {io_report['ideal_reduction']:.1%}: the window rows' share of the day) "
        f"(read amplification {io_report['read_amplification']:.3f})"
    )
    typer.echo("Dagster UI on the same definitions and runs: make dagster-dev")
    typer.echo(f"step-by-step log: {LOG_FILE} (and each run's log in the Dagster UI)")


@app.command()
def backtest(
    from_day: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    to_day: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD; default: --from).")
    ] = None,
    start_flat: Annotated[
        bool,
        typer.Option(
            "--start-flat",
            help="Open the first day flat, instead of with the previous day's close "
            "(for a range whose previous day was never run).",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Backtest a range of days on the configured stores: each day's market data, backtest
    and upload (with the blocking checks), in order, each day opening with the previous
    day's closing portfolio. Prints a line per day and the summary of the range."""
    stores = _use_config(config)
    first = _parse_day(from_day, "--from")
    last = _parse_day(to_day, "--to") if to_day else first
    from pipelines.backtest.range_summary import summarize_range
    from pipelines.runs import check_range, days_between, missing_data, run_days, stale_days_after

    check_range(first, last)
    days = days_between(first, last)
    missing = missing_data(stores, days)
    if len(missing) == len(days):
        raise typer.Exit(code=_fail("no data in the range:\n  " + "\n  ".join(missing)))
    for line in missing:  # such a day still runs: it carries the portfolio through
        typer.secho(f"warning: {line}", fg=typer.colors.YELLOW, err=True)
    summaries = []
    dagster = _instance()
    with tqdm(total=len(days), desc="backtest", unit="day") as bar:
        for result in run_days(days, stores, dagster, start_flat=start_flat):
            summaries.append(result.summary)
            bar.write(_day_line(result.summary))
            bar.update()
    _echo_json(summarize_range(summaries))
    typer.echo(f"result files: {stores.url('results')}/backtest_results/<run_id>/ (run_id per day:")
    for summary in summaries:
        typer.echo(f"  {summary['day']}: {summary['run_id']}")
    typer.echo(")")
    typer.echo(f"step-by-step log: {LOG_FILE} (and each run's log in the Dagster UI)")
    stale = stale_days_after(stores, last)
    if stale:
        typer.secho(
            f"warning: {len(stale)} later days opened with an earlier close of the day before "
            f"them and are stale: {stale[0]} .. {stale[-1]}; re-run them with "
            f"exec-services backtest --from {stale[0]} --to {stale[-1]}",
            fg=typer.colors.YELLOW,
            err=True,
        )


@app.command("generate-demo")
def generate_demo(
    day: Annotated[str, typer.Option(help="Day (YYYY-MM-DD).")] = DEMO_DAY.isoformat(),
    scale: Annotated[float, typer.Option(help="Multiplies the number of ticks.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 7,
    config: ConfigOption = None,
) -> None:
    """Only generate the demo data into the tick and signal stores."""
    generate(dt.date.fromisoformat(day), scale, seed, _use_config(config))


@app.command("live-reconcile")
def live_reconcile(
    daemon_url: Annotated[
        str | None, typer.Option(help="The daemon's API (default: EXEC_DAEMON_URL or :8001).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Materialize the live reconciliation assets once (the daemon settles what it can, then
    the OMS is compared with every venue's own record) and print the breaks per table."""
    stores = _use_config(config)
    import dagster as dg

    from pipelines.defs.live.assets import LIVE_ASSETS, RECONCILIATION_TABLES
    from pipelines.defs.live.resources import LiveDaemonResource
    from pipelines.runs import QUIET_RUN_CONFIG, failure_message

    daemon = LiveDaemonResource(api_url=daemon_url) if daemon_url else LiveDaemonResource()
    for noisy in ("alembic", "pgserver", "execution_core.database"):  # storage set-up chatter
        logging.getLogger(noisy).setLevel(logging.WARNING)
    result = dg.materialize(
        LIVE_ASSETS,
        selection=list(RECONCILIATION_TABLES),
        instance=_instance(),
        resources={"stores": stores, "live_daemon": daemon},
        raise_on_error=False,
        run_config=QUIET_RUN_CONFIG,  # the breaks are printed; the steps' log is the run's
    )
    if not result.success:
        raise typer.Exit(code=_fail(f"reconciliation failed: {failure_message(result)}"))
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
    stores = _use_config(config)
    days = frame["ts_event"].dt.date().unique().sort().to_list()
    for day in days:
        part = frame.filter(pl.col("ts_event").dt.date() == day)
        info = write_tick_day(stores.ticks, instrument, kind, day, part)
        typer.echo(f"{info.key}: {info.rows} rows in {info.row_groups} row groups")
    _warn_off_grid(frame, kind, instrument, stores)


def _warn_off_grid(
    frame: pl.DataFrame, kind: TickKind, instrument: str, stores: StoresResource
) -> None:
    """Say now, not at the backtest, when the data is finer than the reference's grid."""
    from execution_core.instruments.reference import parse_reference
    from execution_core.ticks.grid import off_grid
    from pipelines.defs.resources import REFERENCE_KEY, read_reference_source

    raw, source = read_reference_source(stores)
    reference = parse_reference(raw, source=source)
    if instrument not in reference:
        typer.secho(
            f"warning: {instrument} is not in the instrument reference ({source}): a "
            f'backtest needs it there (README, "Your own data")',
            fg=typer.colors.YELLOW,
            err=True,
        )
        return
    for problem in off_grid(frame, kind, reference.get(instrument)):
        typer.secho(
            f"warning: {problem} in the instrument reference ({source}). A backtest of "
            f"this data fails until {stores.instruments.describe(REFERENCE_KEY)} holds a "
            f'reference with the grid of the data\'s time (README, "Your own data")',
            fg=typer.colors.YELLOW,
            err=True,
        )


def _log_to_file() -> Path:
    """Everything (INFO and up) to ``runtime/logs/exec-services.log``; the terminal gets
    warnings, the progress bars and the summaries."""
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(LOG_FILE)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    to_terminal = logging.StreamHandler()
    to_terminal.setLevel(logging.WARNING)
    to_terminal.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[to_file, to_terminal], force=True)
    return LOG_FILE


@app.command("import-signals")
def import_signals(
    path: Annotated[Path, typer.Argument(help="A CSV or parquet file of target positions.")],
    strategy: Annotated[str, typer.Option(help="The strategy id the rows belong to.")],
    config: ConfigOption = None,
) -> None:
    """Write a strategy's target positions into the signals store, one validated file per
    UTC day (``{strategy}/{YYYY-MM-DD}.parquet``). Columns: ts_event (UTC), instrument_key
    (canonical ID, venue or ANY), target_quantity; optional exec_algorithm (NORMAL, TWAP,
    VWAP, ICEBERG) and exec_algorithm_params (a JSON object)."""
    from execution_core.instruments.reference import parse_reference
    from execution_core.signals.loader import read_signal_table, write_signal_file
    from pipelines.defs.resources import read_reference_source

    stores = _use_config(config)
    reference = parse_reference(*read_reference_source(stores))
    frame = read_signal_table(path, strategy)
    for day, rows in frame.group_by(pl.col("ts_event").dt.date(), maintain_order=True):
        key = write_signal_file(stores.signals, strategy, day[0], rows, reference)
        typer.echo(f"{stores.signals.describe(key)}: {len(rows)} rows")


def main() -> None:
    log_file = _log_to_file()
    try:
        app()
    except ExecutionServicesError as exc:
        raise SystemExit(_fail(f"error: {exc}\n(full log: {log_file})")) from None


if __name__ == "__main__":
    main()
