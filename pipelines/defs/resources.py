"""Resources shared by every domain: the logical stores and the instrument reference.

Store URLs default to the embedded ``file://runtime/store/...`` and are overridden per
deployment with ``EXEC_<NAME>_STORE_URL`` (e.g. ``gs://bucket/ticks``). ``gs://`` stores
get their client from dagster-gcp's ``GCSResource``.
"""

from __future__ import annotations

import os
from functools import cached_property

import dagster as dg
from dagster_gcp import GCSResource

from execution_core.instruments.reference import (
    PACKAGED_REFERENCE_SOURCE,
    packaged_reference_text,
)
from execution_core.stores import ObjectStore, open_store

DEFAULT_STORE_ROOT = "file://runtime/store"


def _default_url(name: str) -> str:
    return os.environ.get(f"EXEC_{name.upper()}_STORE_URL", f"{DEFAULT_STORE_ROOT}/{name}")


class StoresResource(dg.ConfigurableResource):
    """The four logical stores of ARCHITECTURE.md, each its own URL."""

    instruments_url: str = _default_url("instruments")
    ticks_url: str = _default_url("ticks")
    signals_url: str = _default_url("signals")
    results_url: str = _default_url("results")
    gcs_project: str | None = os.environ.get("EXEC_GCS_PROJECT")

    def _open(self, url: str) -> ObjectStore:
        client = None
        if url.startswith("gs://"):
            client = GCSResource(project=self.gcs_project).get_client()
        return open_store(url, gcs_client=client)

    @cached_property
    def ticks(self) -> ObjectStore:
        return self._open(self.ticks_url)

    @cached_property
    def signals(self) -> ObjectStore:
        return self._open(self.signals_url)

    @cached_property
    def results(self) -> ObjectStore:
        return self._open(self.results_url)

    @cached_property
    def instruments(self) -> ObjectStore:
        return self._open(self.instruments_url)


REFERENCE_KEY = "reference.json"


def read_reference_source(stores: StoresResource) -> tuple[str, str]:
    """(JSON text, source) of the instrument reference: the instruments store's
    ``reference.json`` when present, else the reference packaged with execution_core."""
    store = stores.instruments
    if store.exists(REFERENCE_KEY):
        return store.read_bytes(REFERENCE_KEY).decode(), store.describe(REFERENCE_KEY)
    return packaged_reference_text(), PACKAGED_REFERENCE_SOURCE
