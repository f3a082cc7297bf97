"""deploy/dagster/dagster.yaml, the production Dagster instance, loaded the way
``DagsterInstance.get()`` loads it: the instance schema (``dagster_instance_config``), the
``InstanceRef`` built from it, then each part's class imported and its config processed by
the class's own schema, which resolves the ``env:`` values (the tests set them). The run
coordinator and the run launcher are constructed; the PostgreSQL storage is not (it would
connect). Nothing here needs PostgreSQL or Docker."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster._check import CheckError
from dagster._config import process_config, resolve_to_config_type
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._serdes.config_class import ConfigurableClassData, class_from_code_pointer

REPO = Path(__file__).resolve().parents[2]
DAGSTER_YAML = REPO / "deploy" / "dagster" / "dagster.yaml"

ENV = {
    "DAGSTER_POSTGRES_HOST": "dagster-postgres",
    "DAGSTER_POSTGRES_PORT": "5432",
    "DAGSTER_POSTGRES_USER": "dagster",
    "DAGSTER_POSTGRES_PASSWORD": "secret",
    "DAGSTER_POSTGRES_DB": "dagster",
    "DAGSTER_MAX_CONCURRENT_RUNS": "3",
    "EXEC_IMAGE": "execution-services:latest",
    "EXEC_DOCKER_NETWORK": "exec-services",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    return ENV


def load(directory: Path) -> dict[str, Any]:
    """The instance schema (what ``DagsterInstance.get()`` validates first)."""
    config, custom_class = dagster_instance_config(str(directory), "dagster.yaml")
    assert custom_class is None
    return dict(config)


def ref(directory: Path) -> InstanceRef:
    """What the instance is built from: a ConfigurableClassData per part (module names as
    the instance resolves them), nothing connected yet."""
    return InstanceRef.from_dir(str(directory))


def resolved(data: ConfigurableClassData) -> tuple[type, dict[str, Any]]:
    """Import the part's class and process its config with the class's own schema, `env:`
    values resolved: what ``rehydrate`` does before constructing it."""
    cls = class_from_code_pointer(data.module_name, data.class_name)
    result = process_config(resolve_to_config_type(cls.config_type()), data.config_dict)
    if not result.success:
        raise DagsterInvalidConfigError(cls.__name__, result.errors, data.config_dict)
    return cls, dict(result.value)


def copy_with(tmp_path: Path, edit: Any) -> Path:
    data = yaml.safe_load(DAGSTER_YAML.read_text())
    edit(data)
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(data))
    return tmp_path


def test_storage_is_postgres_from_the_environment(env: dict[str, str]) -> None:
    config = load(DAGSTER_YAML.parent)
    assert set(config["storage"]) == {"postgres"}
    # one storage for all three: runs, event logs, schedules
    assert not {"run_storage", "event_log_storage", "schedule_storage"} & set(config)
    from dagster_postgres import DagsterPostgresStorage

    cls, value = resolved(ref(DAGSTER_YAML.parent).storage_data)
    assert cls is DagsterPostgresStorage
    db = value["postgres_db"]
    assert (db["hostname"], db["port"], db["username"], db["password"], db["db_name"]) == (
        "dagster-postgres",
        5432,
        "dagster",
        "secret",
        "dagster",
    )


def test_queued_run_coordinator_with_limits(env: dict[str, str]) -> None:
    from dagster._core.run_coordinator import QueuedRunCoordinator

    data = ref(DAGSTER_YAML.parent).run_coordinator_data
    assert data is not None
    cls, value = resolved(data)
    assert cls is QueuedRunCoordinator
    assert value["max_concurrent_runs"] == 3  # from DAGSTER_MAX_CONCURRENT_RUNS
    limits = {
        (limit["key"], yaml.safe_dump(limit.get("value"))): limit["limit"]
        for limit in value["tag_concurrency_limits"]
    }
    per_backfill = yaml.safe_dump({"applyLimitPerUniqueValue": True})
    assert limits == {
        ("dagster/backfill", per_backfill): 2,
        ("live", yaml.safe_dump("reconciliation")): 1,
        ("live", yaml.safe_dump("supervision")): 1,
    }
    # and built as the instance builds it
    coordinator = data.rehydrate(as_type=QueuedRunCoordinator)
    assert coordinator.get_run_queue_config().max_concurrent_runs == 3


def test_docker_run_launcher(env: dict[str, str]) -> None:
    from dagster_docker import DockerRunLauncher

    data = ref(DAGSTER_YAML.parent).run_launcher_data
    assert data is not None
    launcher = data.rehydrate()  # no Docker needed until a run is launched
    assert isinstance(launcher, DockerRunLauncher)
    assert launcher.image == "execution-services:latest"
    assert launcher.networks == ["exec-services"]
    # what a run needs from the daemon's environment: its instance, its stores, the daemon
    for name in ("DAGSTER_POSTGRES_HOST", "DAGSTER_POSTGRES_PASSWORD", "EXEC_TICKS_STORE_URL",
                 "EXEC_RESULTS_STORE_URL", "EXEC_DAEMON_URL", "DATABASE_URL"):  # fmt: skip
        assert name in launcher.env_vars, name
    volumes = launcher.container_kwargs["volumes"]
    assert volumes["exec-services-store"]["bind"] == "/app/runtime/store"


def test_the_tags_the_limits_name_are_set(env: dict[str, str]) -> None:
    """A limit on a tag nobody sets limits nothing. `live=reconciliation` and
    `live=supervision` are the project's own job tags; `dagster/backfill` is Dagster's (every
    run a backfill launches carries it)."""
    from dagster._core.storage.tags import BACKFILL_ID_TAG

    from pipelines.definitions import defs

    data = ref(DAGSTER_YAML.parent).run_coordinator_data
    assert data is not None
    _, value = resolved(data)
    job_tags = {
        name: defs.resolve_job_def(name).tags
        for name in ("live_reconciliation_job", "restart_live_daemon")
    }
    for limit in value["tag_concurrency_limits"]:
        if limit["key"].startswith("dagster/"):
            assert limit["key"] == BACKFILL_ID_TAG
            continue
        assert any(tags.get(limit["key"]) == limit["value"] for tags in job_tags.values()), limit


def test_the_env_names_are_in_env_example() -> None:
    """The compose file sets every variable dagster.yaml reads."""
    compose = (REPO / "docker-compose.yml").read_text()
    for name in set(re.findall(r"env: (\w+)", DAGSTER_YAML.read_text())):
        assert re.search(rf"^\s+{name}:", compose, re.M), f"{name} not set in docker-compose.yml"


def test_an_unknown_key_is_rejected(env: dict[str, str], tmp_path: Path) -> None:
    def typo(data: dict[str, Any]) -> None:
        data["run_cordinator"] = data.pop("run_coordinator")

    with pytest.raises(DagsterInvalidConfigError, match="run_cordinator"):
        load(copy_with(tmp_path, typo))


def test_a_missing_environment_variable_is_rejected(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_POSTGRES_PASSWORD")
    with pytest.raises(DagsterInvalidConfigError, match="DAGSTER_POSTGRES_PASSWORD"):
        resolved(ref(DAGSTER_YAML.parent).storage_data)


def test_a_launcher_that_does_not_exist_is_rejected(env: dict[str, str], tmp_path: Path) -> None:
    def wrong_class(data: dict[str, Any]) -> None:
        data["run_launcher"]["class"] = "DockerRunLaunchr"

    data = ref(copy_with(tmp_path, wrong_class)).run_launcher_data  # any class name parses
    assert data is not None
    with pytest.raises(CheckError, match="DockerRunLaunchr"):
        data.rehydrate()


def test_a_bad_launcher_option_is_rejected(env: dict[str, str], tmp_path: Path) -> None:
    def bad_option(data: dict[str, Any]) -> None:
        data["run_launcher"]["config"]["netwrk"] = "exec-services"

    data = ref(copy_with(tmp_path, bad_option)).run_launcher_data
    assert data is not None
    with pytest.raises(DagsterInvalidConfigError, match="netwrk"):
        data.rehydrate()


def test_the_image_copies_it_into_dagster_home() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "DAGSTER_HOME=/opt/dagster/home" in dockerfile
    assert "COPY --chown=exec:exec deploy/dagster/dagster.yaml /opt/dagster/home/dagster.yaml" in (
        dockerfile
    )
    assert shutil.which("dagster-daemon") or (REPO / ".venv/bin/dagster-daemon").exists()
