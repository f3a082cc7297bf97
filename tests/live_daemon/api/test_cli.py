"""``exec-cli`` against a mocked transport (what it sends) and against the real API app
with an in-memory order service (what it prints, exit codes)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from live_daemon.api.app import create_app
from live_daemon.api.models import ORDER_EXAMPLE
from live_daemon.cli import DEFAULT_URL, create_cli
from tests.live_daemon.api.fakes import TOKEN, FakeOrderService

runner = CliRunner()


class Recorder:
    """An ``httpx.MockTransport`` handler that records requests and answers ``reply``."""

    def __init__(self, status: int = 200, reply: Any = None) -> None:
        self.requests: list[httpx.Request] = []
        self.status = status
        self.reply = {"ok": True} if reply is None else reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.reply)

    @property
    def body(self) -> Any:
        return json.loads(self.requests[-1].content)


def invoke(
    handler: Callable[[httpx.Request], httpx.Response],
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> Any:
    app = create_cli(transport=httpx.MockTransport(handler))
    return runner.invoke(app, list(args), env=env, input=stdin)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXEC_DAEMON_URL", raising=False)
    monkeypatch.delenv("EXEC_DAEMON_TOKEN", raising=False)


SUBMIT = [
    "submit",
    "--operation-id",
    "OP-1",
    "--instrument",
    "ANY:PERPETUAL:BTC-USDT@LIN",
    "--side",
    "buy",
    "--quantity",
    "0.010",
    "--strategy",
    "demo",
]


def test_submit_from_options() -> None:
    rec = Recorder(201, {"operation_id": "OP-1", "status": "SUBMITTED"})
    result = invoke(
        rec,
        "--token",
        TOKEN,
        *SUBMIT,
        "--algo",
        "twap",
        "--algo-params",
        '{"duration_sec": 60, "max_slices": 6}',
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"operation_id": "OP-1", "status": "SUBMITTED"}
    request = rec.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"{DEFAULT_URL}/api/orders"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert rec.body == {
        "operation_id": "OP-1",
        "instrument_key": "ANY:PERPETUAL:BTC-USDT@LIN",
        "side": "BUY",
        "quantity": "0.010",  # the decimal string as typed
        "order_type": "MARKET",
        "strategy_id": "demo",
        "exec_algorithm": "TWAP",
        "exec_algorithm_params": {"duration_sec": 60, "max_slices": 6},
    }


def test_submit_with_price_is_a_limit_order() -> None:
    rec = Recorder(201)
    assert invoke(rec, *SUBMIT, "--price", "65000.5").exit_code == 0
    assert rec.body["order_type"] == "LIMIT" and rec.body["price"] == "65000.5"


def test_submit_json_file_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text(json.dumps(ORDER_EXAMPLE))
    rec = Recorder(201)
    result = invoke(rec, "submit", "--json", str(path), "--operation-id", "OP-2")
    assert result.exit_code == 0, result.output
    assert rec.body == {**ORDER_EXAMPLE, "operation_id": "OP-2"}


def test_submit_json_from_stdin() -> None:
    rec = Recorder(200)
    result = invoke(rec, "submit", "--json", "-", stdin=json.dumps(ORDER_EXAMPLE))
    assert result.exit_code == 0, result.output
    assert rec.body == ORDER_EXAMPLE


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--algo-params", "{duration"], "--algo-params"),
        (["--json", "/nonexistent/order.json"], "--json"),
    ],
)
def test_submit_usage_errors_exit_2(args: list[str], needle: str) -> None:
    rec = Recorder()
    result = invoke(rec, *SUBMIT, *args)
    assert result.exit_code == 2
    assert needle in result.stderr
    assert rec.requests == []


def test_submit_json_must_be_an_object(tmp_path: Path) -> None:
    path = tmp_path / "order.json"
    path.write_text("[1, 2]")
    result = invoke(Recorder(), "submit", "--json", str(path))
    assert result.exit_code == 2 and "expected a JSON object" in result.stderr


def test_error_answer_goes_to_stderr_with_exit_1() -> None:
    rec = Recorder(422, {"detail": "quantity: must be > 0, got '0'"})
    result = invoke(rec, *SUBMIT)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(result.stderr) == {"detail": "quantity: must be > 0, got '0'"}


def test_non_json_error_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad Gateway")

    result = invoke(handler, "positions")
    assert result.exit_code == 1
    assert json.loads(result.stderr) == {"detail": "HTTP 502: Bad Gateway"}


def test_unreachable_daemon() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    result = invoke(handler, "--url", "http://127.0.0.1:9", "status", "OP-1")
    assert result.exit_code == 1
    assert "cannot reach the daemon at http://127.0.0.1:9" in json.loads(result.stderr)["detail"]


def test_url_and_token_from_environment() -> None:
    rec = Recorder()
    env = {"EXEC_DAEMON_URL": "http://daemon:9000/", "EXEC_DAEMON_TOKEN": "env-token"}
    assert invoke(rec, "positions", env=env).exit_code == 0
    request = rec.requests[0]
    assert str(request.url) == "http://daemon:9000/api/positions"
    assert request.headers["Authorization"] == "Bearer env-token"


@pytest.mark.parametrize(
    ("args", "method", "url"),
    [
        (["status", "OP-1"], "GET", "/api/orders/OP-1"),
        (["status", "a/b c"], "GET", "/api/orders/a%2Fb%20c"),
        (["cancel", "OP-1"], "DELETE", "/api/orders/OP-1"),
        (["positions"], "GET", "/api/positions"),
        (["health"], "GET", "/api/health"),
        (["orders"], "GET", "/api/orders"),
        (
            [
                "orders",
                "--status",
                "filled",
                "--venue",
                "OKX",
                "--instrument",
                "OKX:PERPETUAL:BTC-USDT@LIN",
                "--strategy",
                "demo",
                "--since",
                "2025-01-15T00:00:00Z",
                "--until",
                "2025-01-16T00:00:00Z",
                "--limit",
                "5",
            ],
            "GET",
            "/api/orders?status=FILLED&venue=OKX&instrument=OKX%3APERPETUAL%3ABTC-USDT%40LIN"
            "&strategy=demo&since=2025-01-15T00%3A00%3A00Z&until=2025-01-16T00%3A00%3A00Z"
            "&limit=5",
        ),
        (["orders", "--search", "OP-"], "GET", "/api/orders?q=OP-"),
        (["timeline", "OP-1"], "GET", "/api/orders/OP-1/timeline"),
        (
            ["logs", "--after", "7", "--outcome", "REJECTED", "--strategy", "s1", "--limit", "9"],
            "GET",
            "/api/logs?after=7&outcome=rejected&strategy=s1&limit=9",
        ),
    ],
)
def test_commands_map_to_routes(args: list[str], method: str, url: str) -> None:
    rec = Recorder(reply=[])
    result = invoke(rec, "--output", "json", *args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    request = rec.requests[0]
    assert request.method == method
    assert str(request.url) == DEFAULT_URL + url


# --- against the real app ------------------------------------------------------------------


@pytest.fixture
def service() -> FakeOrderService:
    return FakeOrderService()


@pytest.fixture
def daemon(service: FakeOrderService) -> Iterator[Callable[[httpx.Request], httpx.Response]]:
    """A handler forwarding the CLI's requests to the API app (in-process)."""
    with TestClient(create_app(service, token=TOKEN), base_url=DEFAULT_URL) as client:

        def forward(request: httpx.Request) -> httpx.Response:
            answer = client.request(
                request.method,
                request.url.raw_path.decode(),
                content=request.content,
                headers=dict(request.headers),
            )
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )

        yield forward


def test_end_to_end(daemon: Callable[[httpx.Request], httpx.Response]) -> None:
    def json_out(*args: str) -> Any:
        return invoke(daemon, "--output", "json", *args)

    first = json_out("--token", TOKEN, *SUBMIT)
    assert first.exit_code == 0, first.output
    created = json.loads(first.stdout)
    assert created["status"] == "SUBMITTED" and created["quantity"] == "0.01"

    replay = json_out("--token", TOKEN, *SUBMIT)
    assert replay.exit_code == 0
    assert json.loads(replay.stdout)["order_id"] == created["order_id"]

    conflict = json_out("--token", TOKEN, *SUBMIT[:-4], "--quantity", "2", *SUBMIT[-2:])
    assert conflict.exit_code == 1 and "OP-1" in json.loads(conflict.stderr)["detail"]

    status = json_out("--token", TOKEN, "status", "OP-1")
    assert json.loads(status.stdout)["order_id"] == created["order_id"]

    listed = json_out("--token", TOKEN, "orders", "--status", "submitted")
    assert [o["operation_id"] for o in json.loads(listed.stdout)] == ["OP-1"]

    canceled = json_out("--token", TOKEN, "cancel", "OP-1")
    assert json.loads(canceled.stdout)["status"] == "CANCELED"

    positions = json_out("--token", TOKEN, "positions")
    assert json.loads(positions.stdout)[0]["quantity"] == "-0.25"

    health = json_out("health")  # no token needed
    assert health.exit_code == 0 and json.loads(health.stdout)["status"] == "ok"


def test_text_output_is_the_apis_text(
    daemon: Callable[[httpx.Request], httpx.Response], service: FakeOrderService
) -> None:
    """By default the CLI prints the lines the API gives (``text``), which the web UI
    shows too: an order and its fills, orders, positions, the execution log."""
    assert invoke(daemon, "--token", TOKEN, *SUBMIT).exit_code == 0
    service.fill("OP-1", "0.004", "65000.5")
    as_json = invoke(daemon, "--output", "json", "--token", TOKEN, "status", "OP-1")
    order = json.loads(as_json.stdout)
    status = invoke(daemon, "--token", TOKEN, "status", "OP-1")
    assert status.stdout.splitlines() == [order["text"], "  " + order["fills"][0]["text"]]
    assert status.stdout.startswith("OP-1  PARTIALLY_FILLED  BUY 0.01 ANY:PERPETUAL:BTC-USDT@LIN")
    assert "fill F1  0.004 @ 65000.5  fee 0.00012" in status.stdout

    listed = invoke(daemon, "--token", TOKEN, "orders")
    assert listed.stdout.splitlines() == [order["text"]]
    positions = invoke(daemon, "--token", TOKEN, "positions").stdout.splitlines()
    assert positions and all("PERPETUAL:BTC-USDT@LIN" in line for line in positions)
    log = invoke(daemon, "--token", TOKEN, "logs").stdout.splitlines()
    assert len(log) == 1 and "ACCEPTED  OP-1  BUY 0.01 ANY:PERPETUAL:BTC-USDT@LIN" in log[0]
    health = invoke(daemon, "health")  # no text: the JSON answer
    assert json.loads(health.stdout)["status"] == "ok"


def test_end_to_end_errors(daemon: Callable[[httpx.Request], httpx.Response]) -> None:
    bad = invoke(daemon, "--token", TOKEN, *SUBMIT[:-4], "--quantity", "NaN", *SUBMIT[-2:])
    assert bad.exit_code == 1
    assert json.loads(bad.stderr)["detail"] == "quantity: must be a finite number, got 'NaN'"

    missing = invoke(daemon, "--token", TOKEN, "submit", "--operation-id", "OP-9")
    assert missing.exit_code == 1
    assert "instrument_key: is required" in json.loads(missing.stderr)["detail"]

    unauthorized = invoke(daemon, "--token", "wrong", "positions")
    assert unauthorized.exit_code == 1
    assert json.loads(unauthorized.stderr)["detail"] == "invalid bearer token"

    unknown = invoke(daemon, "--token", TOKEN, "status", "OP-404")
    assert unknown.exit_code == 1 and "OP-404" in json.loads(unknown.stderr)["detail"]
