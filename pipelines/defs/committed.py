"""The one reader of what the assets committed to the results store.

An asset reads an upstream asset's files by the upstream's *name* and partition
(``committed(stores, "signals", day).frame("events.parquet")``), never by importing its
module: the domains depend on each other through asset keys only. Every read goes through
the set's manifest (``execution_core.stores.artifacts``), so a half-written, withdrawn or
changed file is a DataError naming its location, never a silent wrong input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl

from execution_core.instruments.reference import InstrumentReference, parse_reference
from execution_core.stores import artifacts
from pipelines.defs.metadata import artifact_prefix
from pipelines.defs.resources import StoresResource


@dataclass(frozen=True)
class CommittedFiles:
    """One committed set of the results store (an asset partition, or an upload)."""

    stores: StoresResource
    prefix: str

    @cached_property
    def manifest(self) -> artifacts.ArtifactSet:
        return artifacts.open_set(self.stores.results, self.prefix)

    @property
    def metadata(self) -> dict[str, Any]:
        return self.manifest.metadata

    @property
    def location(self) -> str:
        return self.stores.results.describe(self.prefix)

    def sha256(self, name: str) -> str:
        """The content hash the manifest records (what a run_id depends on)."""
        return str(self.manifest.files[name]["sha256"])

    def names(self) -> list[str]:
        return sorted(self.manifest.files)

    def bytes(self, name: str) -> bytes:
        return artifacts.read_file(self.stores.results, self.manifest, name)

    def json(self, name: str) -> Any:
        return json.loads(self.bytes(name))

    def frame(self, name: str) -> pl.DataFrame:
        return artifacts.read_parquet(self.stores.results, self.manifest, name)


def committed(stores: StoresResource, asset: str, partition_key: str) -> CommittedFiles:
    """The files asset ``asset`` committed for ``partition_key``."""
    return CommittedFiles(stores, artifact_prefix(asset, partition_key))


def committed_reference(stores: StoresResource, partition_key: str) -> InstrumentReference:
    """The instrument reference snapshot the ``instruments`` asset committed for the day."""
    files = committed(stores, "instruments", partition_key)
    return parse_reference(files.bytes("reference.json").decode(), source=files.location)
