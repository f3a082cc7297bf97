"""docker-compose.yml, .env.example and the Dockerfile, checked by a real Compose
implementation: Debian's docker-compose 1.29.2 parses, validates and interpolates the file
(`docker-compose config`), and the tests read what it prints. No container is built or run
(the machine has no container engine)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"

BACKTEST = {"dagster-postgres", "dagster-webserver", "dagster-daemon", "console"}
LIVE = {
    "oms-postgres",
    "demo-data",
    "paper-venue",
    "deribit-venue",
    "ib-standin",
    "live-daemon",
    "console",
    "prometheus",
    "pushgateway",
    "grafana",
}
EXPECTED = {"backtest": BACKTEST, "live": LIVE, "both": BACKTEST | LIVE}
ONE_SHOT = {"demo-data"}  # exits once its work is done: no health check, no restart


def docker_compose() -> str:
    found = shutil.which("docker-compose") or (
        "/usr/bin/docker-compose" if Path("/usr/bin/docker-compose").exists() else None
    )
    if found is None:
        pytest.fail(
            "docker-compose is not installed: `make test` installs Debian's docker-compose "
            "(with chromium and prometheus); or `apt-get install docker-compose`"
        )
    return found


def compose_config(
    profile: str, compose_file: Path = COMPOSE_FILE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [docker_compose(), "-f", str(compose_file), "--env-file", str(ENV_EXAMPLE),
         "--profile", profile, "config"],
        capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )  # fmt: skip


def resolved(profile: str) -> dict[str, Any]:
    done = compose_config(profile)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def started(config: dict[str, Any], profile: str) -> set[str]:
    """The services `up` starts with this profile: Compose's rule (compose/service.py,
    enabled_for_profiles) on what `config` printed: a service without profiles always, one
    with profiles when the profile is among them. (1.29's `config` prints every service.)"""
    return {
        name
        for name, service in config["services"].items()
        if not service.get("profiles") or profile in service["profiles"]
    }


@pytest.fixture(scope="module")
def configs() -> dict[str, dict[str, Any]]:
    return {profile: resolved(profile) for profile in EXPECTED}


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_each_profile_starts_its_services(configs: dict[str, dict[str, Any]], profile: str) -> None:
    assert started(configs[profile], profile) == EXPECTED[profile]


def test_every_long_running_service_has_a_health_check(configs: dict[str, dict[str, Any]]) -> None:
    services = configs["both"]["services"]
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
            continue
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"
        assert not check.get("disable"), name


def test_health_checks_ask_the_documented_endpoints(configs: dict[str, dict[str, Any]]) -> None:
    services = configs["both"]["services"]

    def test_text(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"])

    assert "/api/status" in test_text("console")
    assert ":8080/" in test_text("console")  # the port from .env.example, interpolated
    assert "/api/health" in test_text("live-daemon")
    assert "pg_isready" in test_text("oms-postgres")
    assert "liveness-check" in test_text("dagster-daemon")


def test_volumes_are_named(configs: dict[str, dict[str, Any]]) -> None:
    config = configs["both"]
    declared = set(config["volumes"])
    assert {"store", "venues", "dagster-postgres", "oms-postgres"} <= declared
    for name, service in config["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith("/"):
                # a bind mount: only files of the repository (config) or the Docker socket
                assert source.startswith(str(REPO)) or source == "/var/run/docker.sock", (
                    name,
                    source,
                )
            else:
                assert source in declared, f"{name}: volume {source!r} is not declared"
    # the DockerRunLauncher mounts the store volume into each run by this exact name
    assert config["volumes"]["store"]["name"] == "exec-services-store"
    dagster_yaml = yaml.safe_load((REPO / "deploy/dagster/dagster.yaml").read_text())
    run_volumes = dagster_yaml["run_launcher"]["config"]["container_kwargs"]["volumes"]
    assert run_volumes["exec-services-store"]["bind"] == "/app/runtime/store"


def test_services_run_the_projects_commands(configs: dict[str, dict[str, Any]]) -> None:
    services = configs["both"]["services"]
    assert services["dagster-webserver"]["command"][:1] == ["dagster-webserver"]
    assert "/app/workspace.yaml" in services["dagster-webserver"]["command"]
    assert services["dagster-daemon"]["command"][:2] == ["dagster-daemon", "run"]
    assert services["console"]["command"] == ["exec-console"]
    assert services["live-daemon"]["command"] == ["exec-live"]
    assert services["paper-venue"]["command"][:2] == ["exec-venue", "paper"]
    assert services["deribit-venue"]["command"][:3] == ["exec-venue", "deribit", "run"]
    assert services["ib-standin"]["command"][:3] == ["exec-venue", "ib", "run"]
    console = services["console"]["environment"]
    assert console["EXEC_CONSOLE_HOST"] == "0.0.0.0"
    assert console["EXEC_CONSOLE_UI_DIR"] == "/app/ui/dist"


def test_venue_commands_are_accepted_by_exec_venue(configs: dict[str, dict[str, Any]]) -> None:
    """The venues' options exist: each command, with `--help` added, parses (typer exits 2
    on an unknown option)."""
    from typer.testing import CliRunner

    from live_daemon.venues.cli import app

    services = configs["both"]["services"]
    for name in ("paper-venue", "deribit-venue", "ib-standin"):
        args = services[name]["command"][1:]
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_the_daemons_environment_is_its_settings(
    configs: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every EXEC_DAEMON_* variable the compose file gives the daemon names a real setting,
    and together they validate: venues as services of their own, autostart off."""
    from live_daemon.settings import DaemonSettings

    env = configs["both"]["services"]["live-daemon"]["environment"]
    for key in env:
        if key.startswith("EXEC_DAEMON_"):
            path = key.removeprefix("EXEC_DAEMON_").lower().split("__")
            model: Any = DaemonSettings
            for part in path:
                assert part in model.model_fields, f"{key}: no setting {part!r}"
                model = model.model_fields[part].annotation
    for key in list(os.environ):
        if key.startswith("EXEC_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    settings = DaemonSettings()
    assert settings.host == "0.0.0.0"
    assert settings.database_url and "@oms-postgres:5432/" in settings.database_url
    assert (settings.venue_host, settings.venue_port, settings.venue_autostart) == (
        "paper-venue",
        8101,
        False,
    )
    assert settings.deribit.instruments == ["DERIBIT:PERPETUAL:BTC-USD@INV"]
    assert settings.deribit.url == "ws://deribit-venue:8102/ws/api/v2"
    assert not settings.deribit.autostart
    ib = settings.interactive_brokers
    assert (ib.host, ib.port, ib.standin_autostart) == ("ib-standin", 7497, False)
    assert [i.key for i in ib.instruments] == ["IB:SPOT_PAIR:AAPL-USD"]


def test_the_consoles_environment_is_its_settings(
    configs: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from operator_console.settings import ConsoleSettings

    env = configs["both"]["services"]["console"]["environment"]
    for key in env:
        if key.startswith("EXEC_CONSOLE_"):
            name = key.removeprefix("EXEC_CONSOLE_").lower()
            assert name in ConsoleSettings.model_fields, f"{key}: no console setting {name!r}"
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    settings = ConsoleSettings()
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.daemon_url == "http://live-daemon:8001"
    assert settings.dagster_url == "http://dagster-webserver:3000"
    assert str(settings.ui_dir) == "/app/ui/dist"


def test_monitoring_mounts_the_deploy_files(configs: dict[str, dict[str, Any]]) -> None:
    services = configs["both"]["services"]
    prometheus = " ".join(services["prometheus"]["volumes"])
    assert f"{REPO}/deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml" in prometheus
    assert f"{REPO}/deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml" in prometheus
    grafana = " ".join(services["grafana"]["volumes"])
    assert f"{REPO}/deploy/grafana/provisioning:/etc/grafana/provisioning" in grafana
    assert f"{REPO}/deploy/grafana/dashboards:/var/lib/grafana/dashboards" in grafana


def test_every_variable_has_a_line_in_env_example() -> None:
    text = "\n".join(
        line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    # ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}; `$${VAR}` is escaped (the
    # container's shell expands it), not Compose's
    used = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    documented = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
    assert used, "no variables found: the pattern is wrong"
    assert used - documented == set()


def test_the_image_does_not_run_as_root() -> None:
    """The final stage (the last FROM) switches to a named non-root user."""
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    stages = [i for i, line in enumerate(instructions) if line.upper().startswith("FROM ")]
    assert len(stages) >= 3, "multi-stage: ui, venv, final"
    final = instructions[stages[-1] :]
    assert final[0].split()[1] == "python:3.11-slim-bookworm"
    users = [line.split()[1] for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage sets no USER: it would run as root"
    assert users[-1] not in {"root", "0", "0:0"}
    assert any("--uid 10001" in line for line in final)
    # the venv comes from the build stage; no compiler is installed in the final one
    assert any(line.startswith("COPY --from=venv /opt/venv") for line in final)
    assert not any("build-essential" in line or "gcc" in line for line in final)
    assert any(line.startswith("COPY") and "ui/dist" in line for line in final)


def test_a_broken_compose_file_is_rejected(tmp_path: Path) -> None:
    """The check can fail: Compose rejects a file with an unknown service key."""
    broken = yaml.safe_load(COMPOSE_FILE.read_text())
    broken["services"]["console"]["healthchek"] = {"test": ["CMD", "true"]}  # a typo
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    done = compose_config("both", path)
    assert done.returncode != 0
    assert "healthchek" in done.stderr
