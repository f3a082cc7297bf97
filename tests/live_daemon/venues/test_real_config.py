"""Config of the real Binance/Bybit/OKX clients. Nothing here connects to anything."""

from __future__ import annotations

import asyncio

import pytest
from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.adapters.binance.config import BinanceDataClientConfig, BinanceExecClientConfig
from nautilus_trader.adapters.bybit.common.enums import BybitProductType
from nautilus_trader.adapters.bybit.config import BybitDataClientConfig, BybitExecClientConfig
from nautilus_trader.adapters.okx.config import OKXDataClientConfig, OKXExecClientConfig
from nautilus_trader.core.nautilus_pyo3 import OKXInstrumentType, OKXMarginMode
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Venue

from execution_core.errors import ConfigError
from live_daemon.venues.nautilus.config import (
    LIVE_VENUES,
    build_live_node_config,
    live_instrument_id,
)
from live_daemon.venues.nautilus.factories import add_live_factories, node_in_loop

ALL = ["BINANCE-SPOT", "BINANCE-FUTURES", "BYBIT", "OKX"]
ENV = {
    "BINANCE_API_KEY": "bn-key",
    "BINANCE_API_SECRET": "bn-secret",
    "BYBIT_API_KEY": "by-key",
    "BYBIT_API_SECRET": "by-secret",
    "OKX_API_KEY": "okx-key",
    "OKX_API_SECRET": "okx-secret",
    "OKX_API_PASSPHRASE": "okx-pass",
}


def test_all_venues_get_data_and_exec_clients() -> None:
    config = build_live_node_config(ALL, ENV, trader_id="LIVE-007", log_level="ERROR")
    assert str(config.trader_id) == "LIVE-007"
    assert config.exec_engine.reconciliation is True
    names = ["BINANCE_SPOT", "BINANCE_FUTURES", "BYBIT", "OKX"]
    assert list(config.data_clients) == names and list(config.exec_clients) == names

    spot_data, spot_exec = config.data_clients["BINANCE_SPOT"], config.exec_clients["BINANCE_SPOT"]
    assert isinstance(spot_data, BinanceDataClientConfig)
    assert isinstance(spot_exec, BinanceExecClientConfig)
    for client in (spot_data, spot_exec):
        assert client.account_type is BinanceAccountType.SPOT
        assert (client.api_key, client.api_secret) == ("bn-key", "bn-secret")
        assert client.testnet is False and client.venue == Venue("BINANCE_SPOT")
        assert client.instrument_provider.load_all is True
    futures = config.exec_clients["BINANCE_FUTURES"]
    assert isinstance(futures, BinanceExecClientConfig)
    assert futures.account_type is BinanceAccountType.USDT_FUTURES
    assert futures.venue == Venue("BINANCE")
    assert config.data_clients["BINANCE_FUTURES"].account_type is BinanceAccountType.USDT_FUTURES

    bybit = config.exec_clients["BYBIT"]
    assert isinstance(bybit, BybitExecClientConfig)
    assert isinstance(config.data_clients["BYBIT"], BybitDataClientConfig)
    assert (bybit.api_key, bybit.api_secret, bybit.testnet) == ("by-key", "by-secret", False)
    assert bybit.product_types == [BybitProductType.LINEAR]

    okx = config.exec_clients["OKX"]
    assert isinstance(okx, OKXExecClientConfig)
    assert isinstance(config.data_clients["OKX"], OKXDataClientConfig)
    assert (okx.api_key, okx.api_secret, okx.api_passphrase) == (
        "okx-key",
        "okx-secret",
        "okx-pass",
    )
    assert okx.instrument_types == (OKXInstrumentType.SWAP,)
    assert okx.margin_mode == OKXMarginMode.CROSS and okx.is_demo is False


def test_testnet_flags_switch_credentials() -> None:
    env = {
        "BINANCE_TESTNET": "true",
        "BINANCE_TESTNET_API_KEY": "spot-t-key",
        "BINANCE_TESTNET_API_SECRET": "spot-t-secret",
        "BINANCE_FUTURES_TESTNET_API_KEY": "fut-t-key",
        "BINANCE_FUTURES_TESTNET_API_SECRET": "fut-t-secret",
        "BYBIT_TESTNET": "1",
        "BYBIT_TESTNET_API_KEY": "by-t-key",
        "BYBIT_TESTNET_API_SECRET": "by-t-secret",
        "OKX_DEMO": "yes",
        **{k: v for k, v in ENV.items() if k.startswith("OKX")},
    }
    config = build_live_node_config(ALL, env)
    spot, futures = config.exec_clients["BINANCE_SPOT"], config.exec_clients["BINANCE_FUTURES"]
    assert (spot.testnet, spot.api_key) == (True, "spot-t-key")
    assert (futures.testnet, futures.api_key, futures.api_secret) == (
        True,
        "fut-t-key",
        "fut-t-secret",
    )
    assert (config.exec_clients["BYBIT"].testnet, config.exec_clients["BYBIT"].api_key) == (
        True,
        "by-t-key",
    )
    assert config.exec_clients["OKX"].is_demo is True


@pytest.mark.parametrize(
    ("venues", "missing"),
    [
        (["BINANCE-FUTURES"], "BINANCE_API_KEY"),
        (["BYBIT"], "BYBIT_API_SECRET"),
        (["OKX"], "OKX_API_PASSPHRASE"),
    ],
)
def test_a_missing_credential_names_the_variable(venues: list[str], missing: str) -> None:
    env = {k: v for k, v in ENV.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        build_live_node_config(venues, env)
    with pytest.raises(ConfigError, match=missing):  # empty counts as missing
        build_live_node_config(venues, {**env, missing: "  "})


def test_testnet_credentials_are_required_on_testnet() -> None:
    with pytest.raises(ConfigError, match="BINANCE_FUTURES_TESTNET_API_KEY"):
        build_live_node_config(["BINANCE-FUTURES"], {**ENV, "BINANCE_TESTNET": "on"})


def test_unknown_venues_and_foreign_instruments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="DERIBIT"):
        build_live_node_config(["DERIBIT"], ENV)
    with pytest.raises(ConfigError, match="no live venues"):
        build_live_node_config([], ENV)
    with pytest.raises(ConfigError, match="not among the live venues"):
        build_live_node_config(["BYBIT"], ENV, instrument_keys=["OKX:PERPETUAL:BTC-USDT@LIN"])


def test_instrument_keys_limit_what_is_loaded() -> None:
    keys = [
        "BINANCE-SPOT:SPOT_PAIR:BTC-USDT",
        "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
        "OKX:PERPETUAL:ETH-USDT@LIN",
    ]
    config = build_live_node_config(
        ["BINANCE-SPOT", "BINANCE-FUTURES", "OKX"], ENV, instrument_keys=keys
    )
    spot = config.data_clients["BINANCE_SPOT"].instrument_provider
    assert spot.load_all is False
    assert spot.load_ids == frozenset({InstrumentId.from_str("BTCUSDT.BINANCE_SPOT")})
    futures = config.exec_clients["BINANCE_FUTURES"].instrument_provider
    assert futures.load_ids == frozenset({InstrumentId.from_str("BTCUSDT-PERP.BINANCE")})
    assert config.data_clients["OKX"].instrument_provider.load_ids == frozenset(
        {InstrumentId.from_str("ETH-USDT-SWAP.OKX")}
    )


def test_live_instrument_ids() -> None:
    assert str(live_instrument_id("BINANCE-SPOT:SPOT_PAIR:BTC-USDT")) == "BTCUSDT.BINANCE_SPOT"
    assert str(live_instrument_id("BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN")) == (
        "BTCUSDT-PERP.BINANCE"
    )
    assert str(live_instrument_id("BYBIT:PERPETUAL:BTC-USDT@LIN")) == "BTCUSDT-LINEAR.BYBIT"
    assert str(live_instrument_id("OKX:PERPETUAL:BTC-USDT@LIN")) == "BTC-USDT-SWAP.OKX"
    # One execution client per Nautilus venue: the four must not share one.
    assert len({v.nautilus_venue for v in LIVE_VENUES.values()}) == len(LIVE_VENUES)
    assert all("-" not in v.client_name for v in LIVE_VENUES.values())


def test_the_node_builds_its_clients_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building creates the adapter clients without connecting (no network here). The OKX
    execution client reads its WebSocket credentials from the process environment."""
    for name in ("OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE"):
        monkeypatch.setenv(name, ENV[name])
    config = build_live_node_config(ALL, ENV, log_level="ERROR")

    async def body() -> None:
        loop = asyncio.get_running_loop()
        with node_in_loop(loop):
            node = TradingNode(config=config, loop=loop)
        add_live_factories(node, ALL)
        node.build()
        expected = {ClientId(n) for n in ("BINANCE_SPOT", "BINANCE_FUTURES", "BYBIT", "OKX")}
        assert set(node.kernel.exec_engine.registered_clients) == expected
        assert set(node.kernel.data_engine.registered_clients) == expected
        node.kernel.dispose()

    asyncio.run(body())
