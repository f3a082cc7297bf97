"""``TradingNodeConfig`` for the real venues: Binance spot and USD-M futures, Bybit, OKX.

:func:`build_live_node_config` turns our venue names into NautilusTrader adapter configs
(data + execution client per venue), with credentials and testnet flags from the
environment; :func:`add_live_factories` registers the matching client factories on the
node. Nothing here connects anywhere: the clients connect when the node starts.

Environment (the key variables follow NautilusTrader's own conventions):

- BINANCE-SPOT: ``BINANCE_API_KEY``, ``BINANCE_API_SECRET``; with ``BINANCE_TESTNET`` set,
  ``BINANCE_TESTNET_API_KEY``, ``BINANCE_TESTNET_API_SECRET``.
- BINANCE-FUTURES (USD-M): ``BINANCE_API_KEY``, ``BINANCE_API_SECRET``; with
  ``BINANCE_TESTNET`` set, ``BINANCE_FUTURES_TESTNET_API_KEY``,
  ``BINANCE_FUTURES_TESTNET_API_SECRET``.
- BYBIT (linear perpetuals): ``BYBIT_API_KEY``, ``BYBIT_API_SECRET``; with ``BYBIT_TESTNET``
  set, ``BYBIT_TESTNET_API_KEY``, ``BYBIT_TESTNET_API_SECRET``.
- OKX (linear swaps, cross margin): ``OKX_API_KEY``, ``OKX_API_SECRET``,
  ``OKX_API_PASSPHRASE``; ``OKX_DEMO`` selects demo trading (same variables).

Flags are true for ``1``/``true``/``yes``/``on`` (any case). A missing or empty credential
is a :class:`ConfigError` naming the variable. OKX in 1.221: the execution client's
WebSocket clients read ``OKX_API_KEY``, ``OKX_API_SECRET`` and ``OKX_API_PASSPHRASE`` from
the *process* environment themselves, whatever the config says (building the node fails
without them), and the config's docstring names ``OKX_PASSPHRASE``, which nothing reads:
``OKX_API_PASSPHRASE`` is the one.

Two Binance venues in one node (NautilusTrader 1.221): a node's execution engine accepts one
execution client per Nautilus venue (a second one raises "Execution client for venue ...
already registered"), the data engine silently routes a venue's subscriptions to the last
client registered for it, and a client's ``ClientId`` is its key in
``TradingNodeConfig.*_clients`` up to the first ``-``. So the futures clients keep the venue
``BINANCE`` (what ``CanonicalId.to_nautilus()`` gives: ``BTCUSDT-PERP.BINANCE``) and the
spot clients use the venue ``BINANCE_SPOT`` (``BTCUSDT.BINANCE_SPOT``); convert IDs with
:func:`live_instrument_id`. Client keys and IDs: ``BINANCE_SPOT``, ``BINANCE_FUTURES``,
``BYBIT``, ``OKX``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.adapters.binance.config import (
    BinanceDataClientConfig,
    BinanceExecClientConfig,
)
from nautilus_trader.adapters.binance.factories import (
    BinanceLiveDataClientFactory,
    BinanceLiveExecClientFactory,
)
from nautilus_trader.adapters.bybit.common.enums import BybitProductType
from nautilus_trader.adapters.bybit.config import BybitDataClientConfig, BybitExecClientConfig
from nautilus_trader.adapters.bybit.factories import (
    BybitLiveDataClientFactory,
    BybitLiveExecClientFactory,
)
from nautilus_trader.adapters.okx.config import OKXDataClientConfig, OKXExecClientConfig
from nautilus_trader.adapters.okx.factories import (
    OKXLiveDataClientFactory,
    OKXLiveExecClientFactory,
)
from nautilus_trader.config import (
    InstrumentProviderConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    TradingNodeConfig,
)
from nautilus_trader.core.nautilus_pyo3 import OKXContractType, OKXInstrumentType, OKXMarginMode
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import InstrumentId, Venue

from execution_core.errors import ConfigError
from execution_core.instruments.ids import CanonicalId

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class LiveVenue:
    """How one of our venues is wired into a live ``TradingNode``."""

    venue: str  # ours: BINANCE-SPOT, BINANCE-FUTURES, BYBIT, OKX
    client_name: str  # data/exec client key, factory name and ClientId (no "-")
    nautilus_venue: str
    data_factory: type
    exec_factory: type
    testnet_flag: str


LIVE_VENUES: dict[str, LiveVenue] = {
    v.venue: v
    for v in (
        LiveVenue(
            "BINANCE-SPOT",
            "BINANCE_SPOT",
            "BINANCE_SPOT",
            BinanceLiveDataClientFactory,
            BinanceLiveExecClientFactory,
            "BINANCE_TESTNET",
        ),
        LiveVenue(
            "BINANCE-FUTURES",
            "BINANCE_FUTURES",
            "BINANCE",
            BinanceLiveDataClientFactory,
            BinanceLiveExecClientFactory,
            "BINANCE_TESTNET",
        ),
        LiveVenue(
            "BYBIT",
            "BYBIT",
            "BYBIT",
            BybitLiveDataClientFactory,
            BybitLiveExecClientFactory,
            "BYBIT_TESTNET",
        ),
        LiveVenue(
            "OKX", "OKX", "OKX", OKXLiveDataClientFactory, OKXLiveExecClientFactory, "OKX_DEMO"
        ),
    )
}


def _live_venue(venue: str) -> LiveVenue:
    try:
        return LIVE_VENUES[venue]
    except KeyError:
        raise ConfigError(
            f"no live NautilusTrader venue {venue!r}; supported: {', '.join(LIVE_VENUES)}"
        ) from None


def live_instrument_id(key: str) -> InstrumentId:
    """The instrument's ID in a live node built here (``BTCUSDT.BINANCE_SPOT`` for
    ``BINANCE-SPOT:SPOT_PAIR:BTC-USDT``; otherwise ``CanonicalId.to_nautilus()``)."""
    cid = CanonicalId.parse(key)
    instrument_id = cid.to_nautilus()
    live = _live_venue(cid.venue)
    if instrument_id.venue.value == live.nautilus_venue:
        return instrument_id
    return InstrumentId(instrument_id.symbol, Venue(live.nautilus_venue))


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in TRUE_VALUES


def _require(env: Mapping[str, str], name: str, venue: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(
            f"environment variable {name} is not set: it is needed to trade {venue} live"
        )
    return value


def _provider(instrument_ids: list[InstrumentId] | None) -> InstrumentProviderConfig:
    if not instrument_ids:
        return InstrumentProviderConfig(load_all=True)
    return InstrumentProviderConfig(load_all=False, load_ids=frozenset(instrument_ids))


def _client_configs(
    live: LiveVenue, env: Mapping[str, str], instrument_ids: list[InstrumentId] | None
) -> tuple[Any, Any]:
    testnet = _flag(env, live.testnet_flag)
    provider = _provider(instrument_ids)
    venue = live.venue
    if venue in ("BINANCE-SPOT", "BINANCE-FUTURES"):
        spot = venue == "BINANCE-SPOT"
        if testnet:
            prefix = "BINANCE_TESTNET" if spot else "BINANCE_FUTURES_TESTNET"
        else:
            prefix = "BINANCE"
        key = _require(env, f"{prefix}_API_KEY", venue)
        secret = _require(env, f"{prefix}_API_SECRET", venue)
        common: dict[str, Any] = dict(
            venue=Venue(live.nautilus_venue),
            api_key=key,
            api_secret=secret,
            account_type=BinanceAccountType.SPOT if spot else BinanceAccountType.USDT_FUTURES,
            testnet=testnet,
            instrument_provider=provider,
        )
        return BinanceDataClientConfig(**common), BinanceExecClientConfig(**common)
    if venue == "BYBIT":
        prefix = "BYBIT_TESTNET" if testnet else "BYBIT"
        common = dict(
            api_key=_require(env, f"{prefix}_API_KEY", venue),
            api_secret=_require(env, f"{prefix}_API_SECRET", venue),
            product_types=[BybitProductType.LINEAR],
            testnet=testnet,
            instrument_provider=provider,
        )
        return BybitDataClientConfig(**common), BybitExecClientConfig(**common)
    assert venue == "OKX"
    common = dict(
        api_key=_require(env, "OKX_API_KEY", venue),
        api_secret=_require(env, "OKX_API_SECRET", venue),
        api_passphrase=_require(env, "OKX_API_PASSPHRASE", venue),
        instrument_types=(OKXInstrumentType.SWAP,),
        contract_types=(OKXContractType.LINEAR,),
        is_demo=testnet,
        instrument_provider=provider,
    )
    return (
        OKXDataClientConfig(**common),
        OKXExecClientConfig(**common, margin_mode=OKXMarginMode.CROSS),
    )


def build_live_node_config(
    venues: Iterable[str],
    env: Mapping[str, str] = os.environ,
    *,
    instrument_keys: Iterable[str] | None = None,
    trader_id: str = "LIVE-001",
    log_level: str = "INFO",
) -> TradingNodeConfig:
    """A ``TradingNodeConfig`` with a data and an execution client for each of ``venues``
    (``BINANCE-SPOT``, ``BINANCE-FUTURES``, ``BYBIT``, ``OKX``).

    ``instrument_keys`` (canonical keys) limits what each client's instrument provider
    loads (default: everything the adapter lists). Raises :class:`ConfigError` for an
    unknown venue, an instrument key on a venue not requested, or a missing credential.
    """
    wanted = [_live_venue(v) for v in dict.fromkeys(venues)]
    if not wanted:
        raise ConfigError("no live venues requested")
    per_venue: dict[str, list[InstrumentId]] = {}
    for key in instrument_keys or ():
        venue = CanonicalId.parse(key).venue
        if venue not in {live.venue for live in wanted}:
            raise ConfigError(
                f"instrument {key} is on venue {venue}, which is not among the live venues "
                f"{', '.join(live.venue for live in wanted)}"
            )
        per_venue.setdefault(venue, []).append(live_instrument_id(key))
    data_clients: dict[str, Any] = {}
    exec_clients: dict[str, Any] = {}
    for live in wanted:
        data, execution = _client_configs(live, env, per_venue.get(live.venue))
        data_clients[live.client_name] = data
        exec_clients[live.client_name] = execution
    return TradingNodeConfig(
        trader_id=trader_id,
        logging=LoggingConfig(log_level=log_level),
        exec_engine=LiveExecEngineConfig(reconciliation=True),
        data_clients=data_clients,
        exec_clients=exec_clients,
    )


def add_live_factories(node: TradingNode, venues: Iterable[str]) -> None:
    """Register the client factories ``build_live_node_config(venues)`` needs."""
    for venue in dict.fromkeys(venues):
        live = _live_venue(venue)
        node.add_data_client_factory(live.client_name, live.data_factory)
        node.add_exec_client_factory(live.client_name, live.exec_factory)
