"""Resources shared by every domain: the logical stores and the instrument reference.

Store URLs default to the embedded ``file://runtime/store/...`` and are overridden per
deployment with ``EXEC_<NAME>_STORE_URL`` (e.g. ``gs://bucket/ticks``). ``gs://`` stores
get their client from dagster-gcp's ``GCSResource`` (imported when such a store is opened:
dagster-gcp brings BigQuery and pandas, which loading the definitions does not need).
"""

from __future__ import annotations

import os
from functools import cached_property

import dagster as dg

from execution_core.instruments.reference import (
    PACKAGED_REFERENCE_SOURCE,
    packaged_reference_text,
)
from execution_core.stores import ObjectStore, open_store

DEFAULT_STORE_ROOT = "file://runtime/store"


def _env_url(name: str) -> str:
    return os.environ.get(f"EXEC_{name.upper()}_STORE_URL", f"{DEFAULT_STORE_ROOT}/{name}")


class StoresResource(dg.ConfigurableResource):
    """The four logical stores of ARCHITECTURE.md, each its own URL.

    An empty URL means: ``EXEC_<NAME>_STORE_URL`` from the environment when the store is
    opened, else ``file://runtime/store/<name>``.
    """

    instruments_url: str = ""
    ticks_url: str = ""
    signals_url: str = ""
    results_url: str = ""
    gcs_project: str | None = None

    def url(self, name: str) -> str:
        return str(getattr(self, f"{name}_url")) or _env_url(name)

    def _open(self, name: str) -> ObjectStore:
        url = self.url(name)
        client = None
        if url.startswith("gs://"):
            from dagster_gcp import GCSResource

            project = self.gcs_project or os.environ.get("EXEC_GCS_PROJECT")
            client = GCSResource(project=project).get_client()
        return open_store(url, gcs_client=client)

    @cached_property
    def ticks(self) -> ObjectStore:
        return self._open("ticks")

    @cached_property
    def signals(self) -> ObjectStore:
        return self._open("signals")

    @cached_property
    def results(self) -> ObjectStore:
        return self._open("results")

    @cached_property
    def instruments(self) -> ObjectStore:
        return self._open("instruments")


REFERENCE_KEY = "reference.json"


def read_reference_source(stores: StoresResource) -> tuple[str, str]:
    """(JSON text, source) of the instrument reference: the instruments store's
    ``reference.json`` when present, else the reference packaged with execution_core."""
    store = stores.instruments
    if store.exists(REFERENCE_KEY):
        return store.read_bytes(REFERENCE_KEY).decode(), store.describe(REFERENCE_KEY)
    return packaged_reference_text(), PACKAGED_REFERENCE_SOURCE
