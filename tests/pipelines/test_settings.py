"""The pipelines' JSON config: env expansion, validation errors naming file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execution_core.errors import ConfigError
from pipelines.settings import stores_from_config

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "execution_services.json"


def test_repo_config_expands_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXEC_TICKS_STORE_URL", raising=False)
    monkeypatch.setenv("EXEC_RESULTS_STORE_URL", "gs://bucket/results")
    stores = stores_from_config(REPO_CONFIG)
    assert stores.url("ticks") == "file://runtime/store/ticks"
    assert stores.url("results") == "gs://bucket/results"
    assert stores.gcs_project is None


def test_bad_store_url_names_file_and_key(tmp_path: Path) -> None:
    config = json.loads(REPO_CONFIG.read_text())
    config["stores"]["ticks_url"] = "s3://nope"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=r"bad\.json: stores\.ticks_url: String should match"):
        stores_from_config(path)


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    config = json.loads(REPO_CONFIG.read_text())
    config["stores"]["tick_url"] = "file://x"
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=r"typo\.json: stores\.tick_url: Extra inputs"):
        stores_from_config(path)


def test_the_first_backtest_day_is_configured_else_found_from_the_signals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from pipelines.defs.resources import StoresResource
    from pipelines.settings import FALLBACK_FIRST_DAY, first_backtest_day, load_pipelines_config

    signals = tmp_path / "signals"
    stores = StoresResource(signals_url=f"file://{signals}")
    signals.mkdir()
    monkeypatch.setenv("EXEC_BACKTEST_FIRST_DAY", "")
    unset = load_pipelines_config(REPO_CONFIG)
    assert unset is not None and unset.backtest.first_day is None
    day, source = first_backtest_day(unset, stores)
    assert day == FALLBACK_FIRST_DAY and source.startswith("no signal file in file://")

    for key in ("s1/2024-03-02.parquet", "s2/2024-02-29.parquet", "s2/notes.parquet"):
        (signals / key).parent.mkdir(exist_ok=True)
        (signals / key).write_bytes(b"")
    assert first_backtest_day(unset, stores)[0] == dt.date(2024, 2, 29)

    monkeypatch.setenv("EXEC_BACKTEST_FIRST_DAY", "2024-01-01")
    configured = load_pipelines_config(REPO_CONFIG)
    day, source = first_backtest_day(configured, stores, REPO_CONFIG)
    assert day == dt.date(2024, 1, 1)
    assert source == f"backtest.first_day in {REPO_CONFIG}"

    monkeypatch.setenv("EXEC_BACKTEST_FIRST_DAY", "2024-13-01")
    with pytest.raises(ConfigError, match=r"backtest\.first_day"):
        load_pipelines_config(REPO_CONFIG)
