"""Starting the daemon for the restart job, and waiting until it is healthy.

Embedded: stop what is left of the previous daemon (the process in the pid file, or the
stale heartbeat's pid on this host — only if it is the daemon's executable: a pid reused by
another program is left alone), then start the executable detached (its own session, so it
outlives the Dagster run), its output appended to ``daemon.log`` and its pid written to
``daemon.pid``. Production: run the configured command (systemd, Kubernetes) and check its
exit code. Either way, :func:`wait_healthy` then polls ``/api/health`` until it answers
``ok`` or ``degraded`` from an instance other than the previous one; its error names the
URL and the last thing it saw.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil

from execution_core.errors import ExecutionServicesError
from pipelines.defs.live.daemon_api import HEALTH_PATH, DaemonApi, DaemonUnreachable

HEALTHY = ("ok", "degraded")
Log = Callable[[str], None]


class LaunchError(ExecutionServicesError):
    """The daemon could not be (re)started, or did not become healthy in time."""


@dataclass(frozen=True)
class Previous:
    """The daemon being replaced, as far as it is known."""

    instance_id: str | None = None
    pid: int | None = None
    host: str | None = None


@dataclass(frozen=True)
class Started:
    instance_id: str
    pid: int | None
    status: str
    waited_s: float
    health: dict[str, Any] = field(repr=False)


def daemon_environment(
    base: Mapping[str, str], extra: Mapping[str, str], api_url: str
) -> dict[str, str]:
    """The environment passed through, the API URL's port as ``EXEC_DAEMON_PORT`` unless
    set already (the daemon must listen where the supervisor looks), then ``extra``."""
    env = dict(base)
    port = urlsplit(api_url).port
    if port is not None and "EXEC_DAEMON_PORT" not in env:
        env["EXEC_DAEMON_PORT"] = str(port)
    env.update(extra)
    return env


def _is_daemon(process: psutil.Process, executable: str) -> bool:
    try:
        command = " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return Path(executable).name in command


def stop_previous(
    executable: str, pid_file: Path, previous: Previous, timeout: float, *, log: Log
) -> None:
    """Stop the previous embedded daemon if it still runs (SIGTERM, then SIGKILL)."""
    pids = set()
    if pid_file.exists():
        text = pid_file.read_text().strip()
        if text.isdigit():
            pids.add(int(text))
    if previous.pid and previous.host == socket.gethostname():
        pids.add(previous.pid)
    for pid in sorted(pids):
        try:
            process = psutil.Process(pid)
        except psutil.NoSuchProcess:
            continue
        if not _is_daemon(process, executable):
            log(f"daemon_previous_left_alone pid={pid} reason=not_{Path(executable).name}")
            continue
        log(f"daemon_previous_stopping pid={pid} signal=SIGTERM timeout_s={timeout:g}")
        try:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout)
        except psutil.TimeoutExpired:
            log(f"daemon_previous_killing pid={pid} signal=SIGKILL")
            process.kill()
            process.wait(timeout)
        except psutil.NoSuchProcess:
            pass


def spawn_detached(
    argv: list[str], cwd: Path, env: Mapping[str, str], runtime_dir: Path, *, log: Log
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a session of its own; output to ``daemon.log``, pid to ``daemon.pid``."""
    runtime_dir.mkdir(parents=True, exist_ok=True)
    log_path = runtime_dir / "daemon.log"
    with log_path.open("ab") as out:
        out.write(f"--- {dt.datetime.now(dt.UTC).isoformat()} starting {argv}\n".encode())
        out.flush()
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise LaunchError(f"cannot start the daemon {argv[0]!r} in {cwd}: {exc}") from exc
    pid_file = runtime_dir / "daemon.pid"
    tmp = pid_file.with_suffix(".pid.tmp")
    tmp.write_text(f"{process.pid}\n")
    os.replace(tmp, pid_file)
    log(f"daemon_spawned pid={process.pid} cwd={cwd} log={log_path} pid_file={pid_file}")
    return process


def run_command(
    command: list[str], cwd: Path, env: Mapping[str, str], timeout: float, *, log: Log
) -> None:
    """Run the configured restart command; a LaunchError names it and its output."""
    log(f"daemon_restart_command command={command!r} cwd={cwd}")
    try:
        done = subprocess.run(
            command, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout
        )
    except OSError as exc:
        raise LaunchError(f"cannot run the restart command {command!r}: {exc}") from exc
    except subprocess.TimeoutExpired:
        raise LaunchError(
            f"the restart command {command!r} did not finish within {timeout:g}s"
        ) from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout or "").strip()[-500:]
        raise LaunchError(
            f"the restart command {command!r} exited with {done.returncode}: {output!r}"
        )


def _tail(path: Path | None, lines: int = 10) -> str:
    if path is None or not path.exists():
        return ""
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 4096))
        text = f.read().decode(errors="replace")
    return " | ".join(text.strip().splitlines()[-lines:])


def wait_healthy(
    api: DaemonApi,
    previous: Previous,
    wait_secs: float,
    *,
    log: Log,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
    poll_secs: float = 1.0,
) -> Started:
    """Poll ``/api/health`` until a new instance answers ``ok``/``degraded`` (module doc)."""
    url = api.url(HEALTH_PATH)
    started = time.monotonic()
    deadline = started + wait_secs
    last = "no answer yet"
    where = f"; daemon log: {log_path}" if log_path else ""
    while True:
        if process is not None and process.poll() is not None:
            raise LaunchError(
                f"the daemon (pid {process.pid}) exited with code {process.returncode} before "
                f"{url} answered healthy; last log lines: {_tail(log_path)!r}{where}"
            )
        try:
            health = api.health()
        except DaemonUnreachable as exc:
            last = str(exc)
        else:
            status = health.get("status")
            instance = health.get("instance") or {}
            instance_id, pid = instance.get("instance_id"), instance.get("pid")
            new = bool(instance_id) and instance_id != previous.instance_id
            ours = process is None or pid in (None, process.pid)
            if status in HEALTHY and new and ours:
                waited = time.monotonic() - started
                log(
                    f"daemon_healthy instance_id={instance_id} pid={pid} status={status} "
                    f"waited_s={waited:.1f}"
                )
                return Started(str(instance_id), pid, str(status), waited, health)
            last = f"status {status!r} from instance {instance_id!r} (pid {pid})"
            if not new:
                last += ", the previous instance"
            elif not ours:
                last += f", not the process started (pid {process.pid if process else None})"
        now = time.monotonic()
        if now >= deadline:
            raise LaunchError(
                f"{url} did not answer ok or degraded from a new daemon instance within "
                f"{wait_secs:g}s; last seen: {last}{where}"
            )
        time.sleep(min(poll_secs, deadline - now))
