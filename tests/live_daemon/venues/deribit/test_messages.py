"""Deribit's messages and request builders, against Deribit's documented examples."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from live_daemon.venues.deribit import messages as m
from live_daemon.venues.deribit import protocol as p

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "deribit"


def fixture(name: str) -> Any:
    return p.loads((FIXTURES / name).read_text())


def result_of(name: str) -> Any:
    frame = p.parse_frame((FIXTURES / name).read_text())
    assert isinstance(frame, p.Response)
    return frame.result


def assert_same_on_modelled_fields(wire: dict[str, Any], documented: dict[str, Any]) -> None:
    for key, value in wire.items():
        assert key in documented, f"{key} is not a Deribit field"
        if isinstance(value, dict):
            assert_same_on_modelled_fields(value, documented[key])
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for ours, theirs in zip(value, documented[key], strict=True):
                assert_same_on_modelled_fields(ours, theirs)
        else:
            assert value == documented[key], key


def test_documented_sell_result_parses_and_round_trips() -> None:
    documented = result_of("private_sell_response.json")
    parsed = m.OrderResult.model_validate(documented)
    order, (trade,) = parsed.order, parsed.trades
    assert order.order_state is m.OrderState.filled
    assert order.direction is m.Direction.sell
    assert order.time_in_force is m.TimeInForce.good_til_cancelled
    assert (order.amount, order.filled_amount) == (Decimal(21), Decimal(21))
    assert order.average_price == Decimal("202.8") and order.label == ""
    assert trade.liquidity is m.Liquidity.taker
    assert trade.fee == Decimal("0.00007766") and trade.fee_currency == "ETH"
    assert trade.order_id == order.order_id == "ETH-584864807"
    wire = parsed.wire()
    assert set(wire["order"]) >= {
        "order_id",
        "order_state",
        "amount",
        "filled_amount",
        "average_price",
        "label",
        "direction",
        "creation_timestamp",
        "last_update_timestamp",
    }
    assert_same_on_modelled_fields(wire, documented)
    # and through the wire text: the numbers come out as Deribit wrote them
    assert_same_on_modelled_fields(
        json.loads(p.dumps(wire)),
        json.loads((FIXTURES / "private_sell_response.json").read_text())["result"],
    )


def test_documented_auth_result_parses_and_round_trips() -> None:
    documented = result_of("public_auth_response.json")
    auth = m.AuthResult.model_validate(documented)
    assert auth.expires_in == 31536000 and auth.scope == "connection mainaccount"
    assert_same_on_modelled_fields(auth.wire(), documented)


def test_auth_builder_gives_the_documented_request() -> None:
    documented = fixture("public_auth_request.json")
    built = m.auth_client_credentials(
        9929, documented["params"]["client_id"], documented["params"]["client_secret"]
    )
    assert json.loads(p.dumps(built)) == json.loads(
        (FIXTURES / "public_auth_request.json").read_text()
    )


def test_sell_builder_gives_the_documented_params_we_model() -> None:
    documented = fixture("private_sell_request.json")
    assert isinstance(p.parse_frame(documented), p.Request)
    params = m.OrderParams(
        instrument_name="ETH-PERPETUAL",
        amount=Decimal(123),
        type=m.OrderType.stop_limit,
        price=Decimal("145.61"),
    )
    built = json.loads(p.dumps(m.sell(2148, params)))
    expected = json.loads((FIXTURES / "private_sell_request.json").read_text())
    # trigger orders (trigger, trigger_price) are not modelled yet
    for key in ("trigger", "trigger_price"):
        del expected["params"][key]
    assert built == expected


def test_subscribe_builder_takes_the_documented_channels() -> None:
    documented = fixture("public_subscribe_request.json")
    built = m.subscribe(1, documented["params"]["channels"])
    assert built.method == "private/subscribe"
    assert built.params == documented["params"]


def test_buy_builder_with_all_order_params() -> None:
    params = m.OrderParams(
        instrument_name="BTC-PERPETUAL",
        amount=Decimal(10),
        type=m.OrderType.limit,
        price=Decimal("0.1"),
        label="ord-1",
        time_in_force=m.TimeInForce.good_til_cancelled,
        post_only=True,
        reduce_only=False,
    )
    assert json.loads(p.dumps(m.buy(7, params))) == {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "private/buy",
        "params": {
            "instrument_name": "BTC-PERPETUAL",
            "amount": 10,
            "type": "limit",
            "price": 0.1,
            "label": "ord-1",
            "time_in_force": "good_til_cancelled",
            "post_only": True,
            "reduce_only": False,
        },
    }


def test_other_request_builders() -> None:
    assert m.cancel(1, "ETH-1").params == {"order_id": "ETH-1"}
    assert m.get_order_state(2, "ETH-1").method == "private/get_order_state"
    assert m.get_open_orders_by_instrument(3, "BTC-PERPETUAL").params == {
        "instrument_name": "BTC-PERPETUAL"
    }
    trades = m.get_user_trades_by_instrument(4, "BTC-PERPETUAL", start_seq=5, count=100)
    assert (trades.method, trades.params["start_seq"]) == (
        "private/get_user_trades_by_instrument",
        5,
    )
    assert m.get_positions(5, "BTC", "future").params == {"currency": "BTC", "kind": "future"}
    assert m.auth_refresh(6, "rt").params == {"grant_type": "refresh_token", "refresh_token": "rt"}
    assert m.set_heartbeat(7, 10).params == {"interval": 10}
    assert m.public_test(8).method == "public/test"


def test_channel_names() -> None:
    assert m.user_orders_channel("BTC-PERPETUAL") == "user.orders.BTC-PERPETUAL.raw"
    assert m.user_trades_channel("BTC-PERPETUAL") == "user.trades.BTC-PERPETUAL.raw"
    assert m.book_channel("BTC-PERPETUAL") == "book.BTC-PERPETUAL.100ms"
    assert m.ticker_channel("BTC-PERPETUAL") == "ticker.BTC-PERPETUAL.100ms"


def test_book_levels_keep_action_price_amount() -> None:
    # not a documented example (none sourced): the level format described by Deribit
    update = m.BookUpdate.model_validate(
        p.loads(
            '{"instrument_name": "BTC-PERPETUAL", "timestamp": 1, "change_id": 2,'
            ' "bids": [["new", 0.1, 10]], "asks": [["delete", 0.2, 0]]}'
        )
    )
    assert update.is_snapshot
    assert update.bids == [(m.BookAction.new, Decimal("0.1"), Decimal(10))]


def test_label_over_64_characters_is_rejected_naming_the_rule() -> None:
    with pytest.raises(ValidationError, match="label is 65 characters; Deribit allows at most 64"):
        m.OrderParams(instrument_name="BTC-PERPETUAL", amount=Decimal(10), label="x" * 65)
    m.OrderParams(instrument_name="BTC-PERPETUAL", amount=Decimal(10), label="x" * 64)


def test_unknown_order_state_is_rejected() -> None:
    order = dict(result_of("private_sell_response.json")["order"], order_state="half_done")
    with pytest.raises(ValidationError, match="order_state"):
        m.Order.model_validate(order)


def test_bad_order_params_are_rejected() -> None:
    with pytest.raises(ValidationError, match="amount"):
        m.OrderParams(instrument_name="BTC-PERPETUAL", amount=Decimal(0))
    with pytest.raises(ValidationError, match="trigger"):
        m.OrderParams.model_validate(
            {"instrument_name": "BTC-PERPETUAL", "amount": 1, "trigger": "last_price"}
        )
    with pytest.raises(ValueError, match="at least 10"):
        m.set_heartbeat(1, 5)
