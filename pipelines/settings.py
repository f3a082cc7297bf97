"""The pipelines' external JSON config (``config/execution_services.json``).

Loaded with ``execution_core.config.load_config``: ``${VAR:-default}`` is expanded and
pydantic errors name the file and key. Example: ``exec-services demo --config FILE``; the
Dagster definitions read ``EXEC_CONFIG`` (default: the project's file).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from execution_core.config.loader import load_config
from pipelines.defs.resources import StoresResource

_STORE_URL = r"^(file://|gs://)[^\s]+$"
FALLBACK_FIRST_DAY = dt.date(2025, 1, 1)


class StoresConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruments_url: str = Field(pattern=_STORE_URL)
    ticks_url: str = Field(pattern=_STORE_URL)
    signals_url: str = Field(pattern=_STORE_URL)
    results_url: str = Field(pattern=_STORE_URL)
    gcs_project: str | None = None

    @field_validator("gcs_project")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class BacktestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The first day a backtest can run (the first Dagster partition; it opens flat). Unset:
    # the earliest day with signal files in the signals store.
    first_day: dt.date | None = None

    @field_validator("first_day", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return value or None


class PipelinesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stores: StoresConfig
    backtest: BacktestSettings = BacktestSettings()


CONFIG_ENV = "EXEC_CONFIG"
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "execution_services.json"


def config_path(path: str | Path | None = None) -> Path | None:
    """``path``, else ``EXEC_CONFIG``, else the project's config file when it exists."""
    if path is not None:
        return Path(path)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def load_pipelines_config(path: str | Path | None = None) -> PipelinesConfig | None:
    found = config_path(path)
    return load_config(found, PipelinesConfig) if found is not None else None


def stores_from_config(path: str | Path | None) -> StoresResource:
    """The stores resource of a config file, or the environment defaults when ``None``."""
    if path is None:
        return StoresResource()
    return StoresResource(**load_config(path, PipelinesConfig).stores.model_dump())


def first_backtest_day(
    config: PipelinesConfig | None, stores: StoresResource, config_file: Path | None = None
) -> tuple[dt.date, str]:
    """``backtest.first_day`` of the config, else the earliest day with signal files in
    the signals store, else :data:`FALLBACK_FIRST_DAY` (no signals yet); and where it
    came from, for messages."""
    if config is not None and config.backtest.first_day is not None:
        return config.backtest.first_day, f"backtest.first_day in {config_file or 'the config'}"
    days = sorted(
        key.rsplit("/", 1)[1].removesuffix(".parquet")
        for key in stores.signals.list()
        if key.count("/") == 1 and key.endswith(".parquet")
    )
    for day in days:
        try:
            found = dt.date.fromisoformat(day)
        except ValueError:  # not a signal file
            continue
        return found, f"the earliest signal file in {stores.url('signals')}"
    return FALLBACK_FIRST_DAY, f"no signal file in {stores.url('signals')} yet"
