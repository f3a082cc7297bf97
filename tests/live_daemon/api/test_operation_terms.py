"""The operation of an order and its fields over the API: each operation's rules answer a
422 naming the field (and never reach the service); valid ones reach it and come back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from execution_core.orders import OrderType, Side
from live_daemon.api.app import create_app
from live_daemon.api.models import ORDER_EXAMPLE
from live_daemon.domain import OrderRequest
from live_daemon.metrics import Metrics
from live_daemon.operations import Operation, OrderTerms, TimeInForce
from tests.live_daemon.api.fakes import TOKEN, FakeOrderService

AUTH = {"Authorization": f"Bearer {TOKEN}"}
BET = {"operation": "bet", "odds": "2.5", "selection": "HOME"}
TRANSFER = {"operation": "transfer", "source_venue": "BINANCE", "target_venue": "OKX"}
SWAP = {"operation": "swap", "source_token": "USDC", "target_token": "ETH"}


@pytest.fixture
def service() -> FakeOrderService:
    return FakeOrderService()


@pytest.fixture
def client(service: FakeOrderService) -> Iterator[TestClient]:
    with TestClient(create_app(service, token=TOKEN, metrics=Metrics())) as c:
        yield c


def order(**changes: Any) -> dict[str, Any]:
    return {**ORDER_EXAMPLE, "exec_algorithm": "NORMAL", "exec_algorithm_params": {}, **changes}


def post(client: TestClient, body: Any) -> Any:
    """POST ``body`` as ASCII JSON (escapes as a client would send them)."""
    headers = {**AUTH, "Content-Type": "application/json"}
    return client.post("/api/orders", content=json.dumps(body), headers=headers)


def submitted(service: FakeOrderService) -> list[Any]:
    return [arg for name, arg in service.calls if name == "submit"]


BAD = [
    ("bet without odds", order(operation="bet", selection="HOME"), "odds", "required for a 'bet'"),
    ("bet without selection", order(operation="bet", odds="2.5"), "selection", "required"),
    ("bet at odds 1", order(**{**BET, "odds": "1"}), "odds", "odds > 1"),
    ("bet odds as number", order(**{**BET, "odds": 2.5}), "odds", "decimal string"),
    ("trade with odds", order(odds="2.5"), "odds", "only for 'bet' orders, not 'trade'"),
    ("trade with selection", order(selection="HOME"), "selection", "only for 'bet'"),
    ("transfer without target", order(operation="transfer", source_venue="OKX"), "target_venue",
     "required for a 'transfer'"),
    ("transfer to itself", order(**{**TRANSFER, "target_venue": "BINANCE"}), "target_venue",
     "must differ from source_venue"),
    ("trade with a venue", order(target_venue="OKX"), "target_venue", "only for 'transfer'"),
    ("swap without tokens", order(operation="swap"), "source_token", "required for a 'swap'"),
    ("swap to the same token", order(**{**SWAP, "target_token": "USDC"}), "target_token",
     "must differ"),
    ("trade with slippage", order(max_slippage="0.01"), "max_slippage", "only for"),
    ("slippage of 1", order(**{**SWAP, "max_slippage": "1"}), "max_slippage", "(0, 1)"),
    ("slippage of 0", order(**{**SWAP, "max_slippage": "0"}), "max_slippage", "> 0"),
    ("bet with a contract", order(**BET, contract_address="0xabc"), "contract_address",
     "only for"),
    ("unknown operation", order(operation="lend"), "operation", "trade"),
    ("unknown time in force", order(time_in_force="GTD"), "time_in_force", "GTC"),
    ("group without sequence", order(atomic_group_id="G-1"), "sequence_in_group", "required"),
    ("sequence without group", order(sequence_in_group=0), "sequence_in_group", "atomic group"),
    ("negative sequence", order(atomic_group_id="G-1", sequence_in_group=-1),
     "sequence_in_group", "greater than or equal to 0"),
    ("control char selection", order(**{**BET, "selection": "a\x00b"}), "selection", "control"),
    ("delta not decimal", order(expected_deltas={"BTC": "lots"}), "expected_deltas",
     "signed decimal"),
    ("metadata too big", order(metadata={"x": "y" * 5000}), "metadata", "at most 4096"),
    ("metadata with a lone surrogate", order(metadata={"x": "\ud800"}), "metadata",
     "valid Unicode"),
    ("selection with a lone surrogate", order(**{**BET, "selection": "\udc00"}), "selection",
     "valid string"),
    ("metadata with NUL", order(metadata={"x": "\x00"}), "metadata", "NUL"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "field", "message"), BAD, ids=[c[0] for c in BAD])
def test_operation_rules_are_422_naming_the_field(
    client: TestClient, service: FakeOrderService, case: str, body: Any, field: str, message: str
) -> None:
    response = post(client, body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["errors"][0]["field"] == field, error
    assert error["detail"].startswith(f"{field}: ") and message in error["detail"], error
    assert submitted(service) == []


GOOD = [
    ("bet", order(**BET), OrderTerms(Operation.BET, odds=Decimal("2.5"), selection="HOME")),
    ("transfer", order(**TRANSFER),
     OrderTerms(Operation.TRANSFER, source_venue="BINANCE", target_venue="OKX")),
    ("swap", order(**SWAP, max_slippage="0.005", contract_address="0xabc"),
     OrderTerms(Operation.SWAP, source_token="USDC", target_token="ETH",
                max_slippage=Decimal("0.005"), contract_address="0xabc")),
    ("stake", order(operation="stake", source_token="ETH"),
     OrderTerms(Operation.STAKE, source_token="ETH")),
    ("grouped IOC trade", order(time_in_force="IOC", atomic_group_id="G-1", sequence_in_group=1,
                                expected_deltas={"BTC": "1", "USDT": "-65000.5"},
                                metadata={"note": "leg 2", "n": [1, 2]}),
     OrderTerms(time_in_force=TimeInForce.IOC, atomic_group_id="G-1", sequence_in_group=1,
                expected_deltas={"BTC": "1", "USDT": "-65000.5"},
                metadata={"note": "leg 2", "n": [1, 2]})),
    ("nulls mean a plain trade", order(operation=None, time_in_force=None, metadata=None),
     OrderTerms()),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "terms"), GOOD, ids=[c[0] for c in GOOD])
def test_valid_operations_reach_the_service_and_come_back(
    client: TestClient, service: FakeOrderService, case: str, body: Any, terms: OrderTerms
) -> None:
    response = post(client, body)
    assert response.status_code == 201, response.text
    [request] = submitted(service)
    assert request.terms == terms
    shown = response.json()
    assert shown["operation"] == terms.operation.value
    assert shown["time_in_force"] == terms.time_in_force.value
    assert shown["odds"] == (None if terms.odds is None else str(terms.odds))
    assert shown["metadata"] == terms.metadata
    assert shown["venue_type"] is None and shown["tx_hash"] is None


def test_a_plain_trade_keeps_its_payload_hash() -> None:
    """Orders recorded before operations existed replay without a conflict: a plain GTC
    trade hashes as it did; any term changes the hash."""
    plain = OrderRequest(
        operation_id="OP-1",
        instrument_key="BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
        side=Side.BUY,
        quantity=Decimal("1.0"),
        order_type=OrderType.MARKET,
        strategy_id="s1",
    )
    assert plain.payload_hash() == _hash_before_operations(plain)
    bet = replace(plain, terms=OrderTerms(Operation.BET, odds=Decimal(2), selection="X"))
    assert bet.payload_hash() != plain.payload_hash()
    ioc = replace(plain, terms=OrderTerms(time_in_force=TimeInForce.IOC))
    assert ioc.payload_hash() != plain.payload_hash()


def _hash_before_operations(request: OrderRequest) -> str:
    """``OrderRequest.payload_hash`` as it was before operations (0003)."""
    body = {
        "operation_id": request.operation_id,
        "instrument_key": request.instrument_key,
        "side": request.side,
        "quantity": str(request.quantity.normalize()),
        "order_type": request.order_type,
        "strategy_id": request.strategy_id,
        "price": None,
        "exec_algorithm": request.exec_algorithm,
        "exec_algorithm_params": request.exec_algorithm_params,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
