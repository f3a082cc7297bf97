"""A venue's directory: what lives in it, and which venue process (if any) owns it.

``<state_dir>/``

- ``record.sqlite`` (+ ``-wal``, ``-shm``): the venue's record (:mod:`~live_daemon.venues.journal`);
- ``venue.key``: the shared key of the handshake (:mod:`~live_daemon.venues.auth`);
- ``venue.lock``: held (``flock``) by the running venue for its whole life, so that two
  venues never share a record; the kernel releases it when the process dies, however it
  dies, so a crash never leaves the directory locked;
- ``venue.pid``: the running venue's pid, host and port (JSON), for ``exec-venue stop``
  and for the daemon to know whether its venue still runs; stale after a crash, which is
  why it is only believed while the lock is held;
- ``venue.log``: the venue's output when the daemon started it.

Imported by the daemon (no NautilusTrader here).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil


@dataclass(frozen=True)
class VenueDir:
    path: Path

    @property
    def record(self) -> Path:
        return self.path / "record.sqlite"

    @property
    def key(self) -> Path:
        return self.path / "venue.key"

    @property
    def lock(self) -> Path:
        return self.path / "venue.lock"

    @property
    def pid_file(self) -> Path:
        return self.path / "venue.pid"

    @property
    def log(self) -> Path:
        return self.path / "venue.log"

    def acquire(self) -> int | None:
        """Take the directory's lock for this process: the lock's file descriptor (keep it
        open for as long as the venue runs), or ``None`` if another process holds it."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def is_locked(self) -> bool:
        """Whether a venue process holds the directory (without taking it: a shared lock
        is refused while the venue's exclusive one is held, and released at once)."""
        try:
            fd = os.open(self.lock, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # also drops the shared lock, if it was granted
        return False

    def write_pid(self, host: str, port: int) -> None:
        body = json.dumps({"pid": os.getpid(), "host": host, "port": port})
        temporary = self.pid_file.with_suffix(".pid.tmp")
        temporary.write_text(body)
        temporary.replace(self.pid_file)

    def read_pid(self) -> dict[str, Any] | None:
        """What the pid file says (``pid``, ``host``, ``port``), or ``None`` if there is
        none (it may be stale: see :meth:`running_pid`)."""
        try:
            info = json.loads(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else None

    def running_pid(self) -> int | None:
        """The pid of the venue running on this directory, or ``None``: the pid file is
        believed only while the directory is locked and that process is alive."""
        info = self.read_pid()
        if info is None or not self.is_locked():
            return None
        pid = int(info["pid"])
        with contextlib.suppress(psutil.Error):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return pid
        return None

    def remove_pid(self) -> None:
        """Remove the pid file if it is this process's."""
        info = self.read_pid()
        if info is not None and info["pid"] == os.getpid():
            self.pid_file.unlink(missing_ok=True)
