"""The market-data assets, materialized for real on a small demo day.

Local ``file://`` stores by default, all four stores in the GCS emulator once, and bad
inputs that must fail the run with a message naming the file (and row), commit nothing for
the failing asset and leave downstream assets unmaterialized.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest
from dagster_gcp import GCSResource

from execution_core.errors import DataError
from execution_core.instruments.reference import packaged_reference_text
from execution_core.stores import ObjectStore, artifacts, open_store
from execution_core.ticks.layout import index_key, tick_key
from execution_core.ticks.schema import TickKind
from pipelines.defs.market_data import checks
from pipelines.defs.market_data.assets import MARKET_DATA_ASSETS
from pipelines.defs.metadata import artifact_prefix
from pipelines.defs.resources import REFERENCE_KEY, StoresResource
from tests.pipelines.conftest import DEMO_DAY, PARTITION, DemoDay

ASSETS = ["instruments", "signals", "execution_windows", "tick_windows"]
EXPECTED_CHECKS = {
    "instruments_valid",
    "signals_schema",
    "windows_inside_day",
    "windows_have_signal_change",
    "ticks_schema",
    "ticks_sorted_inside_windows",
}
SIGNAL_FILE = f"momentum-btc-v1/{PARTITION}.parquet"
# Traded by both demo strategies (the ANY key and meanrev's concrete key): always has windows.
TICK_INSTRUMENT = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
TICK_FILE = tick_key(TICK_INSTRUMENT, TickKind.TRADES, DEMO_DAY)

CopyDemoDay = Callable[..., tuple[StoresResource, Path, Path]]


def materialize(
    stores: StoresResource, *, raise_on_error: bool = True
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        MARKET_DATA_ASSETS,
        partition_key=PARTITION,
        instance=dg.DagsterInstance.ephemeral(),
        resources={"stores": stores},
        raise_on_error=raise_on_error,
    )


def materialized(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        e.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    ]


def tick_windows_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("tick_windows")
    ]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """The messages of the step failures and their whole chain of causes (no tracebacks)."""
    lines = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            lines.append(error.message.strip())
            error = error.cause
    return "\n".join(lines)


def committed_frames(store: ObjectStore, asset: str) -> dict[str, pl.DataFrame]:
    """Every parquet file of an asset's committed set for the demo partition."""
    committed = artifacts.open_set(store, artifact_prefix(asset, PARTITION))
    return {
        name: artifacts.read_parquet(store, committed, name)
        for name in sorted(committed.files)
        if name.endswith(".parquet")
    }


def assert_success(result: dg.ExecuteInProcessResult, stores: StoresResource) -> None:
    assert result.success
    assert sorted(materialized(result)) == sorted(ASSETS)
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == EXPECTED_CHECKS
    assert len(evaluations) == len(EXPECTED_CHECKS)
    failed = [(e.check_name, e.metadata.get("problems")) for e in evaluations if not e.passed]
    assert failed == []
    meta = tick_windows_metadata(result)
    assert 0 < meta["io_reduction"] < 1
    assert 0 < meta["bytes_read"] < meta["bytes_full_days"]
    assert meta["n_trades"] > 0 and meta["n_quotes"] > 0
    for asset in ASSETS:
        committed = artifacts.open_set(stores.results, artifact_prefix(asset, PARTITION))
        assert committed.files, asset


def assert_failed_at(result: dg.ExecuteInProcessResult, stores: StoresResource, asset: str) -> str:
    """The run failed in ``asset``, which committed nothing; nothing downstream ran."""
    assert not result.success
    assert result.get_failed_step_keys() == {asset}
    position = ASSETS.index(asset)
    assert sorted(materialized(result)) == sorted(ASSETS[:position])
    for name in ASSETS[position:]:
        with pytest.raises(DataError, match="no committed artifacts"):
            artifacts.open_set(stores.results, artifact_prefix(name, PARTITION))
    return failure_text(result)


# --- the happy path -------------------------------------------------------------------------


def test_materialize_demo_day_and_rerun_idempotently(stores: StoresResource) -> None:
    first = materialize(stores)
    assert_success(first, stores)

    windows = committed_frames(stores.results, "execution_windows")["windows.parquet"]
    assert len(windows) > 0
    assert TICK_INSTRUMENT in windows["instrument_key"].to_list()
    ticks = committed_frames(stores.results, "tick_windows")
    assert {name.split("/", 1)[0] for name in ticks} == {"trades", "quotes"}
    meta = tick_windows_metadata(first)
    n_trades = sum(len(f) for name, f in ticks.items() if name.startswith("trades/"))
    assert n_trades == meta["n_trades"]
    tick_set = artifacts.open_set(stores.results, artifact_prefix("tick_windows", PARTITION))
    io_report = json.loads(artifacts.read_file(stores.results, tick_set, "io.json"))
    assert io_report["bytes_read"] == meta["bytes_read"]
    assert io_report["bytes_full_days"] == meta["bytes_full_days"]

    before = {asset: committed_frames(stores.results, asset) for asset in ASSETS}
    second = materialize(stores)
    assert_success(second, stores)
    for asset in ASSETS:
        after = committed_frames(stores.results, asset)
        assert list(after) == list(before[asset]), asset
        for name, frame in before[asset].items():
            assert after[name].equals(frame), f"{asset}/{name} changed on re-run"
    assert before["execution_windows"]["windows.parquet"].equals(windows)
    assert tick_windows_metadata(second)["bytes_read"] == meta["bytes_read"]


def _upload(local_dir: Path, store: ObjectStore) -> int:
    files = [p for p in sorted(local_dir.rglob("*")) if p.is_file()]
    for path in files:
        store.write_bytes(path.relative_to(local_dir).as_posix(), path.read_bytes())
    return len(files)


@pytest.mark.gcs
def test_materialize_with_every_store_in_gcs(
    demo_day: DemoDay, gcs_bucket_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = {name: f"{gcs_bucket_url}/{name}" for name in ("instruments", "ticks", "signals")}
    urls["results"] = f"{gcs_bucket_url}/results"
    # The demo day, byte for byte as publish_demo_day wrote it, plus a reference.json so that
    # the instruments store is read too.
    assert _upload(demo_day.ticks_dir, open_store(urls["ticks"])) == 2 * len(
        demo_day.published.tick_files
    )
    assert _upload(demo_day.signals_dir, open_store(urls["signals"])) == 2
    open_store(urls["instruments"]).write_bytes(REFERENCE_KEY, packaged_reference_text().encode())
    stores = StoresResource(
        instruments_url=urls["instruments"],
        ticks_url=urls["ticks"],
        signals_url=urls["signals"],
        results_url=urls["results"],
    )
    clients = []
    get_client = GCSResource.get_client

    def spy(self: GCSResource) -> object:
        clients.append(get_client(self))
        return clients[-1]

    monkeypatch.setattr(GCSResource, "get_client", spy)
    result = materialize(stores)
    assert_success(result, stores)
    assert clients, "the stores did not get their client from dagster-gcp's GCSResource"

    (instruments_event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("instruments")
    ]
    source = instruments_event.materialization.metadata["source"].value
    assert source == f"{urls['instruments']}/{REFERENCE_KEY}"
    tick_files = tick_windows_metadata(result)["tick_files"]
    assert tick_files and all(f.startswith(f"{urls['ticks']}/") for f in tick_files)
    assert stores.results.list("pipeline/tick_windows/")  # really written to the bucket


# --- bad input ----------------------------------------------------------------------------------


def _replace_signal_key(signals_dir: Path, row: int, key: str) -> None:
    """Rewrite one row's instrument_key with polars, bypassing write_signal_file's checks."""
    path = signals_dir / SIGNAL_FILE
    frame = pl.read_parquet(path)
    assert len(frame) > row
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(key))
        .otherwise(pl.col("instrument_key"))
        .alias("instrument_key")
    ).write_parquet(path)


def test_unknown_instrument_in_a_signal_file_fails_signals(copy_demo_day: CopyDemoDay) -> None:
    stores, _, signals_dir = copy_demo_day(signals=True)
    _replace_signal_key(signals_dir, 3, "BINANCE-FUTURES:PERPETUAL:DOGE-USDT@LIN")
    message = assert_failed_at(materialize(stores, raise_on_error=False), stores, "signals")
    assert (
        f"{stores.signals.describe(SIGNAL_FILE)}: row 3: unknown instrument "
        "'BINANCE-FUTURES:PERPETUAL:DOGE-USDT@LIN'"
    ) in message


def test_bad_canonical_id_in_a_signal_file_fails_signals(copy_demo_day: CopyDemoDay) -> None:
    stores, _, signals_dir = copy_demo_day(signals=True)
    _replace_signal_key(signals_dir, 3, "NOT-AN-ID")
    message = assert_failed_at(materialize(stores, raise_on_error=False), stores, "signals")
    assert f"{stores.signals.describe(SIGNAL_FILE)}: row 3: " in message
    assert "'NOT-AN-ID'" in message


def test_corrupt_signal_file_fails_signals(copy_demo_day: CopyDemoDay) -> None:
    stores, _, signals_dir = copy_demo_day(signals=True)
    (signals_dir / SIGNAL_FILE).write_bytes(random.Random(1).randbytes(4096))
    message = assert_failed_at(materialize(stores, raise_on_error=False), stores, "signals")
    assert f"{stores.signals.describe(SIGNAL_FILE)}: not a readable parquet file" in message


def _assert_window_needed_the_file(stores: StoresResource) -> None:
    windows = committed_frames(stores.results, "execution_windows")["windows.parquet"]
    assert TICK_INSTRUMENT in windows["instrument_key"].to_list()


def test_missing_tick_file_fails_tick_windows(copy_demo_day: CopyDemoDay) -> None:
    stores, ticks_dir, _ = copy_demo_day(ticks=True)
    (ticks_dir / TICK_FILE).unlink()
    message = assert_failed_at(materialize(stores, raise_on_error=False), stores, "tick_windows")
    _assert_window_needed_the_file(stores)
    assert f"tick file missing: {stores.ticks.describe(TICK_FILE)}" in message


def test_corrupt_tick_file_fails_tick_windows(copy_demo_day: CopyDemoDay) -> None:
    stores, ticks_dir, _ = copy_demo_day(ticks=True)
    path = ticks_dir / TICK_FILE
    data = bytearray(path.read_bytes())
    # Overwrite every row group's bytes (between the leading PAR1 and the footer), so
    # whichever row groups the windows need are damaged; keep the footer readable.
    (footer_length,) = struct.unpack("<I", data[-8:-4])
    body_end = len(data) - 8 - footer_length
    data[4:body_end] = random.Random(2).randbytes(body_end - 4)
    path.write_bytes(bytes(data))
    (ticks_dir / index_key(TICK_FILE)).unlink()

    message = assert_failed_at(materialize(stores, raise_on_error=False), stores, "tick_windows")
    _assert_window_needed_the_file(stores)
    assert f"corrupt tick file {stores.ticks.describe(TICK_FILE)}" in message


# --- blocking checks ----------------------------------------------------------------------------


def test_failing_blocking_check_stops_downstream(
    stores: StoresResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No real input gets past the loaders' validation to fail a check, so the window rule is
    forced to fail; the run itself is real."""
    monkeypatch.setattr(checks, "window_day_problems", lambda windows, day: ["window 0: forced"])
    result = materialize(stores, raise_on_error=False)

    assert not result.success
    assert result.get_failed_step_keys() == {"execution_windows"}
    assert sorted(materialized(result)) == sorted(ASSETS[:3])
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["windows_inside_day"].passed
    assert evaluations["windows_inside_day"].metadata["problems"].value == "window 0: forced"
    assert evaluations["windows_have_signal_change"].passed
    assert set(evaluations).isdisjoint({"ticks_schema", "ticks_sorted_inside_windows"})
    assert "windows_inside_day" in failure_text(result)
    with pytest.raises(DataError, match="no committed artifacts"):
        artifacts.open_set(stores.results, artifact_prefix("tick_windows", PARTITION))
    # the partition that failed its check is withdrawn, so no later run can read it
    with pytest.raises(DataError, match="no committed artifacts"):
        artifacts.open_set(stores.results, artifact_prefix("execution_windows", PARTITION))
    artifacts.open_set(stores.results, artifact_prefix("signals", PARTITION))  # passed: kept
