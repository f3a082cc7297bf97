"""External JSON config loading: env expansion, and errors that name file, key and cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from execution_core.config.loader import expand_env, key_path, load_config
from execution_core.errors import ConfigError


class Stores(BaseModel):
    ticks_url: str
    results_url: str = "file:///tmp/results"


class Venue(BaseModel):
    name: str
    api_key: str = ""
    weight: float = Field(default=1.0, gt=0)


class Settings(BaseModel):
    stores: Stores
    venues: list[Venue] = []
    tags: list[str] = []
    port: int = 8080


def _write(tmp_path: Path, document: Any, name: str = "config.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, indent=2) if not isinstance(document, str) else document)
    return path


def test_expand_env_defaults_and_nesting() -> None:
    env = {"HOST": "db", "EMPTY": "", "N": "3"}
    value = {
        "url": "postgres://${HOST}:${PORT:-5432}/x",
        "empty_default": "${EMPTY:-fallback}",
        "empty_plain": "<${EMPTY}>",
        "blank_default": "${MISSING:-}",
        "nested": [["${N}", {"deep": "${HOST}-${HOST}"}], 7, None, True],
        "literal": "cost $$5 and $${HOST} and $HOST",
    }
    assert expand_env(value, env) == {
        "url": "postgres://db:5432/x",
        "empty_default": "fallback",
        "empty_plain": "<>",
        "blank_default": "",
        "nested": [["3", {"deep": "db-db"}], 7, None, True],
        "literal": "cost $$5 and ${HOST} and $HOST",
    }
    assert value["url"] == "postgres://${HOST}:${PORT:-5432}/x"  # input untouched
    assert expand_env({"${HOST}": 1}, env) == {"${HOST}": 1}  # keys are not expanded


def test_expand_env_missing_variable_names_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        expand_env({"a": [{"b": "x${NOPE}"}]}, {}, where="cfg.json")
    assert str(info.value) == (
        "cfg.json: a[0].b: environment variable NOPE is not set and has no default"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("${1BAD}", "malformed variable reference '${1BAD}'"), ("${OPEN", "unclosed '${'")],
)
def test_expand_env_malformed(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("$", r"\$").replace("{", r"\{")):
        expand_env({"k": text}, {})


def test_key_path() -> None:
    assert key_path(("stores", "ticks_url")) == "stores.ticks_url"
    assert key_path(("venues", 0, "name")) == "venues[0].name"
    assert key_path((0, "x")) == "[0].x"
    assert key_path(()) == "(root)"


def test_load_config_expands_and_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKS_BUCKET", "gs://ticks")
    monkeypatch.setenv("OKX_KEY", "k-123")
    monkeypatch.delenv("PORT", raising=False)
    path = _write(
        tmp_path,
        {
            "stores": {"ticks_url": "${TICKS_BUCKET}/prod"},
            "venues": [{"name": "OKX", "api_key": "${OKX_KEY}"}, {"name": "${V:-BYBIT}"}],
            "tags": ["${TICKS_BUCKET}", "plain"],
            "port": "${PORT:-9000}",
        },
    )
    settings = load_config(str(path), Settings)
    assert settings.stores.ticks_url == "gs://ticks/prod"
    assert [v.api_key for v in settings.venues] == ["k-123", ""]
    assert settings.venues[1].name == "BYBIT"
    assert settings.tags == ["gs://ticks", "plain"]
    assert settings.port == 9000


def test_missing_variable_names_file_key_and_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TICKS_URL_UNSET", raising=False)
    path = _write(tmp_path, {"stores": {"ticks_url": "${TICKS_URL_UNSET}"}})
    with pytest.raises(ConfigError) as info:
        load_config(path, Settings)
    message = str(info.value)
    assert str(path) in message
    assert "stores.ticks_url" in message
    assert "TICKS_URL_UNSET" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found: .*nowhere\.json"):
        load_config(tmp_path / "nowhere.json", Settings)


def test_bad_json_has_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, '{\n  "stores": {\n    "ticks_url": "x",,\n  }\n}\n')
    with pytest.raises(ConfigError) as info:
        load_config(path, Settings)
    assert str(info.value).startswith(f"{path}: invalid JSON at line 3, column 22: ")


def test_validation_errors_name_file_and_dotted_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"stores": {}, "venues": [{"name": "OKX", "weight": -1}], "port": "http"},
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, Settings)
    lines = str(info.value).splitlines()
    assert lines[0] == f"invalid config {path} (3 problem(s)):"
    assert lines[1:] == [
        f"{path}: stores.ticks_url: Field required",
        f"{path}: venues[0].weight: Input should be greater than 0",
        f"{path}: port: Input should be a valid integer, unable to parse string as an integer",
    ]
