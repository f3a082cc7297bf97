"""The object-store contract, run on the local backend and on GCS (against the emulator)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from execution_core.errors import ConfigError, ObjectNotFoundError, StoreError
from execution_core.stores import LocalObjectStore, ObjectStore, open_store
from execution_core.stores import local as local_module
from execution_core.stores.gcs import GCSObjectStore, make_gcs_client

# --- whole objects ---------------------------------------------------------------------------


def test_write_read_round_trip(store: ObjectStore) -> None:
    payload = bytes(range(256)) * 10
    store.write_bytes("a/b/c.bin", payload)
    assert store.read_bytes("a/b/c.bin") == payload


def test_overwrite_replaces(store: ObjectStore) -> None:
    store.write_bytes("k.txt", b"old contents, longer")
    store.write_bytes("k.txt", b"new")
    assert store.read_bytes("k.txt") == b"new"
    assert store.size("k.txt") == 3


def test_empty_object(store: ObjectStore) -> None:
    store.write_bytes("empty", b"")
    assert store.exists("empty")
    assert store.size("empty") == 0
    assert store.read_bytes("empty") == b""


def test_read_missing_raises_with_key_and_store_url(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError) as info:
        store.read_bytes("no/such/key.parquet")
    message = str(info.value)
    assert "no/such/key.parquet" in message
    assert store.url in message
    assert isinstance(info.value, FileNotFoundError)


def test_exists_and_size(store: ObjectStore) -> None:
    assert not store.exists("x/y")
    store.write_bytes("x/y", b"12345")
    assert store.exists("x/y")
    assert store.size("x/y") == 5
    assert not store.exists("x")  # a "directory" is not an object
    with pytest.raises(ObjectNotFoundError, match="x/missing"):
        store.size("x/missing")


def test_list_is_recursive_sorted_and_scoped_to_prefix(store: ObjectStore) -> None:
    for key in ["a/z", "a/b/y", "a/b/c/x", "ab/w", "b", "a_other"]:
        store.write_bytes(key, key.encode())
    assert store.list() == sorted(["a/z", "a/b/y", "a/b/c/x", "ab/w", "b", "a_other"])
    assert store.list("a") == ["a/b/c/x", "a/b/y", "a/z"]
    assert store.list("a/") == ["a/b/c/x", "a/b/y", "a/z"]
    assert store.list("a/b") == ["a/b/c/x", "a/b/y"]
    assert store.list("b") == ["b"]
    assert store.list("nothing/here") == []


def test_list_of_empty_store(store: ObjectStore) -> None:
    assert store.list() == []


def test_delete(store: ObjectStore) -> None:
    store.write_bytes("d/1", b"1")
    store.write_bytes("d/2", b"2")
    store.delete("d/1")
    assert not store.exists("d/1")
    assert store.list() == ["d/2"]
    store.delete("d/1")  # already gone: fine
    store.delete("never/existed")


def test_delete_prefix(store: ObjectStore) -> None:
    for key in ["run/1/a", "run/1/b/c", "run/10/a", "keep"]:
        store.write_bytes(key, b"x")
    assert store.delete_prefix("run/1") == 2
    assert store.list() == ["keep", "run/10/a"]
    assert store.delete_prefix("run/1") == 0


def test_key_escaping_the_store_is_rejected(store: ObjectStore) -> None:
    with pytest.raises(StoreError):
        store.write_bytes("../outside", b"x")


# --- ranged reads ----------------------------------------------------------------------------


def test_read_range_exact_bytes_and_counted(store: ObjectStore) -> None:
    payload = bytes(range(256)) * 4  # 1024 bytes, every offset distinguishable mod 256
    store.write_bytes("r.bin", payload)
    before_bytes, before_requests = store.read_stats.bytes_read, store.read_stats.requests
    cases = [
        ((0, 1), payload[:1]),  # first byte
        ((0, 10), payload[:10]),
        ((500, 24), payload[500:524]),  # middle
        ((1023, 1), payload[1023:]),  # last byte
        ((1020, 100), payload[1020:]),  # past the end: truncated
        ((0, 1024), payload),  # everything
    ]
    for (offset, length), expected in cases:
        assert store.read_range("r.bin", offset, length) == expected, (offset, length)
    assert store.read_stats.requests - before_requests == len(cases)
    assert store.read_stats.bytes_read - before_bytes == sum(len(e) for _, e in cases)


def test_read_range_at_or_past_end_is_empty(store: ObjectStore) -> None:
    store.write_bytes("r.bin", b"0123456789")
    assert store.read_range("r.bin", 10, 5) == b""
    assert store.read_range("r.bin", 3, 0) == b""


def test_read_range_missing_raises(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError, match=r"missing\.bin"):
        store.read_range("missing.bin", 0, 10)


def test_open_input_reads_one_parquet_row_group(store: ObjectStore) -> None:
    n = 40_000
    table = pa.table(
        {
            "ts_event": pa.array(range(n), pa.int64()),
            "price": pa.array([float(i) * 0.5 for i in range(n)], pa.float64()),
            "trade_id": pa.array([f"t{i:08d}" for i in range(n)]),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=5_000, compression="none")
    store.write_bytes("ticks/day.parquet", buffer.getvalue())
    object_size = store.size("ticks/day.parquet")
    before = store.read_stats.bytes_read

    parquet = pq.ParquetFile(store.open_input("ticks/day.parquet"))
    assert parquet.num_row_groups == 8
    group = parquet.read_row_group(3)

    assert group.equals(table.slice(15_000, 5_000))
    read = store.read_stats.bytes_read - before
    assert 0 < read < object_size / 2, (read, object_size)


# --- atomicity -------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_local_failed_write_leaves_old_object_and_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    store = LocalObjectStore(tmp_path / "store")
    store.write_bytes("dir/obj", b"old")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(f"simulated failure in os.{failing}")

    monkeypatch.setattr(local_module.os, failing, boom)
    with pytest.raises(OSError, match="simulated"):
        store.write_bytes("dir/obj", b"new contents that never land")
    monkeypatch.undo()

    assert store.read_bytes("dir/obj") == b"old"
    assert store.list() == ["dir/obj"]
    assert sorted(p.name for p in (tmp_path / "store" / "dir").iterdir()) == ["obj"]


@pytest.mark.gcs
def test_gcs_large_object_resumable_upload(gcs_bucket_url: str) -> None:
    """Above 8 MiB the client switches to a resumable upload; still one atomic object."""
    store = open_store(gcs_bucket_url)
    payload = os.urandom(9 * 1024 * 1024 + 17)
    store.write_bytes("big.bin", payload)
    assert store.size("big.bin") == len(payload)
    assert store.read_bytes("big.bin") == payload
    assert store.read_range("big.bin", len(payload) - 5, 5) == payload[-5:]


@pytest.mark.gcs
def test_gcs_missing_bucket(gcs_emulator_host: str) -> None:
    store = open_store("gs://no-such-bucket-here/p")
    with pytest.raises(ObjectNotFoundError, match="gs://no-such-bucket-here/p/k"):
        store.read_bytes("k")
    assert not store.exists("k")
    with pytest.raises(StoreError, match="bucket gs://no-such-bucket-here not found"):
        store.list()
    with pytest.raises(StoreError, match="bucket gs://no-such-bucket-here not found"):
        store.write_bytes("k", b"v")


# --- open_store ------------------------------------------------------------------------------


def test_open_store_file_url_absolute(tmp_path: Path) -> None:
    store = open_store((tmp_path / "s").as_uri())
    assert isinstance(store, LocalObjectStore)
    assert store.root == (tmp_path / "s").resolve()
    store.write_bytes("k", b"v")
    assert (tmp_path / "s" / "k").read_bytes() == b"v"


def test_open_store_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    by_url = open_store("file://runtime/store")
    by_path = open_store("runtime/store")
    assert isinstance(by_url, LocalObjectStore)
    assert isinstance(by_path, LocalObjectStore)
    assert by_url.root == by_path.root == (tmp_path / "runtime" / "store").resolve()


def test_open_store_gs_url_parsing_makes_no_request() -> None:
    client = storage.Client(project="offline", credentials=AnonymousCredentials())
    store = open_store("gs://my-bucket/a/b/", gcs_client=client)
    assert isinstance(store, GCSObjectStore)
    assert (store.bucket_name, store.prefix, store.url) == (
        "my-bucket",
        "a/b",
        "gs://my-bucket/a/b",
    )
    assert store.describe("x/y.parquet") == "gs://my-bucket/a/b/x/y.parquet"
    root = open_store("gs://my-bucket", gcs_client=client)
    assert isinstance(root, GCSObjectStore)
    assert root.prefix == ""
    assert root.describe("k") == "gs://my-bucket/k"


@pytest.mark.parametrize("url", ["s3://bucket/prefix", "http://example.com/x", ""])
def test_open_store_bad_scheme(url: str) -> None:
    with pytest.raises(ConfigError):
        open_store(url)


@pytest.mark.parametrize("url", ["gs://", "gs:///prefix-without-bucket"])
def test_gcs_url_without_bucket(url: str) -> None:
    client = storage.Client(project="offline", credentials=AnonymousCredentials())
    with pytest.raises(ConfigError):
        open_store(url, gcs_client=client)


# --- GCS clients -----------------------------------------------------------------------------


@pytest.mark.gcs
def test_make_gcs_client_uses_emulator(gcs_emulator_host: str) -> None:
    assert os.environ["STORAGE_EMULATOR_HOST"] == f"http://{gcs_emulator_host}"
    client = make_gcs_client()
    assert isinstance(client._credentials, AnonymousCredentials)
    assert client.project
    assert gcs_emulator_host in client._connection.API_BASE_URL


@pytest.mark.gcs
def test_dagster_gcs_resource_client_against_emulator(gcs_bucket_url: str) -> None:
    from dagster_gcp import GCSResource

    client = GCSResource(project="test").get_client()
    store = open_store(gcs_bucket_url, gcs_client=client)
    assert isinstance(store, GCSObjectStore)
    assert store.client is client
    store.write_bytes("from/dagster.txt", b"hello")
    assert store.read_bytes("from/dagster.txt") == b"hello"
    assert store.list() == ["from/dagster.txt"]
    # The same object, seen through a client made independently.
    assert open_store(gcs_bucket_url).read_bytes("from/dagster.txt") == b"hello"
