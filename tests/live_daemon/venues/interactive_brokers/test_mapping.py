"""Canonical ids → IB contracts and our orders → IB orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ib_async import Contract

from execution_core.errors import InvalidInstrumentIdError
from live_daemon.operations import Operation, OrderTerms, TimeInForce
from live_daemon.venues.gateway import VenueOrder
from live_daemon.venues.interactive_brokers.config import IBAdapterConfig, IBInstrument
from live_daemon.venues.interactive_brokers.contracts import (
    ContractMap,
    key_from_contract,
    to_contract,
)
from live_daemon.venues.interactive_brokers.orders import IBOrderError, order_status, to_ib_order


@pytest.mark.parametrize(
    ("instrument", "fields"),
    [
        (IBInstrument(key="IB:SPOT_PAIR:AAPL-USD", primary_exchange="NASDAQ"),
         ("STK", "AAPL", "", 0.0, "", "USD", "SMART", "NASDAQ")),
        (IBInstrument(key="IB:SPOT_PAIR:BRK.B-USD"),
         ("STK", "BRK B", "", 0.0, "", "USD", "SMART", "")),
        (IBInstrument(key="IB:FUTURE:ES-USD-20250321", exchange="CME", multiplier="50"),
         ("FUT", "ES", "20250321", 0.0, "", "USD", "CME", "")),
        (IBInstrument(key="IB:OPTION:AAPL-USD-150.5-20250117-C", multiplier="100"),
         ("OPT", "AAPL", "20250117", 150.5, "C", "USD", "SMART", "")),
        (IBInstrument(key="IB:OPTION:ES-USD-6000-20250321-P", exchange="CME",
                      option_sec_type="FOP"),
         ("FOP", "ES", "20250321", 6000.0, "P", "USD", "CME", "")),
    ],
)  # fmt: skip
def test_canonical_ids_map_to_contracts_and_back(
    instrument: IBInstrument, fields: tuple[object, ...]
) -> None:
    c = to_contract(instrument)
    got = (c.secType, c.symbol, c.lastTradeDateOrContractMonth, c.strike, c.right, c.currency,
           c.exchange, c.primaryExchange)  # fmt: skip
    assert got == fields
    assert key_from_contract(c) == instrument.key
    # as IB reports it back: a conId, a localSymbol, the strike as text
    reported = Contract(
        **{**vars(c), "conId": 42, "localSymbol": "X", "exchange": "", "strike": str(c.strike)}
    )
    assert ContractMap([instrument]).key_for(reported) == instrument.key


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("IB:PERPETUAL:BTC-USD", "not traded at IB"),
        ("IB:SPOT_PAIR:AAPL-USD@LIN", "suffix"),
    ],
)
def test_ids_ib_has_no_contract_for_are_refused_by_name(key: str, problem: str) -> None:
    with pytest.raises(InvalidInstrumentIdError, match=problem) as err:
        to_contract(IBInstrument(key=key))
    assert key in str(err.value)


def test_config_refuses_other_venues_and_duplicates() -> None:
    with pytest.raises(ValueError, match="venue must be IB"):
        IBInstrument(key="OKX:SPOT_PAIR:BTC-USDT")
    with pytest.raises(ValueError, match="duplicate keys"):
        IBAdapterConfig(instruments=[IBInstrument(key="IB:SPOT_PAIR:A-USD")] * 2)
    with pytest.raises(InvalidInstrumentIdError, match="not configured"):
        ContractMap([]).contract("IB:SPOT_PAIR:AAPL-USD")


def _order(**kw: object) -> VenueOrder:
    base: dict[str, object] = {
        "order_id": "ord-1",
        "venue_key": "IB:SPOT_PAIR:AAPL-USD",
        "side": "BUY",
        "quantity": Decimal("10"),
        "order_type": "LIMIT",
        "price": Decimal("189.25"),
    }
    return VenueOrder(**{**base, **kw})  # type: ignore[arg-type]


def test_orders_map_to_ib_orders_with_our_id_as_order_ref() -> None:
    o = to_ib_order(_order(), account="DU1")
    assert (o.action, o.orderType, o.totalQuantity, o.lmtPrice, o.tif, o.orderRef, o.account) == (
        "BUY", "LMT", 10.0, 189.25, "GTC", "ord-1", "DU1",
    )  # fmt: skip
    m = to_ib_order(
        _order(
            side="SELL",
            order_type="MARKET",
            price=None,
            terms=OrderTerms(time_in_force=TimeInForce.IOC),
        )
    )
    assert (m.action, m.orderType, m.tif, m.orderRef) == ("SELL", "MKT", "IOC", "ord-1")


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"side": "HOLD"}, "side"),
        ({"order_type": "STOP"}, "order_type"),
        ({"quantity": Decimal(0)}, "quantity"),
        ({"quantity": Decimal("0.12345678901234567890")}, "quantity"),
        ({"price": None}, "price"),
        ({"order_type": "MARKET"}, "price"),
        ({"terms": OrderTerms(operation=Operation.STAKE)}, "operation"),
    ],
)
def test_bad_orders_are_refused_naming_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(IBOrderError, match=field):
        to_ib_order(_order(**kw))


def test_ib_statuses_map_to_ours() -> None:
    assert order_status("PendingSubmit", Decimal(0)) == "SUBMITTED"
    assert order_status("Submitted", Decimal(0)) == "ACCEPTED"
    assert order_status("Submitted", Decimal(2)) == "PARTIALLY_FILLED"
    assert order_status("Filled", Decimal(2)) == "FILLED"
    assert order_status("Cancelled", Decimal(0)) == "CANCELED"
    assert order_status("Inactive", Decimal(0)) == "REJECTED"
