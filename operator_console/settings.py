"""The console's settings, from ``EXEC_CONSOLE_*`` environment variables.

The results store defaults to the one the pipelines write (``EXEC_RESULTS_STORE_URL``,
else ``file://runtime/store/results``, as in ``config/execution_services.json``), so that
the console shows what ``make demo`` produced without further setup.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PIPELINES_RESULTS_ENV = "EXEC_RESULTS_STORE_URL"
DEFAULT_RESULTS_STORE_URL = "file://runtime/store/results"


def _results_store_url() -> str:
    return os.environ.get(PIPELINES_RESULTS_ENV) or DEFAULT_RESULTS_STORE_URL


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXEC_CONSOLE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    daemon_url: str = "http://127.0.0.1:8001"
    dagster_url: str = "http://127.0.0.1:3000"
    results_store_url: str = Field(default_factory=_results_store_url)
    ui_dir: Path = Path("ui/dist")
    probe_timeout_s: float = Field(default=2.0, gt=0)
