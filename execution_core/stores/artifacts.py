"""Atomic sets of files under one prefix: data files first, ``_manifest.json`` last.

Object stores have no multi-object transactions. A set is committed by its manifest,
written after every file it lists (with sizes and sha256). Readers go through the
manifest, so a crash halfway leaves a set that is "not there", never a half one. A re-run
first removes the old manifest, so readers never mix old and new files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from execution_core.errors import DataError, ObjectNotFoundError
from execution_core.stores.base import ObjectStore

MANIFEST = "_manifest.json"


@dataclass(frozen=True)
class ArtifactSet:
    prefix: str
    files: dict[str, dict[str, Any]]  # name -> {"bytes": int, "sha256": str}
    metadata: dict[str, Any]


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.write_parquet(sink, compression="zstd", statistics=True)
    return sink.getvalue()


def commit(
    store: ObjectStore,
    prefix: str,
    files: Mapping[str, bytes],
    metadata: Mapping[str, Any] | None = None,
) -> ArtifactSet:
    """Replace the set at ``prefix`` with ``files``; visible only once the manifest lands."""
    prefix = prefix.rstrip("/")
    store.delete(f"{prefix}/{MANIFEST}")
    for name in [k for k in store.list(prefix + "/") if k.rsplit("/", 1)[-1] != MANIFEST]:
        if name[len(prefix) + 1 :] not in files:
            store.delete(name)
    listing = {}
    for name, data in files.items():
        store.write_bytes(f"{prefix}/{name}", data)
        listing[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {
        "files": listing,
        "metadata": dict(metadata or {}),
        "committed_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    store.write_bytes(f"{prefix}/{MANIFEST}", json.dumps(manifest, indent=2).encode())
    return ArtifactSet(prefix, listing, dict(metadata or {}))


def retract(store: ObjectStore, prefix: str) -> None:
    """Withdraw a committed set (its files stay, unreadable through ``open_set``)."""
    store.delete(f"{prefix.rstrip('/')}/{MANIFEST}")


def open_set(store: ObjectStore, prefix: str) -> ArtifactSet:
    """The committed set at ``prefix``; DataError if there is none."""
    prefix = prefix.rstrip("/")
    where = store.describe(f"{prefix}/{MANIFEST}")
    try:
        manifest = json.loads(store.read_bytes(f"{prefix}/{MANIFEST}"))
    except ObjectNotFoundError:
        raise DataError(f"no committed artifacts at {store.describe(prefix)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{where}: corrupt manifest ({exc})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise DataError(f"{where}: corrupt manifest (no 'files' object)")
    return ArtifactSet(prefix, manifest["files"], manifest.get("metadata", {}))


def read_file(store: ObjectStore, artifacts: ArtifactSet, name: str) -> bytes:
    """One file of a committed set, checked against its manifest entry."""
    if name not in artifacts.files:
        raise DataError(f"{store.describe(artifacts.prefix)}: no file {name!r} in the manifest")
    try:
        data = store.read_bytes(f"{artifacts.prefix}/{name}")
    except ObjectNotFoundError as exc:
        raise DataError(f"committed file is gone: {exc}") from None
    if hashlib.sha256(data).hexdigest() != artifacts.files[name]["sha256"]:
        raise DataError(
            f"{store.describe(artifacts.prefix)}/{name}: content does not match manifest"
        )
    return data


def read_parquet(store: ObjectStore, artifacts: ArtifactSet, name: str) -> pl.DataFrame:
    data = read_file(store, artifacts, name)
    try:
        return pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several unrelated types for a corrupt file
        raise DataError(
            f"corrupt parquet {store.describe(artifacts.prefix)}/{name}: {exc}"
        ) from exc
