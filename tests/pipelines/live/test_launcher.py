"""The launcher: a detached start of a stand-in ``exec-live``, the configured-command path, the
wait for a healthy new instance and its errors; and the restart job on top of it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psutil
import pytest

from pipelines.defs.live.daemon_api import DaemonApi
from pipelines.defs.live.jobs import restart_live_daemon
from pipelines.defs.live.launcher import LaunchError, Previous, stop_previous
from pipelines.defs.live.resources import LiveDaemonLauncher, LiveDaemonResource
from tests.live_daemon.daemon_process import free_port
from tests.pipelines.live.fake_daemon import FakeDaemon

# A stand-in daemon: answers /api/health on $EXEC_DAEMON_PORT as a new instance (its pid);
# FAKE_MODE=exit fails at once, FAKE_MODE=error answers status "error" forever.
FAKE_DAEMON = textwrap.dedent(
    """
    import json, os, sys, uuid
    from http.server import BaseHTTPRequestHandler, HTTPServer
    if os.environ.get("FAKE_MODE") == "exit":
        print("fake daemon: cannot open the database", flush=True)
        sys.exit(3)
    INSTANCE = uuid.uuid4().hex
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass
        def do_GET(self):
            body = json.dumps({
                "status": os.environ.get("FAKE_MODE") or "ok",
                "instance": {"instance_id": INSTANCE, "pid": os.getpid()},
                "mark": os.environ.get("FAKE_MARK"),
                "cwd": os.getcwd(),
            }).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    print("fake daemon listening", flush=True)
    HTTPServer(("127.0.0.1", int(os.environ["EXEC_DAEMON_PORT"])), Handler).serve_forever()
    """
)


@pytest.fixture
def fake_exec_live(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "exec-live"
    path.parent.mkdir()
    path.write_text(f"#!{sys.executable}\n{FAKE_DAEMON}")
    path.chmod(0o755)
    return path


@pytest.fixture
def spawned() -> Iterator[list[int]]:
    """Pids the test started; killed afterwards."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def embedded(fake_exec_live: Path, workdir: Path, **kw: object) -> LiveDaemonLauncher:
    settings: dict[str, object] = {"wait_secs": 30.0, **kw}
    return LiveDaemonLauncher(executable=str(fake_exec_live), cwd=str(workdir), **settings)


def test_embedded_start_is_detached_logged_and_waited_for(
    fake_exec_live: Path, tmp_path: Path, spawned: list[int]
) -> None:
    port = free_port()
    api = DaemonApi(f"http://127.0.0.1:{port}", "t", health_timeout_secs=2)
    launcher = embedded(fake_exec_live, tmp_path, extra_env={"FAKE_MARK": "passed-through"})
    lines: list[str] = []
    first = launcher.restart(api, Previous(), lines.append)
    assert first.pid is not None
    spawned.append(first.pid)
    runtime = tmp_path / "runtime" / "live"
    assert (runtime / "daemon.pid").read_text().strip() == str(first.pid)
    assert "fake daemon listening" in (runtime / "daemon.log").read_text()
    assert os.getsid(first.pid) == first.pid  # a session of its own: outlives the run
    assert first.health["mark"] == "passed-through"
    assert Path(first.health["cwd"]).resolve() == tmp_path.resolve()
    assert any(line.startswith(f"daemon_spawned pid={first.pid}") for line in lines)

    # a restart stops the previous process (from the pid file) and waits for a new instance
    second = launcher.restart(api, Previous(first.instance_id), lines.append)
    assert second.pid is not None
    spawned.append(second.pid)
    assert second.instance_id != first.instance_id
    assert not psutil.pid_exists(first.pid) or psutil.Process(first.pid).status() == "zombie"
    assert (runtime / "daemon.pid").read_text().strip() == str(second.pid)


def test_a_daemon_that_exits_at_once_fails_with_its_log(
    fake_exec_live: Path, tmp_path: Path, spawned: list[int]
) -> None:
    api = DaemonApi(f"http://127.0.0.1:{free_port()}", "t", health_timeout_secs=2)
    launcher = embedded(fake_exec_live, tmp_path, extra_env={"FAKE_MODE": "exit"})
    with pytest.raises(LaunchError) as exc:
        launcher.restart(api, Previous(), lambda _: None)
    message = str(exc.value)
    assert "exited with code 3" in message
    assert "cannot open the database" in message
    assert api.url("/api/health") in message


def test_a_daemon_that_never_gets_healthy_fails_naming_the_url_and_what_it_saw(
    fake_exec_live: Path, tmp_path: Path, spawned: list[int]
) -> None:
    port = free_port()
    api = DaemonApi(f"http://127.0.0.1:{port}", "t", health_timeout_secs=2)
    launcher = embedded(fake_exec_live, tmp_path, extra_env={"FAKE_MODE": "error"}, wait_secs=3)
    with pytest.raises(LaunchError) as exc:
        launcher.restart(api, Previous(), lambda _: None)
    spawned.append(int((tmp_path / "runtime/live/daemon.pid").read_text()))
    message = str(exc.value)
    assert f"http://127.0.0.1:{port}/api/health did not answer ok or degraded" in message
    assert "within 3s" in message
    assert "last seen: status 'error' from instance" in message


def test_a_pid_file_naming_another_program_is_left_alone(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "60"])
    try:
        pid_file = tmp_path / "daemon.pid"
        pid_file.write_text(f"{other.pid}\n")
        lines: list[str] = []
        stop_previous("/venv/bin/exec-live", pid_file, Previous(), 5, log=lines.append)
        assert other.poll() is None
        assert lines == [f"daemon_previous_left_alone pid={other.pid} reason=not_exec-live"]
    finally:
        other.kill()
        other.wait()


# --- the configured command (production) ------------------------------------------------------


def test_a_command_restart_waits_for_a_new_instance(
    fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    fake_daemon.health = {"status": "degraded", "instance": {"instance_id": "i-new", "pid": 7}}
    api = DaemonApi(fake_daemon.url, "t")
    launcher = LiveDaemonLauncher(command=["true"], cwd=str(tmp_path), wait_secs=5)
    started = launcher.restart(api, Previous("i-old"), lambda _: None)
    assert (started.instance_id, started.status) == ("i-new", "degraded")


def test_a_command_restart_that_keeps_the_old_instance_times_out(
    fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    fake_daemon.health = {"status": "ok", "instance": {"instance_id": "i-old"}}
    launcher = LiveDaemonLauncher(command=["true"], cwd=str(tmp_path), wait_secs=2)
    with pytest.raises(LaunchError, match="the previous instance"):
        launcher.restart(DaemonApi(fake_daemon.url, "t"), Previous("i-old"), lambda _: None)


def test_a_failing_command_names_itself(tmp_path: Path) -> None:
    launcher = LiveDaemonLauncher(command=["sh", "-c", "echo unit not found >&2; exit 5"])
    with pytest.raises(LaunchError) as exc:
        launcher.restart(DaemonApi("http://127.0.0.1:9", "t"), Previous(), lambda _: None)
    assert "exited with 5" in str(exc.value)
    assert "unit not found" in str(exc.value)


# --- the restart job ---------------------------------------------------------------------------


def test_the_restart_job_reports_the_new_instance(fake_daemon: FakeDaemon, tmp_path: Path) -> None:
    fake_daemon.health = {"status": "ok", "instance": {"instance_id": "i-new", "pid": 77}}
    daemon = LiveDaemonResource(api_url=fake_daemon.url, database_url="postgresql://x/y")
    launcher = LiveDaemonLauncher(command=["true"], cwd=str(tmp_path), wait_secs=5)
    result = restart_live_daemon.execute_in_process(
        resources={"live_daemon": daemon, "live_daemon_launcher": launcher},
        run_config={"ops": {"restart_daemon": {"config": {"previous_instance_id": "i-old"}}}},
    )  # fmt: skip
    assert result.success
    assert result.output_for_node("restart_daemon") == "i-new"
    observations = [
        e.asset_observation_data.asset_observation
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    assert [o.asset_key for o in observations] == [dg.AssetKey("live_daemon")]
    assert observations[0].metadata["instance_id"].value == "i-new"
    assert observations[0].metadata["previous_instance_id"].value == "i-old"


def test_a_failed_restart_fails_the_job_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = restart_live_daemon.execute_in_process(
        resources={
            "live_daemon": LiveDaemonResource(api_url=url, database_url="postgresql://x/y"),
            "live_daemon_launcher": LiveDaemonLauncher(command=["true"], wait_secs=1),
        },
        run_config={"ops": {"restart_daemon": {"config": {"previous_instance_id": "i-old"}}}},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data
    assert failure.user_failure_data is not None
    assert f"{url}/api/health did not answer" in str(failure.user_failure_data.description)
