"""``exec-services`` (pipelines.cli): demo, convert, and its error messages.

Every test runs in a temporary working directory, so the default stores
(``file://runtime/store/<name>``, relative to the working directory) land under tmp_path.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pipelines import cli
from pipelines.cli import app
from pipelines.defs.resources import DEFAULT_STORE_ROOT, StoresResource
from pipelines.runs import RunFailed, materialize_day

BTC_SPOT = "BINANCE-SPOT:SPOT_PAIR:BTC-USDT"
CONVERTED_KEY = "CRYPTO/BINANCE-SPOT/SPOT_PAIR/BTC-USDT/trades/2021-01-08.parquet"
STORE_ENV = [f"EXEC_{n}_STORE_URL" for n in ("INSTRUMENTS", "TICKS", "SIGNALS", "RESULTS")]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tmp working directory holding the default stores (``file://runtime/store/...``)."""
    for var in [*STORE_ENV, "EXEC_GCS_PROJECT", "DAGSTER_HOME"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    assert StoresResource().url("ticks") == f"{DEFAULT_STORE_ROOT}/ticks"
    return tmp_path


@pytest.fixture
def trades_fixture(real_data_dir: Path) -> Path:
    return real_data_dir / "binance_btcusdt_trades_20210108.parquet"


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """The ``exec-services`` entry point (``main``), which turns project errors into exit 1."""
    monkeypatch.setattr(sys, "argv", ["exec-services", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    code = exit_info.value.code
    return code if isinstance(code, int) else 1


def test_demo_runs_end_to_end(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--scale", "0.01"])
    assert result.exit_code == 0, result.output
    assert "reduction" in result.output
    assert "materializing the market-data and backtest assets" in result.output
    assert '"slippage_bps"' in result.output and '"final_equity"' in result.output
    assert "result files: file://" in result.output
    store = workdir / "runtime" / "store"
    assert (store / "signals" / "momentum-btc-v1" / "2025-01-15.parquet").is_file()
    assert (store / "results" / "pipeline" / "tick_windows" / "2025-01-15" / "io.json").is_file()


def test_convert_binance_trades_fixture(workdir: Path, trades_fixture: Path) -> None:
    result = CliRunner().invoke(
        app, ["convert", "binance-trades-fixture", str(trades_fixture), "--instrument", BTC_SPOT]
    )
    assert result.exit_code == 0, result.output
    assert f"{CONVERTED_KEY}: 2001 rows" in result.output
    written = workdir / "runtime" / "store" / "ticks" / CONVERTED_KEY
    assert pq.ParquetFile(written).metadata.num_rows == 2001
    frame = pl.read_parquet(written)
    assert frame["ts_event"].dt.date().unique().to_list() == [dt.date(2021, 1, 8)]
    assert frame["ts_event"].is_sorted()


def test_convert_unknown_format(workdir: Path, trades_fixture: Path) -> None:
    result = CliRunner().invoke(
        app, ["convert", "binance-csv-please", str(trades_fixture), "--instrument", BTC_SPOT]
    )
    assert result.exit_code == 2
    assert "unknown format 'binance-csv-please'" in result.output
    assert "binance-trades-fixture" in result.output  # lists the formats it knows
    assert not (workdir / "runtime").exists()


def test_convert_bad_canonical_id(
    workdir: Path, trades_fixture: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    args = ["convert", "binance-trades-fixture", str(trades_fixture), "--instrument", "NOT-AN-ID"]
    assert run_main(args, monkeypatch) == 1
    err = capsys.readouterr().err
    assert "error: " in err and "'NOT-AN-ID'" in err
    assert "invalid canonical instrument ID" in err
    assert not list(workdir.rglob("*.parquet"))  # nothing written

    # and the bare typer app exits non-zero too (with the error as its exception)
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "NOT-AN-ID" in str(result.exception)


def test_store_url_env_vars_are_read_when_the_command_runs(
    workdir: Path, trades_fixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EXEC_<NAME>_STORE_URL set after pipelines was imported still selects the store."""
    ticks_dir = workdir / "elsewhere" / "ticks"
    monkeypatch.setenv("EXEC_TICKS_STORE_URL", f"file://{ticks_dir}")
    result = CliRunner().invoke(
        app, ["convert", "binance-trades-fixture", str(trades_fixture), "--instrument", BTC_SPOT]
    )
    assert result.exit_code == 0, result.output
    assert (ticks_dir / CONVERTED_KEY).is_file()
    assert not (workdir / "runtime").exists()


def test_failed_run_message_names_the_bad_file(
    copy_demo_day, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    stores, _, signals_dir = copy_demo_day(signals=True)
    bad = "momentum-btc-v1/2025-01-15.parquet"
    (signals_dir / bad).write_bytes(b"not parquet at all")
    with pytest.raises(RunFailed) as failed:
        materialize_day(cli.DEMO_DAY, stores, dg.DagsterInstance.ephemeral())
    message = str(failed.value)
    assert message.startswith("2025-01-15: pipeline run failed: step signals: ")
    assert f"{stores.signals.describe(bad)}: not a readable parquet file" in message
