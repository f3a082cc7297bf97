"""Which environment variables live mode needs, and the one refusal naming all missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from execution_core.errors import ConfigError
from live_daemon.venues.nautilus.config import build_live_node_config
from live_daemon.venues.nautilus.credentials import (
    missing_credentials,
    refusal_message,
    require_credentials,
)

SPOT = "BINANCE-SPOT:SPOT_PAIR:BTC-USDT"
FUTURES = "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN"
BYBIT = "BYBIT:PERPETUAL:ETH-USDT@LIN"
OKX = "OKX:PERPETUAL:BTC-USDT@LIN"
ALL_KEYS = [SPOT, FUTURES, BYBIT, OKX]
FULL_ENV = {
    "BINANCE_API_KEY": "k",
    "BINANCE_API_SECRET": "s",
    "BYBIT_API_KEY": "k",
    "BYBIT_API_SECRET": "s",
    "OKX_API_KEY": "k",
    "OKX_API_SECRET": "s",
    "OKX_API_PASSPHRASE": "p",
}


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ([SPOT], ["BINANCE_API_KEY", "BINANCE_API_SECRET"]),
        ([FUTURES], ["BINANCE_API_KEY", "BINANCE_API_SECRET"]),
        ([BYBIT], ["BYBIT_API_KEY", "BYBIT_API_SECRET"]),
        ([OKX], ["OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE"]),
        (
            ALL_KEYS,
            [
                "BINANCE_API_KEY",
                "BINANCE_API_SECRET",
                "BYBIT_API_KEY",
                "BYBIT_API_SECRET",
                "OKX_API_KEY",
                "OKX_API_SECRET",
                "OKX_API_PASSPHRASE",
            ],
        ),
    ],
)
def test_every_missing_variable_is_named_once(keys: list[str], expected: list[str]) -> None:
    assert missing_credentials(keys, {}) == expected
    assert missing_credentials(keys, FULL_ENV) == []


def test_only_what_is_missing_and_blank_counts_as_missing() -> None:
    env = {**FULL_ENV, "OKX_API_PASSPHRASE": "  "}
    del env["BYBIT_API_SECRET"]
    assert missing_credentials(ALL_KEYS, env) == ["BYBIT_API_SECRET", "OKX_API_PASSPHRASE"]


def test_testnet_flags_switch_the_variables() -> None:
    env = {"BINANCE_TESTNET": "true", "BYBIT_TESTNET": "1", "OKX_DEMO": "yes"}
    assert missing_credentials(ALL_KEYS, env) == [
        "BINANCE_TESTNET_API_KEY",
        "BINANCE_TESTNET_API_SECRET",
        "BINANCE_FUTURES_TESTNET_API_KEY",
        "BINANCE_FUTURES_TESTNET_API_SECRET",
        "BYBIT_TESTNET_API_KEY",
        "BYBIT_TESTNET_API_SECRET",
        "OKX_API_KEY",
        "OKX_API_SECRET",
        "OKX_API_PASSPHRASE",
    ]


def test_instruments_on_other_venues_are_left_to_their_adapters() -> None:
    assert missing_credentials(["DERIBIT:PERPETUAL:BTC-USD@INV"], {}) == []
    assert refusal_message(["DERIBIT:PERPETUAL:BTC-USD@INV"], {}) is None


def test_the_refusal_names_every_variable_and_its_venue() -> None:
    env = {k: v for k, v in FULL_ENV.items() if not k.startswith(("BYBIT", "OKX_API_P"))}
    message = refusal_message([FUTURES, BYBIT, OKX], env)
    assert message is not None
    assert "BYBIT_API_KEY, BYBIT_API_SECRET, OKX_API_PASSPHRASE" in message
    assert "BYBIT: BYBIT_API_KEY, BYBIT_API_SECRET; OKX: OKX_API_PASSPHRASE" in message
    assert "BINANCE" not in message
    with pytest.raises(ConfigError, match="OKX_API_PASSPHRASE"):
        require_credentials([OKX], env)
    require_credentials([FUTURES], env)  # nothing missing: no error


def test_the_node_config_refuses_with_all_missing_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        build_live_node_config(["BINANCE-FUTURES", "BYBIT", "OKX"], {})
    for name in missing_credentials([FUTURES, BYBIT, OKX], {}):
        assert name in str(error.value)


def test_the_daemon_can_check_without_loading_nautilus_trader() -> None:
    code = (
        "import sys, live_daemon.venues.nautilus.credentials as c;"
        "c.missing_credentials(['OKX:PERPETUAL:BTC-USDT@LIN'], {});"
        "assert not [m for m in sys.modules if m.startswith('nautilus_trader')], 'loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
