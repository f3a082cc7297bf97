"""Run ``exec-console`` as a real process (uvicorn) for the tests that need one: the
console's own smoke test and the browser tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

VENV_BIN = Path(sys.executable).parent
START_TIMEOUT_SECS = 60.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Console:
    """``exec-console`` on a free port, configured by its ``EXEC_CONSOLE_*`` variables;
    its output goes to ``log_path``."""

    def __init__(
        self,
        *,
        daemon_url: str,
        results_store_url: str,
        ui_dir: Path,
        log_path: Path,
        dagster_url: str = "http://127.0.0.1:9",  # nobody listens on the discard port
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = os.environ | {
            "EXEC_CONSOLE_HOST": "127.0.0.1",
            "EXEC_CONSOLE_PORT": str(self.port),
            "EXEC_CONSOLE_DAEMON_URL": daemon_url,
            "EXEC_CONSOLE_DAGSTER_URL": dagster_url,
            "EXEC_CONSOLE_RESULTS_STORE_URL": results_store_url,
            "EXEC_CONSOLE_UI_DIR": str(ui_dir),
            "EXEC_CONSOLE_PROBE_TIMEOUT_S": "1.0",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = START_TIMEOUT_SECS) -> Console:
        """Start it and wait until ``/api/status`` answers 200."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "exec-console")], env=self.env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"exec-console exited with {self.process.returncode} before {self.url} "
                    f"answered; its log:\n{self.log()}"
                )
            try:
                answer = httpx.get(f"{self.url}/api/status", timeout=5, trust_env=False)
                if answer.status_code == 200:
                    return self
                last = answer.text
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.2)
        raise RuntimeError(
            f"exec-console at {self.url}/api/status gave no 200 in {timeout:g}s "
            f"(last: {last!r}); its log:\n{self.log()}"
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
