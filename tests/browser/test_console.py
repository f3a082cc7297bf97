"""The operator console in a real browser, against a real daemon.

The tests run in file order on one daemon (the module's): orders submitted early are what
the later pages show, and the last test stops the daemon. Every wait is Playwright's
``expect`` with a message saying what it waited for; nothing is timed by the clock.
Screenshots of each page go to ``docs/screenshots/``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from execution_core.stores import LocalObjectStore
from tests.browser.conftest import RUN_IDS, UI_DIST
from tests.live_daemon.daemon_process import TOKEN, VENV_BIN, Daemon
from tests.operator_console.console_process import Console

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
# runtime/screenshots by default, so that a test run leaves the checkout clean; the
# README's pictures are refreshed with EXEC_SCREENSHOTS_DIR=docs/screenshots make test
SCREENSHOTS = REPO_ROOT / os.environ.get("EXEC_SCREENSHOTS_DIR", "runtime/screenshots")
FILL_TIMEOUT_MS = 90_000  # the paper venue on a busy machine
UI_TIMEOUT_MS = 15_000
INSTRUMENT = "ANY:PERPETUAL:BTC-USDT@LIN"
STRATEGY = "ui e2e's"  # a space and a quote: the CLI preview must shell-quote it
FORM_OP = "ui-form-1"
CLI_OP = "ui-cli-1"
REJECTED_OP = "ui-too-big-1"


def screenshot(page: Page, name: str) -> None:
    """``<SCREENSHOTS>/<name>.png``: the whole page (the README shows docs/screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def exec_cli(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    """``exec-cli`` as an operator runs it, pointed at the daemon by its environment."""
    env = os.environ | {"EXEC_DAEMON_URL": daemon.url, "EXEC_DAEMON_TOKEN": TOKEN}
    argv = [str(VENV_BIN / "exec-cli"), *args[1:]] if args[0] == "exec-cli" else list(args)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def order_count(daemon: Daemon) -> int:
    with daemon.client() as client:
        return len(client.get("/api/orders", params={"limit": 1000}).json())


def fill_form(page: Page, **fields: str) -> None:
    """Type into the order form; selects by their option, the rest as text."""
    for name, value in fields.items():
        field = page.get_by_test_id(f"field-{name}")
        if name in ("side", "order_type", "exec_algorithm"):
            field.select_option(value)
        else:
            field.fill(value)


def open_form(page: Page, operation_id: str) -> None:
    page.goto("/live/execute")
    expect(page.get_by_test_id("order-form"), "the order form").to_be_visible()
    fill_form(page, operation_id=operation_id, instrument_key=INSTRUMENT, quantity="0.01",
              strategy_id=STRATEGY)  # fmt: skip


def test_status_page_shows_the_services_and_the_pages_they_enable(page: Page) -> None:
    expect(page.get_by_test_id("service-daemon"), "the daemon shown up").to_have_attribute(
        "data-up", "true", timeout=UI_TIMEOUT_MS
    )
    expect(page.get_by_test_id("service-database"), "PostgreSQL shown up").to_have_attribute(
        "data-up", "true"
    )
    expect(page.get_by_test_id("service-results-store"), "the store up").to_have_attribute(
        "data-up", "true"
    )
    expect(page.get_by_test_id("service-dagster"), "Dagster down").to_have_attribute(
        "data-up", "false"
    )
    venues = page.locator("[data-testid^='service-venue-']")
    expect(venues.first, "a venue row from the daemon's health").to_be_visible()
    expect(page.get_by_test_id("nav-live"), "the live pages in the navigation").to_be_visible()
    expect(page.get_by_test_id("nav-backtest"), "the backtest pages too").to_be_visible()
    screenshot(page, "status")


def test_an_order_from_the_form_fills_and_reads_as_the_cli_prints_it(
    page: Page, daemon: Daemon
) -> None:
    open_form(page, FORM_OP)
    preview = page.get_by_test_id("cli-preview")
    # as the operator types, the command and the body follow
    expect(preview, "the CLI preview of the typed order").to_have_text(
        "exec-cli submit --operation-id ui-form-1 --instrument ANY:PERPETUAL:BTC-USDT@LIN "
        "--side BUY --quantity 0.01 --strategy 'ui e2e'\"'\"'s'"
    )
    body = json.loads(page.get_by_test_id("json-preview").inner_text())
    assert body == {
        "operation_id": FORM_OP, "instrument_key": INSTRUMENT, "side": "BUY",
        "quantity": "0.01", "order_type": "MARKET", "price": None, "strategy_id": STRATEGY,
        "exec_algorithm": "NORMAL", "exec_algorithm_params": {},
    }  # fmt: skip

    page.get_by_test_id("submit").click()
    sent = page.get_by_test_id("sent-order-text")
    expect(sent, f"{FORM_OP} shown FILLED").to_have_attribute(
        "data-status", "FILLED", timeout=FILL_TIMEOUT_MS
    )
    screenshot(page, "execute")
    # the one formatter: the line the UI shows is the line exec-cli prints
    status = exec_cli(daemon, "exec-cli", "status", FORM_OP)
    assert status.returncode == 0, status.stderr
    assert sent.inner_text() == status.stdout.splitlines()[0]


def test_the_previewed_command_sends_the_same_order(page: Page, daemon: Daemon) -> None:
    open_form(page, CLI_OP)
    fill_form(page, exec_algorithm="TWAP", duration_sec="2", max_slices="2")
    command = page.get_by_test_id("cli-preview").inner_text()
    argv = shlex.split(command)
    assert argv[:2] == ["exec-cli", "submit"]
    assert argv[argv.index("--strategy") + 1] == STRATEGY
    assert json.loads(argv[argv.index("--algo-params") + 1]) == {"duration_sec": 2, "max_slices": 2}

    result = exec_cli(daemon, *argv)
    assert result.returncode == 0, result.stderr

    with daemon.client() as client:
        order = client.get(f"/api/orders/{CLI_OP}").json()
    previewed = json.loads(page.get_by_test_id("json-preview").inner_text())
    for field in ("instrument_key", "side", "quantity", "order_type", "strategy_id",
                  "exec_algorithm", "exec_algorithm_params"):  # fmt: skip
        assert order[field] == previewed[field], field
    page.goto("/live/orders")
    row = page.locator(f"[data-testid='order-row'][data-operation-id='{CLI_OP}']")
    expect(row, f"{CLI_OP} (sent by exec-cli) in the orders table").to_be_visible(
        timeout=UI_TIMEOUT_MS
    )


def test_a_rejected_order_shows_its_reason(page: Page) -> None:
    open_form(page, REJECTED_OP)
    fill_form(page, quantity="5000")  # over the risk limit
    page.get_by_test_id("submit").click()
    sent = page.get_by_test_id("sent-order-text")
    expect(sent, f"{REJECTED_OP} shown REJECTED").to_have_attribute(
        "data-status", "REJECTED", timeout=UI_TIMEOUT_MS
    )
    expect(sent, "the risk reason in its line").to_contain_text("ORDER_QUANTITY_MAX")


def test_bad_input_names_the_field_and_sends_nothing(page: Page, daemon: Daemon) -> None:
    before = order_count(daemon)
    cases = [
        ({"quantity": "abc"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"order_type": "LIMIT", "price": ""}, "price"),
        ({"instrument_key": "btc-usdt"}, "instrument_key"),
        ({"exec_algorithm": "TWAP", "duration_sec": "soon"}, "duration_sec"),
    ]
    for fields, named in cases:
        open_form(page, "ui-bad-1")
        fill_form(page, **fields)
        page.get_by_test_id("submit").click()
        problem = page.get_by_test_id(f"error-{named}")
        expect(problem, f"the form naming {named} for {fields}").to_contain_text(named)
        expect(page.get_by_test_id("sent-order-text"), "nothing sent").to_have_count(0)
    screenshot(page, "execute-invalid")

    # a well-formed key no venue lists: the daemon's 422, its detail as it worded it
    open_form(page, "ui-bad-2")
    fill_form(page, instrument_key="BINANCE-FUTURES:PERPETUAL:NOPE-USDT@LIN")
    page.get_by_test_id("submit").click()
    error = page.get_by_test_id("api-error")
    expect(error, "the daemon's 422 shown").to_contain_text("HTTP 422", timeout=UI_TIMEOUT_MS)
    expect(error, "naming the field").to_contain_text("instrument_key")
    assert order_count(daemon) == before


def test_orders_filters_search_and_detail(page: Page, daemon: Daemon) -> None:
    page.goto("/live/orders")
    rows = page.get_by_test_id("order-row")
    row = lambda op: page.locator(f"[data-testid='order-row'][data-operation-id='{op}']")  # noqa: E731
    expect(row(REJECTED_OP), "the rejected order listed").to_be_visible(timeout=UI_TIMEOUT_MS)

    page.get_by_test_id("filter-status").select_option("FILLED")
    expect(row(REJECTED_OP), "the rejected order hidden by status FILLED").to_have_count(0)
    expect(row(FORM_OP), "the filled one kept").to_be_visible()
    page.get_by_test_id("filter-status").select_option("REJECTED")
    expect(rows, "only the rejected order").to_have_count(1)
    page.get_by_test_id("filter-status").select_option("")
    page.get_by_test_id("filter-q").fill(FORM_OP)
    expect(rows, f"the search for {FORM_OP}").to_have_count(1)
    page.get_by_test_id("filter-q").fill("")
    page.get_by_test_id("filter-strategy").fill("nobody")
    expect(page.get_by_test_id("orders-empty"), "no order of strategy 'nobody'").to_be_visible()
    page.get_by_test_id("filter-clear").click()
    expect(row(FORM_OP), "all orders back").to_be_visible()
    screenshot(page, "orders")

    row(FORM_OP).click()
    text = page.get_by_test_id("order-detail-text")
    expect(text, f"the detail of {FORM_OP}").to_have_attribute("data-status", "FILLED")
    cli = exec_cli(daemon, "exec-cli", "status", FORM_OP).stdout.splitlines()
    expect(text, "the order's line as exec-cli prints it").to_have_text(cli[0])
    fills = page.get_by_test_id("fill-text")
    expect(fills, "one line per fill").to_have_count(len(cli) - 1)
    assert fills.all_inner_texts() == [line.strip() for line in cli[1:]]
    events = page.get_by_test_id("timeline-event")
    for kind in ("submitted", "risk", "routed", "acknowledged", "filled"):
        expect(
            events.and_(page.locator(f"[data-kind='{kind}']")).first,
            f"a '{kind}' event in the timeline",
        ).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("risk-result"), "the risk result").to_be_visible()
    expect(page.get_by_test_id("routing-decision"), "the routing decision").to_be_visible()
    expect(page.get_by_test_id("routing-score-row").first, "the venues' scores").to_be_visible()
    # the venue's order id as the daemon recorded it (the paper venue acknowledging a
    # market order by its fill: the fill's)
    with daemon.client() as client:
        events = client.get(f"/api/orders/{FORM_OP}/timeline").json()["events"]
    ids = [e["detail"].get("venue_order_id") for e in events if e["kind"] == "acknowledged"]
    ids += [e["detail"].get("venue_order_id") for e in events]
    venue_order_id = next((str(i) for i in ids if i is not None), "-")
    assert venue_order_id != "-", events
    expect(page.get_by_test_id("venue-order-id"), "the venue's order id").to_have_text(
        venue_order_id
    )
    screenshot(page, "order-detail")


def test_positions_show_the_daemons_lines(page: Page, daemon: Daemon) -> None:
    with daemon.client() as client:
        rows = client.get("/api/positions").json()
    aggregates = [r["text"] for r in rows if r.get("scope") == "aggregate"]
    assert aggregates, rows
    page.goto("/live/positions")
    texts = page.get_by_test_id("position-text")
    expect(texts, "one line per instrument").to_have_count(len(aggregates), timeout=UI_TIMEOUT_MS)
    assert sorted(texts.all_inner_texts()) == sorted(aggregates)
    expect(page.get_by_test_id("position-venue").first, "the per-venue rows").to_be_visible()
    screenshot(page, "positions")


def test_logs_poll_with_the_cursor_and_filter(page: Page, daemon: Daemon) -> None:
    page.goto("/live/logs")
    entries = page.get_by_test_id("log-entry")
    accepted = page.locator(f"[data-testid='log-entry'][data-operation-id='{FORM_OP}']")
    expect(accepted, "the form's order in the log").to_have_count(1, timeout=UI_TIMEOUT_MS)
    # an order sent while the page is open appears with a later poll (after the cursor)
    with daemon.client() as client:
        answer = client.post("/api/orders", json={
            "operation_id": "ui-log-1", "instrument_key": INSTRUMENT, "side": "SELL",
            "quantity": "0.01", "order_type": "MARKET", "strategy_id": "logs",
        })  # fmt: skip
        assert answer.status_code == 201, answer.text
        log = client.get("/api/logs").json()
    new = page.locator("[data-testid='log-entry'][data-operation-id='ui-log-1']")
    expect(new, "the new order polled in").to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(entries, "each entry once (the cursor)").to_have_count(len(log["entries"]))
    assert entries.all_inner_texts() == [e["text"] for e in log["entries"]]
    screenshot(page, "logs")

    page.get_by_test_id("log-filter-strategy").fill("logs")
    expect(entries, "only strategy 'logs'").to_have_count(1, timeout=UI_TIMEOUT_MS)
    page.get_by_test_id("log-filter-strategy").fill("")
    page.get_by_test_id("log-filter-outcome").select_option("rejected")
    expect(new, "the accepted one hidden by outcome=rejected").to_have_count(0)
    for outcome in entries.evaluate_all("els => els.map(e => e.dataset.outcome)"):
        assert outcome == "rejected"


def test_logs_show_a_risk_rejection_with_its_reason(page: Page) -> None:
    page.goto("/live/logs")
    rejected = page.locator(f"[data-testid='log-entry'][data-operation-id='{REJECTED_OP}']")
    expect(rejected, "the rejected order in the log").to_contain_text(
        "ORDER_QUANTITY_MAX", timeout=UI_TIMEOUT_MS
    )


def test_backtest_runs_and_their_comparison(page: Page) -> None:
    page.goto("/backtest/runs")
    rows = page.get_by_test_id("run-row")
    expect(rows, "both committed runs").to_have_count(2, timeout=UI_TIMEOUT_MS)
    screenshot(page, "backtest-runs")
    for run_id in RUN_IDS:
        row = page.locator(f"[data-testid='run-row'][data-run-id='{run_id}']")
        row.get_by_test_id("run-pick").check()
    page.get_by_test_id("compare-link").click()
    expect(page.get_by_test_id("compare-run"), "two runs side by side").to_have_count(2)
    expect(page.get_by_test_id("equity-line"), "one equity curve per run").to_have_count(2)
    expect(page.get_by_test_id("slippage-by-algorithm"), "slippage by algorithm").to_contain_text(
        "TWAP"
    )
    expect(page.get_by_test_id("slippage-by-venue"), "slippage by venue").to_contain_text("OKX")
    link = page.get_by_test_id("compare-dagster-link").first
    expect(link, "the link to Dagster").to_have_attribute(
        "href", "http://127.0.0.1:9/assets/backtest_results?view=partitions&partition=2025-01-15"
    )
    screenshot(page, "backtest-compare")


def test_backtest_pages_render_their_empty_state(
    page: Page, daemon: Daemon, tmp_path: Path
) -> None:
    empty = LocalObjectStore(tmp_path / "empty")
    console = Console(
        daemon_url=daemon.url, results_store_url=empty.url, ui_dir=UI_DIST,
        log_path=tmp_path / "console.log",
    ).start()  # fmt: skip
    try:
        page.goto(f"{console.url}/backtest/runs")
        expect(page.get_by_test_id("runs-empty"), "the empty runs page").to_contain_text(
            "make demo", timeout=UI_TIMEOUT_MS
        )
        page.goto(f"{console.url}/backtest/compare")
        expect(page.get_by_test_id("compare-empty"), "compare with no runs").to_be_visible()
    finally:
        console.stop()


def test_the_status_page_follows_the_daemon_going_down(page: Page, daemon: Daemon) -> None:
    """Last: it stops the module's daemon."""
    page.goto("/status")
    expect(page.get_by_test_id("nav-live"), "the live pages while the daemon runs").to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    daemon.stop()
    expect(page.get_by_test_id("service-daemon"), "the daemon shown down").to_have_attribute(
        "data-up", "false", timeout=UI_TIMEOUT_MS
    )
    expect(page.get_by_test_id("nav-live"), "the live pages gone").to_have_count(0)
    expect(page.get_by_test_id("no-services"), "how to start the daemon").to_contain_text(
        "exec-live"
    )
    screenshot(page, "status-daemon-down")
    # a live page now says what to start instead of failing
    page.goto("/live/orders")
    expect(page.get_by_test_id("no-services"), "instructions on a live page").to_be_visible()
