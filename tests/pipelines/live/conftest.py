"""Fixtures of the live supervision tests: the live daemon tests' real PostgreSQL (one fresh
migrated OMS database per test, ``oms_database_url``) and a fake daemon API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live_daemon.conftest import (  # noqa: F401 (fixtures)
    event_loop,
    oms_database_url,
    oms_template,
    pg_server,
    run,
    ticks,
)
from tests.pipelines.live.fake_daemon import FakeDaemon


@pytest.fixture
def fake_daemon() -> Iterator[FakeDaemon]:
    """A fake daemon API on a free port of 127.0.0.1 (health and reconciliation)."""
    with FakeDaemon() as daemon:
        yield daemon
