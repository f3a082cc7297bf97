"""README, "Your own data", as a new user runs it: real Binance files → ``exec-services
convert`` → a reference for the data's time → ``exec-services import-signals`` →
``exec-services backtest``, each a command in a fresh process in an empty directory (the
default stores, ``runtime/store``, are relative to it; no first day is configured: it is
found from the signals).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REPO_ROOT

BTC = "BINANCE-SPOT:SPOT_PAIR:BTC-USDT"
EXEC_SERVICES = str(Path(sys.executable).parent / "exec-services")
SIGNALS_CSV = (
    "ts_event,instrument_key,target_quantity,exec_algorithm,exec_algorithm_params\n"
    f"2021-01-08T00:00:02Z,{BTC},0.05,NORMAL,\n"
    f'2021-01-08T00:00:10Z,{BTC},-0.02,TWAP,"{{""duration_sec"": 30, ""max_slices"": 3}}"\n'
)
# the README's snippet: Binance spot BTCUSDT traded in 0.000001 BTC in 2021
REFERENCE_FOR_2021 = """
import json
from execution_core.instruments.reference import packaged_reference_text

reference = json.loads(packaged_reference_text())
for spec in reference["instruments"]:
    if spec["key"] == "BINANCE-SPOT:SPOT_PAIR:BTC-USDT":
        spec.update(size_precision=6, size_increment="0.000001", lot_size="0.000001",
                    min_quantity="0.000001")
open("runtime/store/instruments/reference.json", "w").write(json.dumps(reference, indent=2))
"""


def command(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EXEC_") and k not in ("DAGSTER_HOME",)
    }
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    (tmp_path / "signals.csv").write_text(SIGNALS_CSV)
    return tmp_path


def test_raw_exchange_files_to_backtest_results(user_dir: Path, real_data_dir: Path) -> None:
    converted = {}
    for fmt, name in [
        ("binance-trades-fixture", "binance_btcusdt_trades_20210108.csv"),
        ("binance-quotes-fixture", "binance_btcusdt_quotes_20210108.csv"),
    ]:
        done = command(
            [EXEC_SERVICES, "convert", fmt, str(real_data_dir / name), "--instrument", BTC],
            user_dir,
        )
        assert done.returncode == 0, done.stderr
        converted[fmt] = done.stderr
    # the trades are finer than today's grid: convert says so, naming the fix
    warning = converted["binance-trades-fixture"]
    assert "size values have more than 5 decimals (size_precision of " + BTC in warning
    assert "runtime/store/instruments/reference.json holds a reference" in warning
    (user_dir / "runtime" / "store" / "instruments").mkdir(parents=True)
    done = command([sys.executable, "-c", REFERENCE_FOR_2021], user_dir)
    assert done.returncode == 0, done.stderr
    done = command([EXEC_SERVICES, "import-signals", "signals.csv", "--strategy", "mine"], user_dir)
    assert done.returncode == 0, done.stderr
    assert "mine/2021-01-08.parquet: 2 rows" in done.stdout

    done = command([EXEC_SERVICES, "backtest", "--from", "2021-01-08"], user_dir)
    assert done.returncode == 0, done.stderr
    assert "2021-01-08  signals    2" in done.stdout
    summary = json.loads(done.stdout[done.stdout.index("{") : done.stdout.index("\n}") + 2])
    assert summary["rejected_signals"] == 0
    assert summary["closing_positions"] == {BTC: -0.02}
    assert set(summary["slippage_bps"]) == {"NORMAL", "TWAP"}
    assert abs(summary["equity_continuity_error"]) <= 1e-9 * summary["starting_cash"]

    # every fill inside the real prices of the tape around it
    results = user_dir / "runtime" / "store" / "results" / "backtest_results"
    (run,) = results.iterdir()
    fills = pl.read_parquet(run / "fills.parquet")
    quotes = pl.read_csv(real_data_dir / "binance_btcusdt_quotes_20210108.csv")
    low, high = quotes["bid"].min(), quotes["ask"].max()
    assert len(fills) >= 2
    assert fills["price"].is_between(low, high).all()
