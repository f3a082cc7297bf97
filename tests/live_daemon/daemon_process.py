"""Run the real daemon (``exec-live``) as a subprocess for end-to-end tests, and the paper
venue it starts (``exec-venue paper``, which outlives it: :func:`stop_venue`)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

TOKEN = "test-token-1234"
# How long a test waits for a daemon (and the venue it starts) to be healthy: generous, a
# busy 2-core machine needs minutes to start the venue's trading node.
START_TIMEOUT_SECS = float(os.environ.get("EXEC_TEST_DAEMON_START_TIMEOUT_SECS", "300"))
VENV_BIN = Path(sys.executable).parent
EXEC_VENUE = VENV_BIN / "exec-venue"


def query(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """``sql`` on the OMS database at ``url``, on a connection of its own."""

    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetch(sql, *args)
        finally:
            await connection.close()

    return asyncio.run(run())


# Below Linux's ephemeral range (32768-60999): a port the OS hands out for outgoing
# connections (the daemon's to PostgreSQL and its venues, while it starts and before it
# binds its own port) can never be one of these. Found in CI: a daemon with the IB
# stand-in could not bind its port, taken by one of its own outgoing connections.
LISTEN_PORTS = range(20000, 32000)


def free_port() -> int:
    """A port nothing listens on now, outside the ephemeral range (see LISTEN_PORTS)."""
    for port in random.sample(LISTEN_PORTS, 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {LISTEN_PORTS} after 200 tries")


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


def stop_venue(state_dir: Path, timeout: float = 60.0) -> None:
    """Stop the venue running on ``state_dir`` (``exec-venue stop``: SIGTERM, then wait;
    nothing if none runs) and check that none is left."""
    from live_daemon.venues.state_dir import VenueDir

    result = subprocess.run(
        [str(EXEC_VENUE), "stop", "--dir", str(state_dir), "--timeout", str(timeout)],
        capture_output=True,
        text=True,
        timeout=timeout + 30,
    )
    assert result.returncode == 0, f"exec-venue stop --dir {state_dir}: {result.stderr}"
    assert VenueDir(state_dir).running_pid() is None, f"a venue still runs on {state_dir}"


class Daemon:
    """``exec-live`` in ``workdir``, with a paper venue of its own: a free port (or
    ``venue_port``: a restarted daemon finds the venue its predecessor left running) and
    its record in ``workdir/venue`` (``EXEC_DAEMON_VENUE_PORT``/``_DIR`` in ``env`` win).
    The daemon starts the venue; the venue outlives it: :meth:`stop_venue` in teardown."""

    def __init__(
        self,
        database_url: str,
        ticks: Path,
        workdir: Path,
        *,
        venue_port: int | None = None,
        **env: str,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.venue_port = int(env.get("EXEC_DAEMON_VENUE_PORT") or venue_port or free_port())
        self.venue_dir = Path(env.get("EXEC_DAEMON_VENUE_DIR") or workdir / "venue").absolute()
        self.env = os.environ | {
            "DATABASE_URL": database_url,
            "EXEC_DAEMON_PORT": str(self.port),
            "EXEC_DAEMON_TOKEN": TOKEN,
            "EXEC_TICKS_STORE_URL": ticks.as_uri(),
            "EXEC_DAEMON_REPLAY_SPEED": "10",
            "EXEC_DAEMON_LOG_LEVEL": "WARNING",
            "EXEC_DAEMON_VENUE_PORT": str(self.venue_port),
            "EXEC_DAEMON_VENUE_DIR": str(self.venue_dir),
            **env,
        }
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    log_path: Path | None = None
    """Where the daemon's output goes (a subclass that checks what it logs sets it);
    ``None``: inherited, as the test's own output."""

    def start(self, timeout: float = START_TIMEOUT_SECS) -> Daemon:
        """Start ``exec-live`` and wait until ``/api/health`` answers 200 (its venue is up
        too: the daemon waits for it, and a busy 2-core machine needs minutes for that)."""
        with contextlib.ExitStack() as stack:
            output = None
            if self.log_path is not None:
                output = stack.enter_context(open(self.log_path, "ab"))
            self.process = subprocess.Popen(
                [str(VENV_BIN / "exec-live")], env=self.env, cwd=self.workdir,
                stdout=output, stderr=None if output is None else subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.time() + timeout
        last: object = None
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"exec-live exited with {self.process.returncode} before {self.url} was "
                    f"healthy ({self._where_to_look()})"
                )
            try:
                response = httpx.get(self.url + "/api/health", timeout=1)
                if response.status_code == 200:
                    return self
                last = response.text
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.2)
        raise RuntimeError(
            f"exec-live at {self.url} not healthy after {timeout:g}s (last: {last!r}; "
            f"{self._where_to_look()})"
        )

    def _where_to_look(self) -> str:
        if self.log_path is None:
            return f"its venue's log: {self.venue_dir / 'venue.log'}"
        return f"its log:\n{self.log()[-4000:]}"

    def log(self) -> str:
        """The daemon's output so far ('' unless :attr:`log_path` is set)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

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

    def venue_pid(self) -> int | None:
        """The pid of the venue running on this daemon's venue directory, if one runs."""
        from live_daemon.venues.state_dir import VenueDir

        return VenueDir(self.venue_dir).running_pid()

    def kill_venue(self) -> int:
        """SIGKILL the venue; returns its pid once it is gone."""
        import psutil

        pid = self.venue_pid()
        assert pid is not None, f"no venue runs on {self.venue_dir}"
        process = psutil.Process(pid)
        process.kill()
        process.wait(timeout=30)
        return pid

    def stop_venue(self) -> None:
        """Stop the venue (it outlives the daemon) and check that none is left."""
        stop_venue(self.venue_dir)
