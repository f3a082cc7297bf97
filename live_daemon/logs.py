"""Structured logs through stdlib ``logging``: one ``key=value`` line (or JSON object) per
record.

``log.info("order_routed venue=%s score=%.2f", venue, score)`` becomes::

    ts=2025-01-15T10:00:00.123Z level=info logger=live_daemon.orchestrator \\
        event=order_routed venue=BYBIT score=1.20

A message that starts with a bare word followed only by ``key=value`` pairs is kept as
``event=word key=value …``; any other message is quoted as ``msg="…"``. Fields passed with
``extra={"order_id": ...}`` are appended as ``key=value``; exceptions as ``exc="…"`` on the
same line (newlines escaped), so one record is always one line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Any, TextIO

_EVENT_RE = re.compile(r"[A-Za-z_][\w.-]*(?: [\w.-]+=(?:\"[^\"]*\"|\S*))*")
_BARE_RE = re.compile(r"[\w.:/@+-]+")
_STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName", "color_message"}
)
FORMATS = ("kv", "json")


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if text and _BARE_RE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class KeyValueFormatter(logging.Formatter):
    """``ts=… level=… logger=… event=…|msg="…" key=value …`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        parts = [
            f"ts={_timestamp(record)}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
        ]
        if _EVENT_RE.fullmatch(message):
            parts.append(f"event={message}")
        else:
            parts.append(f"msg={_value(message)}")
        parts.extend(f"{key}={_value(value)}" for key, value in _extras(record).items())
        if record.exc_info:
            parts.append(f"exc={_value(self.formatException(record.exc_info))}")
        elif record.stack_info:
            parts.append(f"stack={_value(record.stack_info)}")
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg`` and the extras."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        body.update(_extras(record))
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str, ensure_ascii=False)


def configure_logging(
    level: str | int = "INFO", fmt: str = "kv", stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record (the daemon's, uvicorn's, asyncpg's) to ``stream`` (stderr)
    as one ``key=value`` line (``fmt="kv"``) or JSON object (``fmt="json"``).

    Replaces the root logger's handlers, so calling it twice does not duplicate lines;
    returns the handler it installed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if isinstance(level, str):
        resolved = logging.getLevelName(level.strip().upper())
        if not isinstance(resolved, int):
            raise ValueError(
                f"log level must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}"
            )
        level = resolved
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(KeyValueFormatter() if fmt == "kv" else JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return handler


__all__ = ["JsonFormatter", "KeyValueFormatter", "configure_logging"]
