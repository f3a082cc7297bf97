"""The daemon's two modes as a user meets them: live mode refuses to start without the real
venues' keys (naming every missing variable, Deribit's too) before anything starts; paper
mode builds the Deribit adapter against the local Deribit venue with the venue's own
client secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from execution_core.errors import ConfigError
from live_daemon.main import app as exec_live
from live_daemon.service import build_app
from live_daemon.settings import DaemonMode, DaemonSettings, DeribitVenueSettings
from live_daemon.venues.deribit.factories import build_deribit_adapter
from live_daemon.venues.deribit.standin.process import secret_path
from live_daemon.venues.external.factories import build_adapters

KEYS = (
    "BINANCE_API_KEY", "BINANCE_API_SECRET", "BYBIT_API_KEY", "BYBIT_API_SECRET",
    "OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE",
    "DERIBIT_CLIENT_ID", "DERIBIT_CLIENT_SECRET",
)  # fmt: skip
DERIBIT_BTC = "DERIBIT:PERPETUAL:BTC-USD@INV"


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_live_mode_without_keys_refuses_naming_every_missing_variable(no_keys) -> None:
    with pytest.raises(ConfigError) as refused:
        build_app(DaemonSettings(mode=DaemonMode.LIVE))
    for name in KEYS[:7]:
        assert name in str(refused.value)
    assert "DERIBIT" not in str(refused.value)  # Deribit is not configured


def test_live_mode_names_deribits_variables_when_deribit_is_configured(no_keys) -> None:
    for name in KEYS[:7]:
        no_keys.setenv(name, "set")
    settings = DaemonSettings(
        mode=DaemonMode.LIVE, deribit=DeribitVenueSettings(instruments=[DERIBIT_BTC])
    )
    with pytest.raises(ConfigError, match="DERIBIT_CLIENT_ID, DERIBIT_CLIENT_SECRET"):
        build_app(settings)


def test_exec_live_in_live_mode_without_keys_exits_2_with_the_message(
    no_keys, tmp_path: Path
) -> None:
    no_keys.chdir(tmp_path)  # nothing may be created before the refusal
    result = CliRunner().invoke(exec_live, ["--mode", "live"])
    assert result.exit_code == 2, result.output
    assert "BINANCE_API_KEY" in result.output and "OKX_API_PASSPHRASE" in result.output
    assert list(tmp_path.iterdir()) == []


def test_paper_mode_builds_no_adapter_until_deribit_is_configured(no_keys) -> None:
    assert build_adapters(DaemonSettings()) == []


def test_paper_deribit_adapter_trades_on_the_local_venue_with_its_secret(
    no_keys, tmp_path: Path
) -> None:
    deribit = DeribitVenueSettings(
        instruments=[DERIBIT_BTC], port=18102, state_dir=tmp_path / "deribit", autostart=False
    )
    adapter = build_deribit_adapter(DaemonSettings(deribit=deribit))
    assert adapter is not None and adapter.instrument_keys == [DERIBIT_BTC]
    assert adapter.config.url == "ws://127.0.0.1:18102/ws/api/v2"
    # the secret the local venue reads (created here if missing) is the adapter's
    secret = secret_path((tmp_path / "deribit").resolve()).read_text().strip()
    assert adapter.config.client_secret.get_secret_value() == secret
    assert not (tmp_path / "deribit" / "venue.pid").exists()  # autostart off: not launched
