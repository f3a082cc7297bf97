"""Artifact sets: files first, manifest last; readers only see committed, intact files."""

from __future__ import annotations

import json

import polars as pl
import pytest

from execution_core.errors import DataError
from execution_core.stores import LocalObjectStore, ObjectStore
from execution_core.stores.artifacts import (
    MANIFEST,
    commit,
    open_set,
    parquet_bytes,
    read_file,
    read_parquet,
)

PREFIX = "runs/2025-01-15/backtest"


@pytest.fixture
def store(tmp_path) -> ObjectStore:
    return LocalObjectStore(tmp_path / "artifacts")


def table(n: int = 5) -> pl.DataFrame:
    return pl.DataFrame({"i": list(range(n)), "x": [i / 2 for i in range(n)]})


def test_commit_then_read_round_trips(store) -> None:
    """Bytes, parquet and metadata come back as committed; the manifest lists sizes."""
    files = {"fills.parquet": parquet_bytes(table()), "notes/summary.json": b'{"pnl": 1.5}'}
    committed = commit(store, PREFIX + "/", files, {"run": "r1", "events": 3})
    assert committed.prefix == PREFIX
    assert store.list(PREFIX + "/") == sorted(
        [f"{PREFIX}/{MANIFEST}", f"{PREFIX}/fills.parquet", f"{PREFIX}/notes/summary.json"]
    )

    opened = open_set(store, PREFIX)
    assert opened == committed
    assert opened.metadata == {"run": "r1", "events": 3}
    assert {name: entry["bytes"] for name, entry in opened.files.items()} == {
        name: len(data) for name, data in files.items()
    }
    assert read_file(store, opened, "notes/summary.json") == b'{"pnl": 1.5}'
    assert read_parquet(store, opened, "fills.parquet").equals(table())
    manifest = json.loads(store.read_bytes(f"{PREFIX}/{MANIFEST}"))
    assert "committed_at" in manifest


def test_recommit_with_fewer_files_removes_stale_files(store) -> None:
    """A re-run replaces the set: files it no longer writes disappear; others are updated."""
    commit(store, PREFIX, {"a.parquet": parquet_bytes(table(3)), "b.bin": b"old", "c/d.bin": b"x"})
    commit(store, PREFIX, {"a.parquet": parquet_bytes(table(7))}, {"run": 2})
    assert store.list(PREFIX) == [f"{PREFIX}/{MANIFEST}", f"{PREFIX}/a.parquet"]
    opened = open_set(store, PREFIX)
    assert list(opened.files) == ["a.parquet"]
    assert opened.metadata == {"run": 2}
    assert read_parquet(store, opened, "a.parquet").equals(table(7))
    with pytest.raises(DataError, match=r"no file 'b\.bin' in the manifest"):
        read_file(store, opened, "b.bin")


def test_recommit_leaves_neighbouring_prefixes_alone(store) -> None:
    """Stale-file removal stays inside ``prefix/`` (not a sibling sharing its name start)."""
    commit(store, "runs/a", {"x.bin": b"1"})
    commit(store, "runs/ab", {"y.bin": b"2"})
    commit(store, "runs/a", {})
    assert read_file(store, open_set(store, "runs/ab"), "y.bin") == b"2"
    assert store.list("runs/a/") == [f"runs/a/{MANIFEST}"]


def test_set_without_manifest_is_not_there(store) -> None:
    """A crash after the files but before the manifest: open_set says nothing is committed."""
    store.write_bytes(f"{PREFIX}/fills.parquet", parquet_bytes(table()))
    with pytest.raises(DataError, match="no committed artifacts") as info:
        open_set(store, PREFIX)
    assert store.describe(PREFIX) in str(info.value)


def test_crash_during_recommit_hides_the_old_set(store) -> None:
    """Re-commit deletes the old manifest first, so a half-done re-run is never mixed."""
    commit(store, PREFIX, {"a.bin": b"old"})
    # what a re-run has done when it dies writing its files: old manifest gone, new file in
    store.delete(f"{PREFIX}/{MANIFEST}")
    store.write_bytes(f"{PREFIX}/a.bin", b"new")
    with pytest.raises(DataError, match="no committed artifacts"):
        open_set(store, PREFIX)


def test_tampered_file_fails_the_checksum(store) -> None:
    """Same size, different content: read_file names the file and the manifest mismatch."""
    opened = commit(store, PREFIX, {"a.bin": b"hello"})
    store.write_bytes(f"{PREFIX}/a.bin", b"jello")
    with pytest.raises(DataError, match="does not match manifest") as info:
        read_file(store, opened, "a.bin")
    assert f"{store.describe(PREFIX)}/a.bin" in str(info.value)
    with pytest.raises(DataError, match="does not match manifest"):
        read_parquet(store, open_set(store, PREFIX), "a.bin")


def test_unknown_name_is_a_data_error(store) -> None:
    opened = commit(store, PREFIX, {"a.bin": b"1"})
    with pytest.raises(DataError) as info:
        read_file(store, opened, "missing.parquet")
    assert store.describe(PREFIX) in str(info.value)
    assert "'missing.parquet'" in str(info.value)


def test_corrupt_parquet_names_the_file(store) -> None:
    """Intact bytes (checksum fine) that are not parquet: DataError naming the file."""
    opened = commit(store, PREFIX, {"fills.parquet": b"PAR1 definitely not parquet PAR1"})
    with pytest.raises(DataError, match="corrupt parquet") as info:
        read_parquet(store, opened, "fills.parquet")
    assert f"{store.describe(PREFIX)}/fills.parquet" in str(info.value)


def test_corrupt_manifest_is_a_data_error_naming_it(store) -> None:
    commit(store, PREFIX, {"a.bin": b"1"})
    store.write_bytes(f"{PREFIX}/{MANIFEST}", b'{"files": {"a.bin"')
    with pytest.raises(DataError) as info:
        open_set(store, PREFIX)
    assert store.describe(PREFIX) in str(info.value)
