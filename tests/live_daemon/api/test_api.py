"""The order API over HTTP, against an in-memory order service: every bad input is a 4xx
naming its field and never reaches the service; the happy paths; auth; health; metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from execution_core.algorithms.params import AlgorithmParamsError
from execution_core.instruments.reference import load_reference
from live_daemon.api.app import MAX_BODY_BYTES, create_app
from live_daemon.api.models import ORDER_EXAMPLE, OrderIn, decimal_text
from live_daemon.api.ports import ServiceUnavailable
from live_daemon.domain import OrderStatus
from live_daemon.logs import configure_logging
from live_daemon.metrics import MAX_LABEL_VALUES, Metrics
from tests.live_daemon.api.fakes import TOKEN, FakeOrderService

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def service() -> FakeOrderService:
    return FakeOrderService()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def app(service: FakeOrderService, metrics: Metrics) -> FastAPI:
    return create_app(service, token=TOKEN, metrics=metrics)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def order(**changes: Any) -> dict[str, Any]:
    body = {**ORDER_EXAMPLE, **changes}
    return {k: v for k, v in body.items() if v is not _DROP}


_DROP = object()


def post(client: TestClient, body: Any, **kwargs: Any) -> Any:
    return client.post("/api/orders", json=body, headers=AUTH, **kwargs)


def submits(service: FakeOrderService) -> list[Any]:
    return [arg for name, arg in service.calls if name == "submit"]


# --- the happy path ----------------------------------------------------------------------


def test_submit_creates_then_replays(client: TestClient, service: FakeOrderService) -> None:
    first = post(client, order())
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["operation_id"] == "OP-12345"
    assert body["status"] == "SUBMITTED"
    assert body["rejection_reason"] is None
    assert body["venue"] == "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
    assert body["quantity"] == "1"  # a decimal string, never a float
    assert body["filled_quantity"] == "0"
    assert body["price"] is None and body["avg_fill_price"] is None
    assert body["fills"] == []
    assert body["exec_algorithm"] == "TWAP"
    assert body["exec_algorithm_params"] == {"duration_sec": 300, "max_slices": 10}
    request = submits(service)[0]
    assert str(request.quantity) == "1.0" and request.price is None
    assert request.exec_algorithm_params == {"duration_sec": 300, "max_slices": 10}

    again = post(client, order())
    assert again.status_code == 200, again.text
    assert again.json()["order_id"] == body["order_id"]


def test_same_operation_id_with_another_body_is_409(client: TestClient) -> None:
    assert post(client, order()).status_code == 201
    conflict = post(client, order(quantity="2"))
    assert conflict.status_code == 409
    assert "OP-12345" in conflict.json()["detail"]


def test_risk_rejection_is_not_an_http_error(client: TestClient) -> None:
    response = post(client, order(operation_id="OP-big", quantity="150"))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "REJECTED"
    assert "order_size" in body["rejection_reason"]
    assert body["venue"] is None


def test_limit_order_and_decimal_strings(client: TestClient, service: FakeOrderService) -> None:
    response = post(
        client,
        order(
            operation_id="OP-limit",
            order_type="LIMIT",
            price="65000.50",
            quantity="0.000000000000000001",
            exec_algorithm=None,
            exec_algorithm_params=None,
        ),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["price"] == "65000.5"
    assert body["quantity"] == "0.000000000000000001"
    assert body["exec_algorithm"] == "NORMAL" and body["exec_algorithm_params"] == {}
    request = submits(service)[0]
    assert request.order_type == "LIMIT" and str(request.price) == "65000.50"


def test_get_order_with_fills(client: TestClient, service: FakeOrderService) -> None:
    post(client, order(operation_id="OP-f", quantity="0.5"))
    service.fill("OP-f", "0.2", "65000.1")
    response = client.get("/api/orders/OP-f", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "PARTIALLY_FILLED"
    assert body["filled_quantity"] == "0.2" and body["avg_fill_price"] == "65000.1"
    assert body["fills"] == [
        {
            "fill_id": "F1",
            "quantity": "0.2",
            "price": "65000.1",
            "fee": "0.00012",
            "fee_currency": "USDT",
            "liquidity_side": "TAKER",
            "timestamp": "2025-01-15T10:00:01Z",
            "text": "fill F1  0.2 @ 65000.1  fee 0.00012  2025-01-15T10:00:01.000Z",
        }
    ]


def test_get_and_cancel_unknown_order_are_404(client: TestClient) -> None:
    for method in ("GET", "DELETE"):
        response = client.request(method, "/api/orders/OP-nope", headers=AUTH)
        assert response.status_code == 404
        assert "OP-nope" in response.json()["detail"]


def test_bad_operation_id_in_path_is_422(client: TestClient, service: FakeOrderService) -> None:
    response = client.get("/api/orders/bad%20id", headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("operation_id:")
    assert service.calls == []


def test_cancel(client: TestClient) -> None:
    post(client, order(operation_id="OP-c"))
    response = client.delete("/api/orders/OP-c", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELED"


def test_list_orders_passes_filters_through(client: TestClient, service: FakeOrderService) -> None:
    post(client, order(operation_id="OP-1"))
    response = client.get(
        "/api/orders",
        headers=AUTH,
        params={
            "status": "SUBMITTED",
            "venue": "BYBIT",
            "instrument": "ANY:PERPETUAL:BTC-USDT@LIN",
            "strategy": "momentum-btc-v1",
            "since": "2025-01-15T00:00:00",  # no offset: UTC
            "until": "2025-01-16T02:00:00+02:00",
            "limit": 7,
        },
    )
    assert response.status_code == 200, response.text
    assert [o["operation_id"] for o in response.json()] == ["OP-1"]
    (filters,) = [arg for name, arg in service.calls if name == "list_orders"]
    assert filters["status"] is OrderStatus.SUBMITTED
    assert filters["venue"] == "BYBIT"
    assert filters["instrument"] == "ANY:PERPETUAL:BTC-USDT@LIN"
    assert filters["strategy"] == "momentum-btc-v1"
    assert filters["since"].isoformat() == "2025-01-15T00:00:00+00:00"
    assert filters["until"].isoformat() == "2025-01-16T00:00:00+00:00"
    assert filters["limit"] == 7


def test_list_orders_defaults(client: TestClient, service: FakeOrderService) -> None:
    assert client.get("/api/orders", headers=AUTH).json() == []
    (filters,) = [arg for name, arg in service.calls if name == "list_orders"]
    assert filters == {
        "status": None,
        "venue": None,
        "instrument": None,
        "strategy": None,
        "since": None,
        "until": None,
        "limit": 100,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "DONE"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2025-01-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"}, "until"),
    ],
)
def test_list_orders_bad_filters(
    client: TestClient, service: FakeOrderService, params: dict[str, Any], field: str
) -> None:
    response = client.get("/api/orders", headers=AUTH, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(f"{field}:")
    assert service.calls == []


def test_positions_as_decimal_strings(client: TestClient) -> None:
    response = client.get("/api/positions", headers=AUTH)
    assert response.status_code == 200
    venue_row, aggregate = response.json()
    assert venue_row["quantity"] == "-0.25" and venue_row["fees"] == "0.0081"
    assert venue_row["venue_key"] == "BYBIT:PERPETUAL:BTC-USDT@LIN"
    assert aggregate["venues"] == {"BYBIT:PERPETUAL:BTC-USDT@LIN": "-0.25"}
    assert aggregate["note"] == "extra keys pass through"


# --- every bad input is a 4xx naming its field, and the service never sees it -------------

BAD_ORDERS: list[tuple[str, dict[str, Any], str]] = [
    ("missing quantity", order(quantity=_DROP), "quantity"),
    ("missing operation_id", order(operation_id=_DROP), "operation_id"),
    ("missing side", order(side=_DROP), "side"),
    ("missing strategy_id", order(strategy_id=_DROP), "strategy_id"),
    ("zero quantity", order(quantity="0"), "quantity"),
    ("negative quantity", order(quantity="-1"), "quantity"),
    ("NaN quantity", order(quantity="NaN"), "quantity"),
    ("Infinity quantity", order(quantity="Infinity"), "quantity"),
    ("-Infinity quantity", order(quantity="-Infinity"), "quantity"),
    ("1e999 quantity", order(quantity="1e999"), "quantity"),
    ("absurd quantity", order(quantity="1000000001"), "quantity"),
    ("too many digits", order(quantity="1.0000000000000000001"), "quantity"),
    ("too many places", order(quantity="1e-30"), "quantity"),
    ("number quantity", order(quantity=1.5), "quantity"),
    ("bool quantity", order(quantity=True), "quantity"),
    ("text quantity", order(quantity="one"), "quantity"),
    ("huge text quantity", order(quantity="9" * 5000), "quantity"),
    ("limit without price", order(order_type="LIMIT"), "price"),
    ("limit with null price", order(order_type="LIMIT", price=None), "price"),
    ("market with price", order(price="100"), "price"),
    ("zero limit price", order(order_type="LIMIT", price="0"), "price"),
    ("NaN limit price", order(order_type="LIMIT", price="NaN"), "price"),
    ("bad order_type", order(order_type="STOP"), "order_type"),
    ("lowercase side", order(side="buy"), "side"),
    ("bad canonical id", order(instrument_key="BTCUSDT"), "instrument_key"),
    ("lowercase id", order(instrument_key="bybit:perpetual:btc-usdt@lin"), "instrument_key"),
    ("unknown venue", order(instrument_key="NYSE:PERPETUAL:BTC-USDT@LIN"), "instrument_key"),
    ("bad instrument type", order(instrument_key="BYBIT:SWAP:BTC-USDT@LIN"), "instrument_key"),
    ("unknown algorithm", order(exec_algorithm="SNIPER"), "exec_algorithm"),
    (
        "twap too long",
        order(exec_algorithm_params={"duration_sec": 3600}),
        "exec_algorithm_params",
    ),
    ("twap unknown param", order(exec_algorithm_params={"slices": 3}), "exec_algorithm_params"),
    ("normal with params", order(exec_algorithm="NORMAL"), "exec_algorithm_params"),
    ("iceberg without display", order(exec_algorithm="ICEBERG"), "exec_algorithm_params"),
    ("params not an object", order(exec_algorithm_params=[1, 2]), "exec_algorithm_params"),
    ("bad operation_id", order(operation_id="OP 1"), "operation_id"),
    ("long operation_id", order(operation_id="X" * 65), "operation_id"),
    ("empty strategy_id", order(strategy_id=""), "strategy_id"),
    ("control char strategy", order(strategy_id="a\nb"), "strategy_id"),
    ("unknown field", order(account="main"), "account"),
    ("body is a list", [order()], "body"),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_ORDERS, ids=[c[0] for c in BAD_ORDERS])
def test_bad_order_is_422_naming_the_field(
    client: TestClient, service: FakeOrderService, case: str, body: Any, field: str
) -> None:
    response = post(client, body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["detail"].startswith(f"{field}: "), error
    assert error["errors"][0]["field"] == field
    assert submits(service) == []


def test_messages_are_specific(client: TestClient) -> None:
    def detail(body: dict[str, Any]) -> str:
        return str(post(client, body).json()["detail"])

    assert detail(order(quantity="0")) == "quantity: must be > 0, got '0'"
    assert detail(order(quantity="NaN")) == "quantity: must be a finite number, got 'NaN'"
    assert "must be <= 1000000000" in detail(order(quantity="1e999"))
    assert "decimal string" in detail(order(quantity=1.5))
    assert "required for a LIMIT order" in detail(order(order_type="LIMIT"))
    assert "duration_sec: must be <= 300" in detail(
        order(exec_algorithm_params={"duration_sec": 3600})
    )
    assert "unknown field" in detail(order(account="main"))
    assert "got 'buy'" in detail(order(side="buy"))
    assert "unknown venue 'NYSE'" in detail(order(instrument_key="NYSE:PERPETUAL:BTC-USDT@LIN"))


def test_several_bad_fields_are_all_listed(client: TestClient) -> None:
    response = post(client, order(quantity="0", side="HOLD", strategy_id=""))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"quantity", "side", "strategy_id"}


def test_malformed_json_is_400(client: TestClient, service: FakeOrderService) -> None:
    response = client.post(
        "/api/orders",
        content=b'{"operation_id": "OP-1",\n "quantity": }',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("body: malformed JSON") and "line 2" in detail
    assert service.calls == []


@pytest.mark.parametrize(
    ("content", "headers", "status", "needle"),
    [
        (b"", {"Content-Type": "application/json"}, 422, "body: a JSON object is required"),
        (json.dumps(ORDER_EXAMPLE).encode(), {}, 415, "Content-Type: application/json"),
        (b"quantity=1", {"Content-Type": "text/plain"}, 415, "must be a JSON object"),
        (b"null", {"Content-Type": "application/json"}, 422, "body:"),
        (b'"order"', {"Content-Type": "application/json"}, 422, "body: must be a JSON object"),
    ],
)
def test_bodies_that_are_not_orders(
    client: TestClient,
    service: FakeOrderService,
    content: bytes,
    headers: dict[str, str],
    status: int,
    needle: str,
) -> None:
    response = client.post("/api/orders", content=content, headers={**AUTH, **headers})
    assert response.status_code == status, response.text
    assert needle in response.json()["detail"]
    assert service.calls == []


def test_oversized_body_is_413(client: TestClient, service: FakeOrderService) -> None:
    body = order(strategy_id="s" * (MAX_BODY_BYTES + 10))
    response = post(client, body)
    assert response.status_code == 413
    assert service.calls == []


def test_unlisted_instrument_is_422_with_a_reference(service: FakeOrderService) -> None:
    app = create_app(service, token=TOKEN, instruments=load_reference())
    with TestClient(app) as client:
        for key in ("BYBIT:PERPETUAL:DOGE-USDT@LIN", "ANY:PERPETUAL:DOGE-USDT@LIN"):
            response = post(client, order(instrument_key=key))
            assert response.status_code == 422, response.text
            assert response.json()["detail"].startswith("instrument_key: ")
            assert "DOGE" in response.json()["detail"]
        assert submits(service) == []
        ok = post(client, order(instrument_key="ANY:PERPETUAL:BTC-USDT@LIN"))
        assert ok.status_code == 201, ok.text


# --- authentication ------------------------------------------------------------------------

PROTECTED = [
    ("POST", "/api/orders"),
    ("GET", "/api/orders"),
    ("GET", "/api/orders/OP-1"),
    ("DELETE", "/api/orders/OP-1"),
    ("GET", "/api/positions"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
    ids=["missing", "wrong", "not-bearer", "empty", "prefix-only"],
)
def test_token_required(
    client: TestClient,
    service: FakeOrderService,
    method: str,
    path: str,
    headers: dict[str, str],
) -> None:
    response = client.request(method, path, headers=headers, json=order())
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in response.json()["detail"] or "Authorization" in response.json()["detail"]
    assert service.calls == []


def test_token_checked_before_the_body(client: TestClient, service: FakeOrderService) -> None:
    response = client.post(
        "/api/orders", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert service.calls == []


def test_empty_token_is_refused(service: FakeOrderService) -> None:
    with pytest.raises(ValueError, match="token"):
        create_app(service, token="  ")


# --- the service failing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "needle"),
    [
        (ServiceUnavailable("the daemon is starting"), 503, "the daemon is starting"),
        (RuntimeError("boom"), 500, "internal error in submit: RuntimeError: boom"),
        # the database down is not a server error: nothing was recorded, retry later
        (ConnectionRefusedError(111, "Connection refused"), 503, "OMS database is unreachable"),
        (
            asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
            503,
            "nothing was recorded",
        ),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), 503, "unreachable"),
        (AlgorithmParamsError("TWAP: quantity: below one lot"), 422, "exec_algorithm_params:"),
    ],
)
def test_service_errors(
    client: TestClient, service: FakeOrderService, error: Exception, status: int, needle: str
) -> None:
    service.raise_on["submit"] = error
    response = post(client, order())
    assert response.status_code == status
    assert needle in response.json()["detail"]
    if status == 503:
        assert response.headers["Retry-After"] == "1"


# --- health and metrics need no token -----------------------------------------------------


@pytest.mark.parametrize("path", ["/api/health", "/api/live/health"])
def test_health_without_token(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["venues"] == {"BYBIT": "connected", "OKX": "connected"}
    assert isinstance(body["version"], str) and body["uptime_s"] >= 0


def test_health_reports_failures_as_503(client: TestClient, service: FakeOrderService) -> None:
    service.health_data = {"status": "degraded", "database": "ok", "venues": {"OKX": "down"}}
    assert client.get("/api/health").status_code == 200
    service.raise_on["health"] = RuntimeError("pool closed")
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "pool closed" in response.json()["error"]


def test_metrics_without_token(client: TestClient, metrics: Metrics) -> None:
    metrics.order_submitted("momentum-btc-v1")
    metrics.order_accepted("BYBIT:PERPETUAL:BTC-USDT@LIN")
    metrics.order_rejected("order-size")
    metrics.fill("BYBIT:PERPETUAL:BTC-USDT@LIN")
    metrics.venue_chosen("BYBIT:PERPETUAL:BTC-USDT@LIN")
    metrics.observe_ack(0.0042)
    metrics.set_exposure("PERPETUAL:BTC-USDT@LIN", -16250.5)
    metrics.error("venue_event")
    client.get("/api/orders/OP-x", headers=AUTH)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        "exec_orders_submitted_total",
        "exec_orders_accepted_total",
        "exec_orders_rejected_total",
        "exec_fills_total",
        "exec_submit_ack_latency_seconds_bucket",
        "exec_venue_chosen_total",
        "exec_exposure",
        "exec_errors_total",
        "exec_http_requests_total",
    ):
        assert name in text, name
    # one namespace: every series the daemon exports is exec_*
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all(line.startswith("exec_") for line in samples), samples
    assert 'exec_orders_submitted_total{strategy="momentum-btc-v1"} 1.0' in text
    assert 'exec_orders_rejected_total{reason="ORDER_SIZE"} 1.0' in text
    assert 'exec_submit_ack_latency_seconds_bucket{le="0.0005"} 0.0' in text
    assert 'exec_submit_ack_latency_seconds_bucket{le="0.005"} 1.0' in text
    assert 'exec_exposure{instrument="PERPETUAL:BTC-USDT@LIN"} -16250.5' in text
    assert (
        'exec_http_requests_total{method="GET",route="/api/orders/{operation_id}",status="404"} 1.0'
        in text
    )


def test_metrics_lifespan_may_replace_the_registry(service: FakeOrderService) -> None:
    app = create_app(service, token=TOKEN)
    replacement = Metrics()
    replacement.order_submitted("only-here")
    app.state.metrics = replacement
    with TestClient(app) as client:
        assert 'strategy="only-here"' in client.get("/metrics").text


def test_metrics_registries_are_separate_and_labels_bounded() -> None:
    a, b = Metrics(), Metrics()
    a.order_submitted("s")
    assert b'strategy="s"' not in b.render()
    for i in range(MAX_LABEL_VALUES + 20):
        a.order_rejected(f"code{i}")
    assert a.render().count(b"exec_orders_rejected_total{") == 50 + 1  # 50 codes, then "other"
    a.order_rejected('evil"} 1\nfake_metric 2')
    assert b"fake_metric 2" not in a.render()


# --- logs ----------------------------------------------------------------------------------


def test_request_log_line(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="live_daemon.api"):
        post(client, order())
        client.get("/api/health")
    lines = [r.getMessage() for r in caplog.records if r.name == "live_daemon.api"]
    assert any(
        line.startswith("http_request method=POST path=/api/orders status=201 duration_ms=")
        for line in lines
    ), lines
    health = [r for r in caplog.records if "path=/api/health" in r.getMessage()]
    assert health and health[0].levelno == logging.DEBUG


def test_configure_logging_key_value_and_json() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("debug", stream=stream)
        log = logging.getLogger("live_daemon.test")
        log.info("order_routed venue=%s score=%.1f", "BYBIT", 1.25)
        log.warning("free text with spaces", extra={"order_id": "O-1", "reason": "a b"})
        try:
            raise ValueError("bad\nthing")
        except ValueError:
            log.exception("failed")
        lines = stream.getvalue().splitlines()
        assert len(lines) == 3  # the traceback stays on its record's line
        assert lines[0].startswith("ts=") and " level=info logger=live_daemon.test " in lines[0]
        assert lines[0].endswith("event=order_routed venue=BYBIT score=1.2")
        assert lines[1].endswith('msg="free text with spaces" order_id=O-1 reason="a b"')
        assert "event=failed exc=" in lines[2] and "ValueError: bad\\nthing" in lines[2]

        stream.seek(0)
        stream.truncate()
        configure_logging(logging.INFO, fmt="json", stream=stream)
        log.debug("hidden")
        log.info("hello", extra={"n": 3})
        (line,) = stream.getvalue().splitlines()
        record = json.loads(line)
        assert record["msg"] == "hello" and record["n"] == 3 and record["level"] == "info"
        with pytest.raises(ValueError, match="log level"):
            configure_logging("LOUD", stream=stream)
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


# --- documentation ---------------------------------------------------------------------------


def test_openapi_documents_the_contract(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    order_in = schema["components"]["schemas"]["OrderIn"]
    assert order_in["additionalProperties"] is False
    assert order_in["properties"]["quantity"]["type"] == "string"
    assert order_in["examples"][0]["operation_id"] == "OP-12345"
    post_op = schema["paths"]["/api/orders"]["post"]
    assert {"200", "201", "401", "409", "422"} <= set(post_op["responses"])
    scheme = schema["components"]["securitySchemes"]["BearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            needs_token = path.startswith("/api/") and "health" not in path
            expected = [{"BearerToken": []}] if needs_token else None
            assert operation.get("security") == expected, (method, path)
    out = schema["components"]["schemas"]["OrderOut"]["properties"]
    assert out["quantity"]["type"] == "string"


def test_model_round_trip_and_decimal_text() -> None:
    parsed = OrderIn.model_validate(order(quantity="1e3"))
    request = parsed.to_request()
    assert request.quantity == 1000 and request.exec_algorithm == "TWAP"
    assert decimal_text(request.quantity) == "1000"
    assert decimal_text(parsed.quantity * 0) == "0"
    assert decimal_text(OrderIn.model_validate(order(quantity="0.10")).quantity) == "0.1"
