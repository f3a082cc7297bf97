"""The stand-in's durable record: a JSON-lines journal, ``<state_dir>/journal.jsonl``.

Every change of an order (its whole state, the last line of an order wins) and every
execution is appended, flushed and fsynced *before* the server tells any client of it, so a
stand-in killed at any point and started again on the same directory still knows every order
id, permId, execution and commission it ever reported, and keeps working the orders that
were open (as IB does: orders live at IB, not in TWS). A line torn by a crash mid-write is
the last one; it is skipped with a warning (nothing was reported from it).

Decimals are written as their exact text, times as ISO 8601.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

JOURNAL = "journal.jsonl"
LOCK = "standin.lock"


class StateDirBusy(RuntimeError):
    """Another stand-in holds the state directory."""


class Journal:
    """Append-only JSON lines in ``state_dir`` (held with a lock for the journal's life)."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / JOURNAL
        self._lock = open(state_dir / LOCK, "a+")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise StateDirBusy(f"state dir {state_dir} is used by another stand-in") from None
        _cut_torn_tail(self.path)
        self._file: TextIO = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def read(self) -> list[dict[str, Any]]:
        """Every complete record, oldest first."""
        records: list[dict[str, Any]] = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                records.append(json.loads(line))
        return records

    def append(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()
        self._lock.close()


def _cut_torn_tail(path: Path) -> None:
    """Drop a last line a crash left without its newline (it was never reported)."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        log.warning("journal torn_tail_bytes=%d path=%s dropped", len(data) - keep, path)
        with open(path, "r+b") as f:
            f.truncate(keep)
