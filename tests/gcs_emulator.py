"""A local Google Cloud Storage emulator for tests (``gcp-storage-emulator``).

It runs as a subprocess, never in-process (in the same process it deadlocked with pyarrow),
on 127.0.0.1 with a free port and in-memory storage, so nothing reaches the internet and
nothing is left on disk. Clients find it through ``STORAGE_EMULATOR_HOST``, which the
official client wants *with* the scheme: ``http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

STARTUP_TIMEOUT_S = 20.0
_LOCAL = "127.0.0.1"
# Never route 127.0.0.1 through a proxy, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def emulator_executable() -> Path:
    """``gcp-storage-emulator`` from the running interpreter's environment (the venv)."""
    path = Path(sys.executable).parent / "gcp-storage-emulator"
    if not path.exists():
        raise RuntimeError(f"gcp-storage-emulator not found next to {sys.executable}: {path}")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_LOCAL, 0))
        return int(sock.getsockname()[1])


def _answers(host: str) -> bool:
    """True when the emulator's health check (``GET /``) answers."""
    try:
        with _OPENER.open(f"http://{host}/", timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _output(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")


@contextlib.contextmanager
def start_gcs_emulator(startup_timeout: float = STARTUP_TIMEOUT_S) -> Iterator[str]:
    """Start the emulator; yield ``"127.0.0.1:PORT"``; terminate it on exit.

    Raises RuntimeError with the emulator's output if it does not answer within
    ``startup_timeout`` seconds or exits early. If the free port it picked is taken in the
    meantime (the emulator then logs "Address already in use" but keeps running), it tries
    another port, up to three times.
    """
    env = {k: v for k, v in os.environ.items() if k != "STORAGE_EMULATOR_HOST"}
    deadline = time.monotonic() + startup_timeout
    for attempt in range(3):
        host = f"{_LOCAL}:{_free_port()}"
        port = host.rsplit(":", 1)[1]
        cmd = [str(emulator_executable()), "start", "--host", _LOCAL, "--port", port]
        cmd.append("--in-memory")
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
            try:
                while not _answers(host):
                    port_taken = "Address already in use" in _output(log)
                    if port_taken and attempt < 2:
                        break
                    if port_taken or proc.poll() is not None or time.monotonic() > deadline:
                        state = (
                            "could not bind its port"
                            if port_taken
                            else f"exited with code {proc.returncode}"
                            if proc.poll() is not None
                            else f"did not answer within {startup_timeout:.0f} s"
                        )
                        raise RuntimeError(
                            f"GCS emulator on {host} {state}: {' '.join(cmd)}\n"
                            + _output(log)[-4000:]
                        )
                    time.sleep(0.1)
                else:
                    yield host
                    return
            finally:
                _stop(proc)
