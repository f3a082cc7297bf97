"""The object-store interface shared by every backend.

Keys are '/'-separated paths relative to the store's root URL. Writes are atomic per
object: a reader sees the old object or the new one, never a partial one. Reads can be
ranged (``read_range``) so that parquet row groups that were pruned are never fetched.
"""

from __future__ import annotations

import io
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class ReadStats:
    """Bytes and requests fetched from a store, shared by everything reading through it."""

    bytes_read: int = 0
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, n_bytes: int) -> None:
        with self._lock:
            self.bytes_read += n_bytes
            self.requests += 1


class ObjectStore(ABC):
    """An object store rooted at ``url`` (``file://…`` or ``gs://bucket/prefix``)."""

    url: str

    def __init__(self) -> None:
        self.read_stats = ReadStats()

    # --- whole objects -------------------------------------------------------------
    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The whole object. Raises ObjectNotFoundError naming the key and store."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Write atomically: the object appears complete or not at all."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes. Raises ObjectNotFoundError."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """All keys under ``prefix`` (recursively), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete one object; a missing object is not an error."""

    # --- ranged reads ----------------------------------------------------------------
    @abstractmethod
    def _read_range(self, key: str, offset: int, length: int) -> bytes: ...

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes from ``offset``; counted in ``read_stats``."""
        data = self._read_range(key, offset, length)
        self.read_stats.add(len(data))
        return data

    def open_input(self, key: str) -> RangeFile:
        """A seekable, read-only file object over the object, for pyarrow readers."""
        return RangeFile(self, key, self.size(key))

    # --- helpers ---------------------------------------------------------------------
    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    def describe(self, key: str) -> str:
        """Human-readable location of a key, for error messages."""
        return f"{self.url.rstrip('/')}/{key}"


class RangeReader(Protocol):
    def read_range(self, key: str, offset: int, length: int) -> bytes: ...


class CountingReader:
    """Ranged reads through ``store``, counted here too (for one caller's own I/O figures,
    exact even while other threads read through the same store)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.bytes_read = 0

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        data = self.store.read_range(key, offset, length)
        self.bytes_read += len(data)
        return data


class RangeFile(io.RawIOBase):
    """A read-only file whose reads become ranged store reads (and are counted)."""

    def __init__(self, store: RangeReader, key: str, size: int) -> None:
        super().__init__()
        self._store, self._key, self._size, self._pos = store, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def size(self) -> int:
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        size = min(size, self._size - self._pos)
        if size <= 0:
            return b""
        data = self._store.read_range(self._key, self._pos, size)
        self._pos += len(data)
        return data

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
