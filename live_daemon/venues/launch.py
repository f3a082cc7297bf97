"""Starting the paper venue from the daemon (``venue_autostart``): ``exec-venue paper
--config-json …``, detached.

Detached, because a venue outlives its client: in a session of its own
(``start_new_session``: a Ctrl-C or a SIGKILL of the daemon's process group does not reach
it), with no pipe to the daemon (output appended to ``<state_dir>/venue.log``), stdin from
``/dev/null``. The daemon keeps the ``Popen`` only to notice an early exit and reap it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from live_daemon.venues.host_config import VenueHostConfig
from live_daemon.venues.state_dir import VenueDir

log = logging.getLogger(__name__)


def exec_venue_program() -> list[str]:
    """``exec-venue``: the script beside this interpreter, else the same CLI through
    ``python -m``."""
    script = Path(sys.executable).with_name("exec-venue")
    return [str(script)] if script.exists() else [sys.executable, "-m", "live_daemon.venues.cli"]


def venue_command(config: VenueHostConfig) -> list[str]:
    """``exec-venue paper --config-json …``, with the directory made absolute."""
    absolute = config.model_copy(update={"state_dir": config.state_dir.resolve()})
    return [*exec_venue_program(), "paper", "--config-json", absolute.model_dump_json()]


def launch_detached(command: list[str], state_dir: Path) -> subprocess.Popen[bytes]:
    """Run a venue's ``command`` detached (module docstring), its output appended to
    ``<state_dir>/venue.log``."""
    venue_dir = VenueDir(state_dir.resolve())
    venue_dir.path.mkdir(parents=True, exist_ok=True)
    with open(venue_dir.log, "ab") as output:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=os.environ.copy(),
        )


def launch(config: VenueHostConfig) -> subprocess.Popen[bytes]:
    process = launch_detached(venue_command(config), config.state_dir)
    log.info(
        "venue_launched pid=%d endpoint=%s dir=%s log=%s",
        process.pid,
        config.endpoint,
        config.state_dir.resolve(),
        VenueDir(config.state_dir.resolve()).log,
    )
    return process


def log_tail(path: Path, lines: int = 5) -> str:
    """The last ``lines`` lines of a log, for an error message ('' if there is none)."""
    try:
        with open(path, errors="replace") as text:
            return "".join(deque(text, maxlen=lines)).strip()
    except FileNotFoundError:
        return ""


def wait_until_running(
    process: subprocess.Popen[bytes], venue_dir: VenueDir, timeout: float
) -> str | None:
    """Wait until the launched ``process`` has written its pid file in ``venue_dir`` (it
    listens then): ``None``, or what went wrong, with the log's tail (``exec-venue … start``)."""
    deadline = time.monotonic() + timeout
    while venue_dir.running_pid() != process.pid:
        if process.poll() is not None or time.monotonic() > deadline:
            why = (
                f"exited with {process.returncode}"
                if process.returncode is not None
                else f"did not listen within {timeout:g}s"
            )
            return (
                f"waited for pid {process.pid} to write {venue_dir.pid_file}; it {why}. "
                f"Log tail:\n{log_tail(venue_dir.log)}"
            )
        time.sleep(0.05)
    return None
