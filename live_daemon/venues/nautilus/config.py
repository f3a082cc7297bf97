"""The ``TradingNodeConfig`` of our NautilusTrader nodes: the paper node, the replay data
client it is fed by, and the real venues.

**The paper node** (:func:`paper_node_config`, trader ``PAPER-001``) has

- one sandbox execution client per NautilusTrader venue of its instruments: ``BINANCE``
  (BINANCE-SPOT *and* BINANCE-FUTURES: both map to the Nautilus venue ``BINANCE``, and a
  sandbox client's ``ClientId``, account and data subscription all derive from its venue,
  so two sandbox clients for one venue cannot coexist), ``BYBIT``, ``OKX``: a margin
  account of 1,000,000 USDT each (netting, leverage 10, L1 book, random UUID trade IDs so
  that fill IDs stay unique across daemon restarts). How they match:
  :mod:`live_daemon.venues.nautilus.execution`;
- the replay data client (:mod:`live_daemon.venues.nautilus.data`) whose config the caller
  passes.

Register the matching factories on the node (:mod:`live_daemon.venues.nautilus.factories`):
``SandboxLiveExecClientFactory`` as :data:`SANDBOX_FACTORY_NAME`,
``ReplayDataClientFactory`` as :data:`REPLAY_CLIENT_NAME`.

**The replay data client** (:func:`replay_client_config`): its config carries either URLs
(``store_url``, ``reference_path``: serialisable) or in-process objects (``store``,
``reference``, preloaded ``streams``: what the paper gateway passes). It is routed as the
default data client, so subscriptions for any venue reach it.

**The real venues** (:func:`build_live_node_config`): Binance spot and USD-M futures, Bybit,
OKX; our venue names become NautilusTrader adapter configs (data + execution client per
venue), with credentials and testnet flags from the environment (``add_live_factories``
registers the matching client factories on the node). Nothing here connects anywhere: the
clients connect when the node starts.

Environment: the variables each venue needs, and the testnet flags, are listed in
:mod:`live_daemon.venues.nautilus.credentials` (no ``nautilus_trader`` there: the daemon
checks them before it launches anything). A missing or empty credential is a
:class:`ConfigError` naming *every* missing variable. OKX in 1.221: the execution client's
WebSocket clients read ``OKX_API_KEY``, ``OKX_API_SECRET`` and ``OKX_API_PASSPHRASE`` from
the *process* environment themselves, whatever the config says (building the node fails
without them), and the config's docstring names ``OKX_PASSPHRASE``, which nothing reads:
``OKX_API_PASSPHRASE`` is the one.

The live node (:func:`build_live_node_config`, trader ``LIVE-001``) is what the venue
process runs in live mode (:class:`~live_daemon.venues.nautilus.live_venue.LiveVenueGateway`):
the real data and execution clients only, no sandbox and no replay client; quotes come
from the data clients' quote ticks; execution reconciliation on (open orders and fills
the venue has are loaded at start).

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

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.adapters.binance.config import (
    BinanceDataClientConfig,
    BinanceExecClientConfig,
)
from nautilus_trader.adapters.bybit.common.enums import BybitProductType
from nautilus_trader.adapters.bybit.config import BybitDataClientConfig, BybitExecClientConfig
from nautilus_trader.adapters.okx.config import OKXDataClientConfig, OKXExecClientConfig
from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.config import (
    InstrumentProviderConfig,
    LiveDataClientConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    RoutingConfig,
    TradingNodeConfig,
)
from nautilus_trader.core.nautilus_pyo3 import OKXContractType, OKXInstrumentType, OKXMarginMode
from nautilus_trader.live.config import LiveRiskEngineConfig
from nautilus_trader.model.identifiers import InstrumentId, Venue

from execution_core.errors import ConfigError
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference
from execution_core.stores.base import ObjectStore
from execution_core.ticks.layout import NS_PER_DAY
from live_daemon.venues.nautilus.credentials import (
    TESTNET_FLAGS,
    credentials,
    venues_refusal_message,
)
from live_daemon.venues.nautilus.replay_streams import ReplayStream

# -- the paper node ------------------------------------------------------------------------

TRADER_ID = "PAPER-001"
LIVE_TRADER_ID = "LIVE-001"
NODE_MAX_ORDER_RATE = "100000/00:00:01"
SANDBOX_FACTORY_NAME = "SANDBOX"  # the node builder keys factories by the name before "-"
STARTING_BALANCE = "1000000 USDT"
DEFAULT_LEVERAGE = Decimal(10)

REPLAY_CLIENT_NAME = "REPLAY"
"""Name of the replay client in ``TradingNodeConfig.data_clients`` and of its factory (the
node builder takes the part before the first ``-`` of a client's key as the factory name)."""


class ReplayDataClientConfig(LiveDataClientConfig, frozen=True, kw_only=True):
    """Configuration of the replay data client
    (:class:`~live_daemon.venues.nautilus.data.ReplayDataClient`).

    ``instrument_keys`` are canonical keys with a venue. ``day`` is ISO (``2024-03-01``).
    Give the tick store as ``store_url`` or as an ``ObjectStore`` in ``store``, and the
    instrument reference as ``reference_path``, an ``InstrumentReference`` in
    ``reference``, or neither (the packaged one).
    """

    instrument_keys: tuple[str, ...]
    day: str
    speed: float = 1.0
    start_offset_secs: float = 0.0
    loop: bool = True
    store_url: str | None = None
    reference_path: str | None = None
    store: Any = None
    reference: Any = None
    streams: Any = None  # a preloaded ``load_streams`` result (then the client reads nothing)


def replay_client_config(
    instrument_keys: list[str] | tuple[str, ...],
    day: dt.date,
    *,
    store: ObjectStore | None = None,
    store_url: str | None = None,
    reference: InstrumentReference | None = None,
    reference_path: str | None = None,
    streams: list[ReplayStream] | None = None,
    speed: float = 1.0,
    start_offset_secs: float = 0.0,
    loop: bool = True,
) -> ReplayDataClientConfig:
    """A checked :class:`ReplayDataClientConfig` (raises :class:`ConfigError`)."""
    if not instrument_keys:
        raise ConfigError("replay data client: no instruments given")
    if not speed > 0:
        raise ConfigError(f"replay data client: speed must be > 0, got {speed!r}")
    if not 0 <= start_offset_secs < NS_PER_DAY / 1e9:
        raise ConfigError(
            "replay data client: start_offset_secs must be in [0, 86400), "
            f"got {start_offset_secs!r}"
        )
    if (store is None) == (store_url is None):
        raise ConfigError("replay data client: give exactly one of store and store_url")
    return ReplayDataClientConfig(
        routing=RoutingConfig(default=True),  # subscriptions of any venue come here
        instrument_keys=tuple(instrument_keys),
        day=day.isoformat(),
        speed=float(speed),
        start_offset_secs=float(start_offset_secs),
        loop=loop,
        store=store,
        store_url=store_url,
        reference=reference,
        reference_path=reference_path,
        streams=streams,
    )


def paper_node_config(
    replay: ReplayDataClientConfig,
    venues: list[str],
    *,
    log_level: str,
    timeout_connection: float,
) -> TradingNodeConfig:
    """The paper node's config: the ``replay`` data client and a sandbox execution client
    per Nautilus venue of ``venues`` (module docstring); register
    ``SandboxLiveExecClientFactory`` as :data:`SANDBOX_FACTORY_NAME` on the node."""
    return TradingNodeConfig(
        trader_id=TRADER_ID,
        logging=LoggingConfig(log_level=log_level),
        exec_engine=LiveExecEngineConfig(reconciliation=False),  # sandbox: nothing to load
        # The daemon's PreTradeRiskEngine owns order-rate limits (per strategy, with a
        # recorded reason); NautilusTrader's default 100 orders/s would deny silently.
        risk_engine=LiveRiskEngineConfig(
            max_order_submit_rate=NODE_MAX_ORDER_RATE, max_order_modify_rate=NODE_MAX_ORDER_RATE
        ),
        data_clients={REPLAY_CLIENT_NAME: replay},
        exec_clients={
            f"{SANDBOX_FACTORY_NAME}-{venue}": SandboxExecutionClientConfig(
                venue=venue,
                starting_balances=[STARTING_BALANCE],
                base_currency="USDT",
                oms_type="NETTING",
                account_type="MARGIN",
                default_leverage=DEFAULT_LEVERAGE,
                book_type="L1_MBP",
                # Trade and venue order IDs must stay unique across restarts of the
                # daemon (the OMS keys fills by fill_id): UUID4s, not BINANCE-1-001.
                use_random_ids=True,
            )
            for venue in venues
        },
        timeout_connection=timeout_connection,
        timeout_portfolio=5.0,
        timeout_disconnection=5.0,
        timeout_post_stop=0.05,  # the kernel sleeps this long on every stop
    )


# -- the real venues -----------------------------------------------------------------------


@dataclass(frozen=True)
class LiveVenue:
    """How one of our venues is wired into a live ``TradingNode`` (its client factories:
    ``live_daemon.venues.nautilus.factories.LIVE_FACTORIES``)."""

    venue: str  # ours: BINANCE-SPOT, BINANCE-FUTURES, BYBIT, OKX
    client_name: str  # data/exec client key, factory name and ClientId (no "-")
    nautilus_venue: str
    testnet_flag: str


LIVE_VENUES: dict[str, LiveVenue] = {
    v.venue: v
    for v in (
        LiveVenue("BINANCE-SPOT", "BINANCE_SPOT", "BINANCE_SPOT", TESTNET_FLAGS["BINANCE-SPOT"]),
        LiveVenue(
            "BINANCE-FUTURES", "BINANCE_FUTURES", "BINANCE", TESTNET_FLAGS["BINANCE-FUTURES"]
        ),
        LiveVenue("BYBIT", "BYBIT", "BYBIT", TESTNET_FLAGS["BYBIT"]),
        LiveVenue("OKX", "OKX", "OKX", TESTNET_FLAGS["OKX"]),
    )
}


def live_venue(venue: str) -> LiveVenue:
    """The :class:`LiveVenue` of one of our venue names (raises :class:`ConfigError`)."""
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
    live = live_venue(cid.venue)
    if instrument_id.venue.value == live.nautilus_venue:
        return instrument_id
    return InstrumentId(instrument_id.symbol, Venue(live.nautilus_venue))


def _provider(instrument_ids: list[InstrumentId] | None) -> InstrumentProviderConfig:
    if not instrument_ids:
        return InstrumentProviderConfig(load_all=True)
    return InstrumentProviderConfig(load_all=False, load_ids=frozenset(instrument_ids))


def _client_configs(
    live: LiveVenue, env: Mapping[str, str], instrument_ids: list[InstrumentId] | None
) -> tuple[Any, Any]:
    """The data and execution client configs of one venue (its credentials all set)."""
    names = credentials(live.venue, env)
    testnet = names.testnet
    provider = _provider(instrument_ids)
    venue = live.venue
    key, secret = env[names.key].strip(), env[names.secret].strip()
    if venue in ("BINANCE-SPOT", "BINANCE-FUTURES"):
        spot = venue == "BINANCE-SPOT"
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
        common = dict(
            api_key=key,
            api_secret=secret,
            product_types=[BybitProductType.LINEAR],
            testnet=testnet,
            instrument_provider=provider,
        )
        return BybitDataClientConfig(**common), BybitExecClientConfig(**common)
    assert venue == "OKX" and names.passphrase is not None
    common = dict(
        api_key=key,
        api_secret=secret,
        api_passphrase=env[names.passphrase].strip(),
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
    trader_id: str = LIVE_TRADER_ID,
    log_level: str = "INFO",
    timeout_connection: float = 30.0,
) -> TradingNodeConfig:
    """A ``TradingNodeConfig`` with a data and an execution client for each of ``venues``
    (``BINANCE-SPOT``, ``BINANCE-FUTURES``, ``BYBIT``, ``OKX``).

    ``instrument_keys`` (canonical keys) limits what each client's instrument provider
    loads (default: everything the adapter lists). ``timeout_connection``: how long the
    node waits for its clients to connect. Raises :class:`ConfigError` for an unknown
    venue, an instrument key on a venue not requested, or missing credentials (one error
    naming every missing variable).
    """
    wanted = [live_venue(v) for v in dict.fromkeys(venues)]
    if not wanted:
        raise ConfigError("no live venues requested")
    refusal = venues_refusal_message([live.venue for live in wanted], env)
    if refusal is not None:
        raise ConfigError(refusal)
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
        timeout_connection=timeout_connection,
        timeout_portfolio=10.0,
        timeout_disconnection=10.0,
    )
