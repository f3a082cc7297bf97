"""The console's settings: ``EXEC_CONSOLE_*``, and the pipelines' results store by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from operator_console.settings import ConsoleSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXEC_RESULTS_STORE_URL", raising=False)
    settings = ConsoleSettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.daemon_url == "http://127.0.0.1:8001"
    assert settings.dagster_url == "http://127.0.0.1:3000"
    # the pipelines' default (config/execution_services.json)
    assert settings.results_store_url == "file://runtime/store/results"
    assert (settings.ui_dir, settings.probe_timeout_s) == (Path("ui/dist"), 2.0)


def test_the_results_store_follows_the_pipelines_then_its_own_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXEC_RESULTS_STORE_URL", "gs://bucket/results")
    assert ConsoleSettings().results_store_url == "gs://bucket/results"
    monkeypatch.setenv("EXEC_CONSOLE_RESULTS_STORE_URL", "file:///elsewhere")
    monkeypatch.setenv("EXEC_CONSOLE_PORT", "9999")
    settings = ConsoleSettings()
    assert (settings.results_store_url, settings.port) == ("file:///elsewhere", 9999)
