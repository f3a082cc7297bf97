"""The venue process in live mode: the real venues' node, built but never started (no
network here), and the refusal without keys, in the host and in ``exec-venue paper``."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from nautilus_trader.adapters.binance.config import BinanceExecClientConfig
from nautilus_trader.adapters.bybit.config import BybitExecClientConfig
from nautilus_trader.adapters.okx.config import OKXExecClientConfig
from nautilus_trader.model.identifiers import ClientId, InstrumentId

from execution_core.errors import ConfigError
from execution_core.instruments.reference import load_reference
from live_daemon.venues.host import VenueHost
from live_daemon.venues.host_config import VenueHostConfig
from live_daemon.venues.journal import VenueJournal
from live_daemon.venues.nautilus.credentials import missing_credentials
from live_daemon.venues.nautilus.live_venue import LiveVenueGateway
from tests.live_daemon.daemon_process import EXEC_VENUE, free_port

KEYS = [
    "BINANCE-SPOT:SPOT_PAIR:BTC-USDT",
    "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
    "BYBIT:PERPETUAL:ETH-USDT@LIN",
    "OKX:PERPETUAL:BTC-USDT@LIN",
]
ENV = {
    "BINANCE_API_KEY": "bn-key",
    "BINANCE_API_SECRET": "bn-secret",
    "BYBIT_API_KEY": "by-key",
    "BYBIT_API_SECRET": "by-secret",
    "OKX_API_KEY": "okx-key",
    "OKX_API_SECRET": "okx-secret",
    "OKX_API_PASSPHRASE": "okx-pass",
}
ALL_MISSING = list(ENV)


def live_config(state_dir: Path) -> VenueHostConfig:
    return VenueHostConfig(
        mode="live",
        ticks_store_url="file:///nowhere",
        instruments=KEYS,
        day=dt.date(2025, 1, 15),
        port=free_port(),
        state_dir=state_dir,
    )


def test_without_keys_the_live_node_is_refused_naming_every_variable() -> None:
    gateway = LiveVenueGateway(load_reference(), KEYS, lambda e: None, env={})
    with pytest.raises(ConfigError) as error:
        gateway.node_config()
    for name in ALL_MISSING:
        assert name in str(error.value)
    with pytest.raises(ConfigError, match="DERIBIT"):
        LiveVenueGateway(load_reference(), ["DERIBIT:PERPETUAL:BTC-USD@INV"], print, env=ENV)


def test_live_node_has_the_real_clients_and_no_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE"):
        monkeypatch.setenv(name, ENV[name])  # the OKX clients read the process environment
    gateway = LiveVenueGateway(load_reference(), KEYS, lambda e: None, env=ENV)
    config = gateway.node_config()
    assert str(config.trader_id) == "LIVE-001"
    assert isinstance(config.exec_clients["BINANCE_SPOT"], BinanceExecClientConfig)
    assert isinstance(config.exec_clients["BYBIT"], BybitExecClientConfig)
    assert isinstance(config.exec_clients["OKX"], OKXExecClientConfig)
    for name in ("BINANCE_SPOT", "BINANCE_FUTURES", "BYBIT"):
        client = config.exec_clients[name]
        assert isinstance(client, BinanceExecClientConfig | BybitExecClientConfig)
        assert client.testnet is False
    assert config.exec_clients["OKX"].is_demo is False
    assert config.exec_clients["BINANCE_FUTURES"].instrument_provider.load_ids == frozenset(
        {InstrumentId.from_str("BTCUSDT-PERP.BINANCE")}
    )
    assert "SANDBOX" not in str(config) and "REPLAY" not in config.data_clients
    assert gateway._strategy()._quote_ids == (  # quotes come from subscribed quote ticks
        InstrumentId.from_str("BTCUSDT.BINANCE_SPOT"),
        InstrumentId.from_str("BTCUSDT-PERP.BINANCE"),
        InstrumentId.from_str("ETHUSDT-LINEAR.BYBIT"),
        InstrumentId.from_str("BTC-USDT-SWAP.OKX"),
    )
    assert gateway.health()["mode"] == "live"

    async def body() -> None:
        node = gateway.build_node(asyncio.get_running_loop())
        try:
            expected = {ClientId(n) for n in ("BINANCE_SPOT", "BINANCE_FUTURES", "BYBIT", "OKX")}
            assert set(node.kernel.exec_engine.registered_clients) == expected
            assert set(node.kernel.data_engine.registered_clients) == expected
            assert not node.kernel.is_running()
        finally:
            node.kernel.dispose()

    asyncio.run(body())


class _Server:
    closed = False

    async def close(self) -> None:
        self.closed = True


def test_the_host_in_live_mode_refuses_before_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    journal = VenueJournal(tmp_path / "record.sqlite")
    try:
        host = VenueHost(live_config(tmp_path), journal)
        assert isinstance(host.gateway, LiveVenueGateway)
        monkeypatch.delenv("BYBIT_API_SECRET")
        monkeypatch.delenv("OKX_API_PASSPHRASE")
        server = _Server()
        assert asyncio.run(host.run(server)) == 1  # type: ignore[arg-type]
        assert server.closed and host.state == "failed" and host.gateway.node is None
        assert host.failure is not None
        assert "BYBIT_API_SECRET, OKX_API_PASSPHRASE" in host.failure
    finally:
        journal.close()


def test_exec_venue_in_live_mode_without_keys_exits_non_zero_naming_them(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    config = live_config(tmp_path / "venue")
    result = subprocess.run(
        [str(EXEC_VENUE), "paper", "--config-json", config.model_dump_json()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "venue_refused" in output
    for name in missing_credentials(KEYS, env):
        assert name in output
    assert len(missing_credentials(KEYS, env)) == len(ALL_MISSING)
