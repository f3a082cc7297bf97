"""The pipelines' external JSON config (``config/execution_services.json``).

Loaded with ``execution_core.config.load_config``: ``${VAR:-default}`` is expanded and
pydantic errors name the file and key. Example: ``exec-services demo --config FILE``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from execution_core.config.loader import load_config
from pipelines.defs.resources import StoresResource

_STORE_URL = r"^(file://|gs://)[^\s]+$"


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


class PipelinesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stores: StoresConfig


def stores_from_config(path: str | Path | None) -> StoresResource:
    """The stores resource of a config file, or the environment defaults when ``None``."""
    if path is None:
        return StoresResource()
    return StoresResource(**load_config(path, PipelinesConfig).stores.model_dump())
