"""The JSON-RPC layer and the error codes, against Deribit's documented examples."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from live_daemon.venues.deribit import errors as e
from live_daemon.venues.deribit import protocol as p

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "deribit"


def raw(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_documented_request_parses_as_a_request() -> None:
    frame = p.parse_frame(raw("get_instruments_request.json"))
    assert isinstance(frame, p.Request)
    assert (frame.id, frame.method) == (42, "public/get_instruments")
    assert frame.params == {"currency": "BTC", "kind": "future"}


def test_request_round_trips_to_the_documented_shape() -> None:
    documented = json.loads(raw("get_instruments_request.json"))
    built = p.request(42, "public/get_instruments", {"currency": "BTC", "kind": "future"})
    assert json.loads(p.dumps(built)) == documented


def test_documented_reply_parses_with_id_and_keeps_unmodelled_members() -> None:
    frame = p.parse_frame(raw("public_auth_response.json"))
    assert isinstance(frame, p.Response)
    assert frame.id == 9929
    assert frame.result["token_type"] == "bearer"
    assert frame.us_in is None


def test_documented_error_reply_becomes_a_deribit_error_naming_the_code() -> None:
    frame = p.parse_frame(raw("error_response.json"))
    assert isinstance(frame, p.ErrorResponse)
    assert (frame.id, frame.us_in, frame.us_out, frame.us_diff) == (
        42,
        1704153600000000,
        1704153600001234,
        1234,
    )
    exc = frame.exception()
    assert exc.code == 13009 and exc.name == "unauthorized"
    assert exc.needs_reauth and not exc.retryable and not exc.closes_session
    assert "13009 unauthorized: invalid_token" in str(exc)
    assert "token has expired" in str(exc)
    # the timing members keep Deribit's names on the way out
    out = json.loads(p.dumps(frame))
    assert out == json.loads(raw("error_response.json"))


def test_documented_notification_parses_and_keeps_decimals() -> None:
    frame = p.parse_frame(raw("subscription_notification.json"))
    assert isinstance(frame, p.Notification)
    assert frame.params.channel == "deribit_price_index.btc_usd"
    assert frame.params.data["price"] == Decimal("6521.17")
    assert isinstance(frame.params.data["price"], Decimal)


@pytest.mark.parametrize("kind", ["test_request", "heartbeat"])
def test_heartbeat_notifications(kind: str) -> None:
    frame = p.parse_frame({"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": kind}})
    assert isinstance(frame, p.Heartbeat)
    assert frame.params.type == kind


def test_loads_keeps_one_tenth_exact() -> None:
    assert p.loads('{"price": 0.1}')["price"] == Decimal("0.1")


def test_dumps_writes_decimals_as_json_numbers() -> None:
    text = p.dumps({"price": Decimal("0.1"), "amount": Decimal("10")})
    assert text == '{"price":0.1,"amount":10}'


def test_dumps_refuses_a_decimal_a_double_cannot_carry() -> None:
    with pytest.raises(ValueError, match="without loss"):
        p.dumps({"price": Decimal("0.12345678901234567890123")})


MALFORMED: list[tuple[Any, str]] = [
    ("not json", "not JSON"),
    ("[1, 2]", "batch"),
    ("42", "JSON object"),
    ({"method": "public/test", "id": 1}, "jsonrpc must be '2.0'"),
    ({"jsonrpc": "1.0", "id": 1, "result": {}}, "jsonrpc must be '2.0'"),
    ({"jsonrpc": "2.0", "method": "private/buy", "params": {}}, "has no id"),
    ({"jsonrpc": "2.0", "id": 1, "method": "private/buy", "params": [1, 2]}, "named params"),
    ({"jsonrpc": "2.0", "id": 1, "method": "", "params": {}}, "method"),
    ({"jsonrpc": "2.0", "result": {}}, "no id"),
    ({"jsonrpc": "2.0", "id": 1, "result": 1, "error": {}}, "both result and error"),
    ({"jsonrpc": "2.0", "id": 1, "error": {"message": "x"}}, "error.code"),
    ({"jsonrpc": "2.0", "method": "subscription", "params": {"data": 1}}, "params.channel"),
    ({"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "x"}}, "params.type"),
    ({"jsonrpc": "2.0", "id": 1}, "neither method, result nor error"),
]


@pytest.mark.parametrize(("frame", "complaint"), MALFORMED)
def test_malformed_frames_are_rejected_naming_the_fault(frame: Any, complaint: str) -> None:
    with pytest.raises(p.ProtocolError, match=complaint):
        p.parse_frame(frame)


NAMED = {
    10004: "order_not_found",
    10009: "not_enough_funds",
    10028: "too_many_requests",
    10040: "retry",
    10043: "price_wrong_tick",
    11029: "invalid_arguments",
    11054: "post_only_reject",
    13004: "invalid_credentials",
    13009: "unauthorized",
}


@pytest.mark.parametrize(("code", "name"), sorted(NAMED.items()))
def test_error_codes_carry_deribits_names(code: int, name: str) -> None:
    assert e.DeribitErrorCode(code).name == name
    assert e.error_name(code) == name


def test_error_classification() -> None:
    assert {c for c in NAMED if e.is_retryable(c)} == {10028, 10040}
    assert {c for c in NAMED if e.closes_session(c)} == {10028}
    assert {c for c in NAMED if e.needs_reauth(c)} == {13009}


def test_unknown_code_still_becomes_a_clear_error() -> None:
    exc = e.DeribitError(99999, "something")
    assert exc.name == "unknown" and not exc.retryable
    assert str(exc) == "Deribit error 99999 unknown: something"
