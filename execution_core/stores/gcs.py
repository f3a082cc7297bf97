"""``gs://bucket[/prefix]`` backend on the official ``google-cloud-storage`` client.

Every object is written with one upload request, which GCS applies atomically: a reader
sees the old object or the new one, never a partial one. Uploads carry a CRC32C checksum
that the server verifies. Transient failures are retried by the library's own policy
(``google.cloud.storage.retry.DEFAULT_RETRY``, bounded by ``retry_deadline``), and every
request has a bounded timeout.

Tests run this backend against a local emulator: when ``STORAGE_EMULATOR_HOST`` is set
(``http://127.0.0.1:PORT``, with the scheme), :func:`make_gcs_client` talks to it with
anonymous credentials.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from urllib.parse import urlparse

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.storage.exceptions import DataCorruption
from google.cloud.storage.retry import DEFAULT_RETRY

from execution_core.errors import ConfigError, ObjectNotFoundError, StoreError
from execution_core.stores.base import ObjectStore

EMULATOR_ENV_VAR = "STORAGE_EMULATOR_HOST"
EMULATOR_PROJECT = "emulator-project"

# (connect, read) seconds per HTTP request: generous for large parquet uploads, but bounded.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 300.0)
# Total time the library may spend retrying one operation (backoff included).
DEFAULT_RETRY_DEADLINE = 600.0


def make_gcs_client(project: str | None = None) -> storage.Client:
    """A storage client: the emulator's when ``STORAGE_EMULATOR_HOST`` is set, else GCP's.

    Against the emulator the client uses anonymous credentials and a placeholder project.
    Otherwise it uses Application Default Credentials; without ``project`` the project is
    inferred from the environment or the credentials (``storage.Client(project=None)``
    would instead mean "no project", so the argument is only passed when given).
    """
    if os.environ.get(EMULATOR_ENV_VAR):
        return storage.Client(
            project=project or EMULATOR_PROJECT, credentials=AnonymousCredentials()
        )
    if project is None:
        return storage.Client()
    return storage.Client(project=project)


class GCSObjectStore(ObjectStore):
    """Objects are blobs named ``{prefix}/{key}`` in one bucket."""

    def __init__(
        self,
        url: str,
        client: storage.Client | None = None,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retry_deadline: float = DEFAULT_RETRY_DEADLINE,
    ) -> None:
        super().__init__()
        parsed = urlparse(url)
        if parsed.scheme != "gs" or not parsed.netloc:
            raise ConfigError(f"not a GCS URL {url!r}: expected gs://bucket[/prefix]")
        self.bucket_name = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.url = f"gs://{self.bucket_name}" + (f"/{self.prefix}" if self.prefix else "")
        self.client = client if client is not None else make_gcs_client()
        self.bucket = self.client.bucket(self.bucket_name)
        self.timeout = timeout
        self.retry: Retry = DEFAULT_RETRY.with_timeout(retry_deadline)

    # --- naming ------------------------------------------------------------------------
    def _name(self, key: str) -> str:
        """The blob name of ``key``; rejects keys that are not plain relative paths."""
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise StoreError(f"invalid key {key!r} for store {self.url}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _key(self, name: str) -> str:
        return name[len(self.prefix) + 1 :] if self.prefix else name

    def describe(self, key: str) -> str:
        """The ``gs://`` URL of ``key``."""
        return f"gs://{self.bucket_name}/{self._name(key)}"

    def _not_found(self, key: str) -> ObjectNotFoundError:
        return ObjectNotFoundError(f"object not found: {self.describe(key)}")

    @contextlib.contextmanager
    def _errors(self, action: str, where: str) -> Iterator[None]:
        """Turn client errors left after the library's retries into StoreError."""
        try:
            yield
        except gexc.NotFound as err:  # the object's own absence is handled by the caller
            raise StoreError(
                f"GCS {action} failed for {where}: bucket gs://{self.bucket_name} not found"
            ) from err
        except (gexc.GoogleAPIError, DataCorruption) as err:
            raise StoreError(f"GCS {action} failed for {where}: {err}") from err

    def _blob(self, key: str) -> storage.Blob:
        return self.bucket.blob(self._name(key))

    # --- whole objects -----------------------------------------------------------------
    def read_bytes(self, key: str) -> bytes:
        with self._errors("read", self.describe(key)):
            try:
                data: bytes = self._blob(key).download_as_bytes(
                    timeout=self.timeout, retry=self.retry, checksum="auto"
                )
            except gexc.NotFound:
                raise self._not_found(key) from None
        self.read_stats.add(len(data))
        return data

    def write_bytes(self, key: str, data: bytes) -> None:
        """One upload request (multipart up to 8 MiB, resumable above), CRC32C-checked."""
        with self._errors("write", self.describe(key)):
            self._blob(key).upload_from_string(
                bytes(data),
                content_type="application/octet-stream",
                timeout=self.timeout,
                retry=self.retry,
                checksum="crc32c",
            )

    def exists(self, key: str) -> bool:
        with self._errors("exists", self.describe(key)):
            return bool(self._blob(key).exists(timeout=self.timeout, retry=self.retry))

    def size(self, key: str) -> int:
        with self._errors("stat", self.describe(key)):
            blob = self.bucket.get_blob(self._name(key), timeout=self.timeout, retry=self.retry)
        if blob is None or blob.size is None:
            raise self._not_found(key)
        return int(blob.size)

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` taken as a path: ``a`` matches ``a`` and ``a/…``, not ``ab``."""
        rel = prefix.strip("/")
        base = self._name(rel) if rel else self.prefix
        keys = []
        with self._errors("list", f"gs://{self.bucket_name}/{base}"):
            for blob in self.client.list_blobs(
                self.bucket_name, prefix=base or None, timeout=self.timeout, retry=self.retry
            ):
                name: str = blob.name
                if name.endswith("/"):  # "folder" placeholder objects made by some tools
                    continue
                if base and name != base and not name.startswith(base + "/"):
                    continue
                keys.append(self._key(name))
        return sorted(keys)

    def delete(self, key: str) -> None:
        with self._errors("delete", self.describe(key)), contextlib.suppress(gexc.NotFound):
            self._blob(key).delete(timeout=self.timeout, retry=self.retry)

    # --- ranged reads ------------------------------------------------------------------
    def _read_range(self, key: str, offset: int, length: int) -> bytes:
        """One ranged GET of ``[offset, offset + length)``, truncated at the object's end."""
        if offset < 0 or length < 0:
            raise StoreError(f"invalid range offset={offset} length={length} for {key!r}")
        if length == 0:
            return b""
        with self._errors("ranged read", self.describe(key)):
            try:
                data: bytes = self._blob(key).download_as_bytes(
                    start=offset,
                    end=offset + length - 1,  # inclusive
                    timeout=self.timeout,
                    retry=self.retry,
                )
            except gexc.NotFound:
                raise self._not_found(key) from None
            except gexc.RequestRangeNotSatisfiable:  # offset at or past the end
                return b""
        return data
