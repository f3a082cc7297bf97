"""Blocking checks of the market-data assets, run on the files each asset committed.

The rules themselves are plain functions returning a list of problems (empty = pass), so
they are tested directly with bad frames; the ``check_*`` generators wrap them as Dagster
``AssetCheckResult``s with the failing cases in the metadata.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import polars as pl

from execution_core.execution_window import EXECUTION_WINDOW, EXECUTION_WINDOW_NS
from execution_core.instruments.reference import InstrumentReference, parse_reference
from execution_core.signals.schema import SIGNALS_SCHEMA
from execution_core.ticks.layout import NS_PER_DAY, day_start_ns
from execution_core.ticks.schema import SCHEMAS, TickKind
from execution_core.ticks.windows import inside_windows
from execution_core.validation import schema_problems
from pipelines.defs.checking import blocking_spec
from pipelines.defs.checking import check_result as _result
from pipelines.defs.committed import CommittedFiles, committed
from pipelines.defs.resources import StoresResource

INSTRUMENT_CHECKS = [
    blocking_spec(
        "instruments", "instruments_valid", "Every key parses; fees, increments and lots are sane."
    ),
]
SIGNAL_CHECKS = [
    blocking_spec(
        "signals", "signals_schema", "Signals match the pandera schema; events change the target."
    ),
]
WINDOW_CHECKS = [
    blocking_spec(
        "execution_windows",
        "windows_inside_day",
        "Windows start in the day and last 5 min or more.",
    ),
    blocking_spec(
        "execution_windows", "windows_have_signal_change", "Every window holds a target change."
    ),
]
TICK_CHECKS = [
    blocking_spec("tick_windows", "ticks_schema", "Trades and quotes match the tick schemas."),
    blocking_spec(
        "tick_windows", "ticks_sorted_inside_windows", "Ticks are sorted and inside their windows."
    ),
]


# --- rules ---------------------------------------------------------------------------------


def reference_frame(reference: InstrumentReference) -> pl.DataFrame:
    rows = [spec.model_dump(mode="json") for spec in reference.specs()]
    return pl.DataFrame(rows).with_columns(pl.col(pl.Decimal).cast(pl.String))


def instrument_problems(reference: InstrumentReference) -> list[str]:
    problems = []
    for spec in reference.specs():
        if spec.taker_fee < 0 or spec.taker_fee > 0.01:
            problems.append(f"{spec.key}: taker fee {spec.taker_fee} outside [0, 1%]")
        if spec.maker_fee > spec.taker_fee:
            problems.append(
                f"{spec.key}: maker fee {spec.maker_fee} above taker fee {spec.taker_fee}"
            )
    if not len(reference):
        problems.append("the reference lists no instruments")
    return problems


def window_day_problems(windows: pl.DataFrame, day: dt.date) -> list[str]:
    start, end = day_start_ns(day), day_start_ns(day) + NS_PER_DAY
    length = EXECUTION_WINDOW_NS
    problems = []
    ws = windows["window_start"].dt.epoch("ns").to_list()
    we = windows["window_end"].dt.epoch("ns").to_list()
    for i, (s, e) in enumerate(zip(ws, we, strict=True)):
        if not start <= s < end:
            problems.append(f"window {i}: starts outside {day} ({windows['window_start'][i]})")
        if e - s < length:
            problems.append(f"window {i}: shorter than {EXECUTION_WINDOW}")
        if e > end + length:
            problems.append(f"window {i}: ends more than {EXECUTION_WINDOW} after the day")
    return problems


def windows_without_events(windows: pl.DataFrame, events: pl.DataFrame) -> list[str]:
    """Windows that contain no target change on a signal key that maps to them."""
    starts = events.select(
        pl.col("instrument_key").alias("signal_key"), pl.col("ts_event").alias("event_ts")
    )
    matched = (
        windows.with_row_index("row")
        .explode("signal_keys")
        .join(starts, left_on="signal_keys", right_on="signal_key", how="inner")
        .filter(
            (pl.col("event_ts") >= pl.col("window_start"))
            & (pl.col("event_ts") < pl.col("window_end"))
        )["row"]
        .unique()
    )
    lonely = windows.with_row_index("row").filter(~pl.col("row").is_in(matched.implode()))
    return [
        f"window {r['row']} {r['instrument_key']} {r['window_start']}: no target change"
        for r in lonely.iter_rows(named=True)
    ]


def tick_window_problems(frame: pl.DataFrame, windows: pl.DataFrame, what: str) -> list[str]:
    if frame.is_empty():
        return []
    ts = frame["ts_event"].dt.epoch("ns")
    problems = []
    unsorted = frame.with_row_index("row").filter(ts.diff() < 0)
    if len(unsorted):
        problems.append(f"{what}: not sorted at rows {unsorted['row'].head(5).to_list()}")
    ordered = windows.sort("window_start")
    spans = list(
        zip(
            ordered["window_start"].dt.epoch("ns").to_list(),
            ordered["window_end"].dt.epoch("ns").to_list(),
            strict=True,
        )
    )
    inside = inside_windows(ts.to_numpy(), spans)
    outside = frame.with_row_index("row").filter(~pl.Series(inside))
    if len(outside):
        problems.append(
            f"{what}: {len(outside)} ticks outside windows, rows {outside['row'].head(5).to_list()}"
        )
    return problems


# --- Dagster wrappers ------------------------------------------------------------------------


def check_instruments(stores: StoresResource, prefix: str) -> Iterator[dg.AssetCheckResult]:
    files = CommittedFiles(stores, prefix)
    raw = files.bytes("reference.json").decode()
    problems = instrument_problems(parse_reference(raw, source=files.location))
    yield _result("instruments_valid", "instruments", problems)


def check_signals(stores: StoresResource, prefix: str) -> Iterator[dg.AssetCheckResult]:
    files = CommittedFiles(stores, prefix)
    frame, events = files.frame("signals.parquet"), files.frame("events.parquet")
    problems = schema_problems(
        frame.select(SIGNALS_SCHEMA.columns.keys()), SIGNALS_SCHEMA, "signals"
    )
    problems += [
        f"event row {i}: does not change the target"
        for i in events.with_row_index("i").filter(pl.col("delta_quantity") == 0)["i"].to_list()
    ]
    yield _result("signals_schema", "signals", problems, n_rows=len(frame), n_events=len(events))


def check_windows(
    stores: StoresResource, partition_key: str, prefix: str
) -> Iterator[dg.AssetCheckResult]:
    windows = CommittedFiles(stores, prefix).frame("windows.parquet")
    events = committed(stores, "signals", partition_key).frame("events.parquet")
    day = dt.date.fromisoformat(partition_key)
    yield _result("windows_inside_day", "execution_windows", window_day_problems(windows, day))
    yield _result(
        "windows_have_signal_change", "execution_windows", windows_without_events(windows, events)
    )


def check_tick_windows(
    stores: StoresResource, partition_key: str, prefix: str
) -> Iterator[dg.AssetCheckResult]:
    files = CommittedFiles(stores, prefix)
    windows = committed(stores, "execution_windows", partition_key).frame("windows.parquet")
    schema_issues: list[str] = []
    window_issues: list[str] = []
    for name, (instrument_key, kind) in files.metadata["index"].items():
        frame = files.frame(name)
        schema_issues += schema_problems(frame, SCHEMAS[TickKind(kind)], name)
        own = windows.filter(pl.col("instrument_key") == instrument_key)
        window_issues += tick_window_problems(frame, own, name)
    yield _result("ticks_schema", "tick_windows", schema_issues)
    yield _result("ticks_sorted_inside_windows", "tick_windows", window_issues)
