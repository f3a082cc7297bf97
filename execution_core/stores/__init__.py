"""Object stores chosen by URL: ``file://…`` (embedded default) or ``gs://bucket/prefix``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from execution_core.errors import ConfigError
from execution_core.stores.base import ObjectStore, RangeFile, ReadStats
from execution_core.stores.local import LocalObjectStore

__all__ = ["LocalObjectStore", "ObjectStore", "RangeFile", "ReadStats", "open_store"]


def open_store(url: str, *, gcs_client: Any = None) -> ObjectStore:
    """Open the store behind ``url``.

    ``file:///abs/path`` or ``file://relative/path`` (relative to the working directory)
    selects the local backend; ``gs://bucket[/prefix]`` the GCS backend, which uses
    ``gcs_client`` (a ``google.cloud.storage.Client``, e.g. from dagster-gcp's
    ``GCSResource``) when given.
    """
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = (parsed.netloc + parsed.path) if parsed.netloc else parsed.path
        return LocalObjectStore(Path(path))
    if parsed.scheme == "gs":
        from execution_core.stores.gcs import GCSObjectStore

        return GCSObjectStore(url, client=gcs_client)
    if parsed.scheme == "" and url:
        return LocalObjectStore(Path(url))
    raise ConfigError(f"unsupported store URL {url!r}: expected file://… or gs://bucket/prefix")
