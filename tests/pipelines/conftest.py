"""Fixtures of the pipelines tests: one small deterministic demo day, built once per session.

``demo_day`` publishes the day (about 38k ticks at ``ticks_scale=0.01``) into local tick and
signal stores. ``stores`` points a :class:`StoresResource` at those stores (read-only use)
with its own, empty results store. Tests that damage inputs use ``copy_demo_day`` to get
private copies first.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from execution_core.demo.config import DemoConfig
from execution_core.demo.publish import PublishedDemo, publish_demo_day
from execution_core.instruments.reference import load_reference
from execution_core.stores import open_store
from pipelines.defs.resources import StoresResource

DEMO_DAY = dt.date(2025, 1, 15)
PARTITION = DEMO_DAY.isoformat()
DEMO_CONFIG = DemoConfig(date=DEMO_DAY, ticks_scale=0.01)


def file_url(path: Path) -> str:
    """``file:///abs/path`` of a local directory."""
    return f"file://{path.resolve()}"


def stores_for(
    root: Path, *, ticks: Path | None = None, signals: Path | None = None
) -> StoresResource:
    """Stores under ``root`` (instruments, results, and ticks/signals unless given)."""
    for name in ("instruments", "results", "ticks", "signals"):
        (root / name).mkdir(parents=True, exist_ok=True)
    return StoresResource(
        instruments_url=file_url(root / "instruments"),
        ticks_url=file_url(ticks or root / "ticks"),
        signals_url=file_url(signals or root / "signals"),
        results_url=file_url(root / "results"),
    )


@dataclass(frozen=True)
class DemoDay:
    ticks_dir: Path
    signals_dir: Path
    published: PublishedDemo


@pytest.fixture(scope="session")
def demo_day(tmp_path_factory: pytest.TempPathFactory) -> DemoDay:
    """The demo day of 2025-01-15 at 1% of the ticks, in local stores. Do not modify it."""
    root = tmp_path_factory.mktemp("demo_day")
    ticks_dir, signals_dir = root / "ticks", root / "signals"
    published = publish_demo_day(
        DEMO_CONFIG, open_store(str(ticks_dir)), open_store(str(signals_dir)), load_reference()
    )
    return DemoDay(ticks_dir, signals_dir, published)


@pytest.fixture
def stores(demo_day: DemoDay, tmp_path: Path) -> StoresResource:
    """file:// stores over the shared demo day, with an empty results (and instruments) store."""
    return stores_for(tmp_path / "stores", ticks=demo_day.ticks_dir, signals=demo_day.signals_dir)


@pytest.fixture
def copy_demo_day(
    demo_day: DemoDay, tmp_path: Path
) -> Callable[..., tuple[StoresResource, Path, Path]]:
    """``copy_demo_day(ticks=..., signals=...)``: stores over private copies of the chosen
    input stores (the others stay shared); returns (stores, ticks_dir, signals_dir)."""

    def make(*, ticks: bool = False, signals: bool = False) -> tuple[StoresResource, Path, Path]:
        root = tmp_path / "private"
        ticks_dir, signals_dir = demo_day.ticks_dir, demo_day.signals_dir
        if ticks:
            ticks_dir = root / "ticks"
            shutil.copytree(demo_day.ticks_dir, ticks_dir)
        if signals:
            signals_dir = root / "signals"
            shutil.copytree(demo_day.signals_dir, signals_dir)
        return stores_for(root, ticks=ticks_dir, signals=signals_dir), ticks_dir, signals_dir

    return make
