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
