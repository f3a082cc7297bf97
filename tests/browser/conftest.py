"""The browser tests' world: a real daemon (PostgreSQL, a paper venue), ``exec-console``
in front of it with a results store holding two small backtest runs, and Debian's
Chromium driven by Playwright (no browser download).

The daemon, the console and the browser are started once per module (a daemon and its
venue take long to start); each test gets a fresh page with the token entered.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from execution_core.stores import LocalObjectStore
from live_daemon.oms import EmbeddedPostgres
from tests.live_daemon.conftest import oms_template, pg_server, ticks  # noqa: F401 (fixtures)
from tests.live_daemon.daemon_process import TOKEN, Daemon
from tests.operator_console.backtest_store import commit_run
from tests.operator_console.console_process import Console

REPO_ROOT = Path(__file__).resolve().parents[2]
UI_DIST = REPO_ROOT / "ui" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
RUN_IDS = ("bt-browser-a", "bt-browser-b")


def _admin(server_uri: str, statement: str) -> None:
    """One statement on its own connection, in a thread of its own: Playwright's sync API
    keeps an event loop running in the test's thread, where asyncio.run cannot run."""

    async def run() -> None:
        connection = await asyncpg.connect(server_uri)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="module")
def database_url(pg_server: EmbeddedPostgres, oms_template: str) -> Iterator[str]:  # noqa: F811
    """A migrated OMS database for this module's daemon, dropped afterwards."""
    name = f"browser_{uuid.uuid4().hex}"
    _admin(pg_server.uri(), f'CREATE DATABASE "{name}" TEMPLATE "{oms_template}"')
    try:
        yield pg_server.uri(name)
    finally:
        _admin(pg_server.uri(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def daemon(
    database_url: str,
    ticks: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Daemon]:
    process = Daemon(database_url, ticks, tmp_path_factory.mktemp("daemon"))
    try:
        yield process.start()
    finally:
        if process.process is not None:
            process.stop()
        process.stop_venue()  # it outlives the daemon: none may be left behind


@pytest.fixture(scope="module")
def results_store(tmp_path_factory: pytest.TempPathFactory) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path_factory.mktemp("results"))
    for i, run_id in enumerate(RUN_IDS):
        commit_run(store, run_id, equity_rows=50 + 25 * i, summary={"pnl": 9.0 + i})
    return store


def _require_ui() -> None:
    if not (UI_DIST / "index.html").is_file():
        pytest.fail(f"the UI is not built ({UI_DIST}/index.html): run `make ui`")


@pytest.fixture(scope="module")
def console(
    daemon: Daemon, results_store: LocalObjectStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Console]:
    _require_ui()
    process = Console(
        daemon_url=daemon.url,
        results_store_url=results_store.url,
        ui_dir=UI_DIST,
        log_path=tmp_path_factory.mktemp("console") / "console.log",
    )
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (make system-deps)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(console: Console, browser: Browser) -> Iterator[Page]:
    """A fresh tab on the console with the daemon's token entered in the header. A script
    error in the page fails the test. (The console, hence the daemon and its database, is
    set up before the browser: Playwright's event loop runs from then on.)"""
    context = browser.new_context(base_url=console.url, viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto("/status")
    tab.get_by_test_id("token-input").fill(TOKEN)
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"script errors in the page: {errors}"
