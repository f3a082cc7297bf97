"""Run the real daemon (``exec-live``) as a subprocess for end-to-end tests."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

TOKEN = "test-token-1234"
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def publish_ticks(root: Path) -> Path:
    """A small demo day for the paper venues' replay."""
    from execution_core.demo.config import DemoConfig
    from execution_core.demo.publish import publish_demo_day
    from execution_core.instruments.reference import load_reference
    from execution_core.stores import LocalObjectStore

    config = DemoConfig(date=dt.date(2025, 1, 15), ticks_scale=0.05)
    publish_demo_day(
        config,
        LocalObjectStore(root / "ticks"),
        LocalObjectStore(root / "signals"),
        load_reference(),
    )
    return root / "ticks"


class Daemon:
    def __init__(self, database_url: str, ticks: Path, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | {
            "DATABASE_URL": database_url,
            "EXEC_DAEMON_PORT": str(self.port),
            "EXEC_DAEMON_TOKEN": TOKEN,
            "EXEC_TICKS_STORE_URL": ticks.as_uri(),
            "EXEC_DAEMON_REPLAY_SPEED": "10",
            "EXEC_DAEMON_LOG_LEVEL": "WARNING",
            **env,
        }
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> Daemon:
        self.process = subprocess.Popen(
            [str(VENV_BIN / "exec-live")], env=self.env, cwd=self.workdir
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("daemon did not become healthy")

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=60)
        return self.process.returncode
