"""Error types. Every message says *what* was wrong and *where* (file, key, row)."""

from __future__ import annotations


class ExecutionServicesError(Exception):
    """Base class of the project's own errors."""


class ConfigError(ExecutionServicesError):
    """A configuration file or setting is invalid."""


class InvalidInstrumentIdError(ExecutionServicesError, ValueError):
    """A canonical instrument ID does not parse, or cannot be converted."""


class UnknownInstrumentError(ExecutionServicesError, KeyError):
    """An instrument is not in the instrument reference."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DataError(ExecutionServicesError):
    """Input data is malformed: a corrupt file, a bad row, an unsorted series."""


class StoreError(ExecutionServicesError):
    """An object store operation failed."""


class ObjectNotFoundError(StoreError, FileNotFoundError):
    """The object does not exist in the store."""
