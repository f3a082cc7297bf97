"""Load an external JSON config file into a pydantic model, expanding ``${VAR}`` first.

Every string value (at any depth, in objects and lists) may reference environment
variables: ``${VAR}`` (must be set), ``${VAR:-default}`` (default when unset or empty,
like the shell); ``$${`` is a literal ``${``. Defaults cannot contain ``}`` or nest.
Object keys are never expanded. Every failure is a :class:`ConfigError` naming the file
and, where there is one, the dotted key path (``stores.ticks_url``, ``venues[0].key``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from execution_core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def key_path(loc: Sequence[str | int]) -> str:
    """``("stores", "urls", 0)`` → ``stores.urls[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def expand_env(value: Any, env: Mapping[str, str] = os.environ, *, where: str = "") -> Any:
    """Return ``value`` with ``${VAR}``/``${VAR:-default}`` expanded in every string.

    Dicts and lists are copied recursively; other values are returned unchanged.
    ``where`` (e.g. the file name) prefixes error messages.
    """
    return _expand(value, env, where, ())


def _expand(value: Any, env: Mapping[str, str], where: str, loc: tuple[str | int, ...]) -> Any:
    if isinstance(value, str):
        return _expand_str(value, env, where, loc)
    if isinstance(value, dict):
        return {k: _expand(v, env, where, (*loc, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, where, (*loc, i)) for i, v in enumerate(value)]
    return value


def _expand_str(text: str, env: Mapping[str, str], where: str, loc: tuple[str | int, ...]) -> str:
    def fail(problem: str) -> ConfigError:
        prefix = f"{where}: " if where else ""
        return ConfigError(f"{prefix}{key_path(loc)}: {problem}")

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        body = match.group(1)
        if body is None:
            raise fail(f"unclosed '${{' in {text!r}")
        name, sep, default = body.partition(":-")
        if not _NAME.fullmatch(name):
            raise fail(f"malformed variable reference '${{{body}}}' in {text!r}")
        current = env.get(name)
        if sep:
            return current if current else default
        if current is None:
            raise fail(f"environment variable {name} is not set and has no default")
        return current

    return _REFERENCE.sub(substitute, text)


def load_config(path: str | Path, model: type[M]) -> M:
    """Read ``path`` (JSON), expand environment references, validate as ``model``."""
    file = Path(path)
    try:
        raw = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {file}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc}") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{file}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    expanded = expand_env(data, os.environ, where=str(file))
    try:
        return model.model_validate(expanded)
    except ValidationError as exc:
        problems = [f"{file}: {key_path(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ConfigError(
            f"invalid config {file} ({len(problems)} problem(s)):\n" + "\n".join(problems)
        ) from None
