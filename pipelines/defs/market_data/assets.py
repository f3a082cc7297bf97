"""Data assets, one partition per day: instruments → signals → execution_windows → tick_windows.

Each asset validates its input (raising a DataError that names the file and row), commits
its files atomically to the results store (``pipeline/<asset>/<day>/``), and then runs its
blocking checks on what was committed. A failed blocking check stops the downstream assets
of the run and withdraws the committed set, so no later run reads it either.
"""

import json
from collections.abc import Callable, Iterator

import dagster as dg
import polars as pl

from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference, parse_reference
from execution_core.signals.events import execution_events, last_targets
from execution_core.signals.loader import load_previous_signals, load_signals_day
from execution_core.stores import artifacts
from execution_core.ticks.layout import tick_key
from execution_core.ticks.window_loader import load_tick_windows
from execution_core.ticks.windows import execution_windows, window_coverage
from pipelines.defs.checking import retracting_on_failure
from pipelines.defs.committed import committed, committed_reference
from pipelines.defs.market_data import checks
from pipelines.defs.metadata import artifact_prefix, table_preview
from pipelines.defs.partitions import daily_partitions, partition_day
from pipelines.defs.resources import StoresResource, read_reference_source

GROUP = "market_data"


def venue_resolver(reference: InstrumentReference) -> Callable[[str], list[str]]:
    """The venue instrument keys a signal's instrument key may trade on in the backtest
    (listings marked ``backtest: false`` have no ticks to read)."""

    def venues_for(key: str) -> list[str]:
        return [spec.key for spec in reference.backtest_listing(CanonicalId.parse(key))]

    return venues_for


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    check_specs=checks.INSTRUMENT_CHECKS,
    description="Snapshot of the instrument reference (precisions, lot sizes, fees) for the day.",
)
def instruments(
    context: dg.AssetExecutionContext, stores: StoresResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    raw, source = read_reference_source(stores)
    reference = parse_reference(raw, source=source)
    frame = checks.reference_frame(reference)
    prefix = artifact_prefix("instruments", context.partition_key)
    artifacts.commit(
        stores.results,
        prefix,
        {"reference.json": raw.encode(), "instruments.parquet": artifacts.parquet_bytes(frame)},
        {"source": source},
    )
    context.log.info(f"instruments_committed n={len(frame)} source={source}")
    yield dg.MaterializeResult(
        metadata={
            "n_instruments": len(frame),
            "venues": ", ".join(reference.venues()),
            "source": source,
            "preview": table_preview(frame),
        }
    )
    yield from retracting_on_failure(stores, prefix, checks.check_instruments(stores, prefix))


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    deps=[instruments],
    check_specs=checks.SIGNAL_CHECKS,
    description="All strategies' sparse signals for the day, validated, and their target changes.",
)
def signals(
    context: dg.AssetExecutionContext, stores: StoresResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    day = partition_day(context)
    reference = committed_reference(stores, context.partition_key)
    frame, files = load_signals_day(stores.signals, day, reference)
    # each strategy's targets before today: from its most recent earlier file, which is not
    # yesterday's when it wrote none yesterday
    previous = load_previous_signals(stores.signals, day, reference)
    events = execution_events(frame, last_targets(previous))
    prefix = artifact_prefix("signals", context.partition_key)
    artifacts.commit(
        stores.results,
        prefix,
        {
            "signals.parquet": artifacts.parquet_bytes(frame),
            "events.parquet": artifacts.parquet_bytes(events),
        },
        {"files": files},
    )
    context.log.info(f"signals_committed rows={len(frame)} events={len(events)} files={len(files)}")
    yield dg.MaterializeResult(
        metadata={
            "n_rows": len(frame),
            "n_events": len(events),
            "n_unchanged_rows_skipped": len(frame) - len(events),
            "strategies": ", ".join(sorted(frame["strategy_id"].unique().to_list())),
            "files": ", ".join(files) or "none",
            "events_preview": table_preview(events),
        }
    )
    yield from retracting_on_failure(stores, prefix, checks.check_signals(stores, prefix))


@dg.asset(
    name="execution_windows",
    group_name=GROUP,
    partitions_def=daily_partitions,
    deps=[signals],
    check_specs=checks.WINDOW_CHECKS,
    description="5-minute execution windows opened by target changes, merged per venue instrument.",
)
def execution_windows_asset(
    context: dg.AssetExecutionContext, stores: StoresResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    reference = committed_reference(stores, context.partition_key)
    events = committed(stores, "signals", context.partition_key).frame("events.parquet")
    windows = execution_windows(events, venue_resolver(reference))
    prefix = artifact_prefix("execution_windows", context.partition_key)
    artifacts.commit(stores.results, prefix, {"windows.parquet": artifacts.parquet_bytes(windows)})
    coverage = window_coverage(windows)
    venues = max(windows["instrument_key"].n_unique(), 1) if len(windows) else 1
    yield dg.MaterializeResult(
        metadata={
            "n_windows": len(windows),
            "n_venue_instruments": windows["instrument_key"].n_unique() if len(windows) else 0,
            "coverage_minutes": round(coverage.total_seconds() / 60, 2),
            "day_fraction_per_instrument": round(coverage.total_seconds() / 86400 / venues, 4),
            "preview": table_preview(windows),
        }
    )
    yield from retracting_on_failure(
        stores, prefix, checks.check_windows(stores, context.partition_key, prefix)
    )


def tick_artifact_name(instrument_key: str, kind: str) -> str:
    return f"{kind}/{instrument_key.replace(':', '_')}.parquet"


@dg.asset(
    group_name=GROUP,
    partitions_def=daily_partitions,
    deps=[execution_windows_asset],
    check_specs=checks.TICK_CHECKS,
    description="Trades and quotes inside the execution windows, read by row-group pruning.",
)
def tick_windows(
    context: dg.AssetExecutionContext, stores: StoresResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    day = partition_day(context)
    windows = committed(stores, "execution_windows", context.partition_key).frame("windows.parquet")
    loaded, report = load_tick_windows(stores.ticks, windows, day, progress=context.log.info)
    files = {
        tick_artifact_name(t.instrument_key, t.kind.value): artifacts.parquet_bytes(t.frame)
        for t in loaded
    }
    index = {
        tick_artifact_name(t.instrument_key, t.kind.value): [t.instrument_key, t.kind.value]
        for t in loaded
    }
    prefix = artifact_prefix("tick_windows", context.partition_key)
    io_report = report.as_dict() | {"missing_spill_files": report.missing_spill_files}
    artifacts.commit(
        stores.results,
        prefix,
        {**files, "io.json": json.dumps(io_report, indent=2).encode()},
        {"index": index},
    )
    counts = {
        kind: sum(len(t.frame) for t in loaded if t.kind.value == kind)
        for kind in ("trades", "quotes")
    }
    context.log.info(
        f"tick_windows_loaded trades={counts['trades']} quotes={counts['quotes']} "
        f"bytes_read={report.bytes_read} bytes_full_days={report.bytes_full_days} "
        f"reduction={report.reduction:.4f}"
    )
    summary = pl.DataFrame(
        [
            {"instrument_key": t.instrument_key, "kind": t.kind.value, "rows": len(t.frame)}
            for t in loaded
        ]
    )
    yield dg.MaterializeResult(
        metadata={
            "n_trades": counts["trades"],
            "n_quotes": counts["quotes"],
            "bytes_read": report.bytes_read,
            "bytes_full_days": report.bytes_full_days,
            "io_reduction": dg.MetadataValue.float(round(report.reduction, 4)),
            "read_amplification": dg.MetadataValue.float(round(report.read_amplification, 4)),
            "tick_files": dg.MetadataValue.json(
                sorted(
                    {stores.ticks.describe(tick_key(t.instrument_key, t.kind, day)) for t in loaded}
                )
            ),
            "per_instrument": table_preview(summary, rows=50),
        }
    )
    yield from retracting_on_failure(
        stores, prefix, checks.check_tick_windows(stores, context.partition_key, prefix)
    )


MARKET_DATA_ASSETS = [instruments, signals, execution_windows_asset, tick_windows]
