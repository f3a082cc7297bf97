"""The real venues: a NautilusTrader ``TradingNode`` with the real Binance, Bybit and OKX
data and execution clients, what the venue process runs in live mode
(``VenueHostConfig.mode == "live"``, :mod:`live_daemon.venues.host`).

:class:`LiveVenueGateway` is the paper gateway
(:class:`~live_daemon.venues.nautilus.venue.PaperVenueGateway`: the same order submitter,
tracker, execution algorithms and daemon API, hence the same wire protocol and record in
the host) with another node: :func:`~live_daemon.venues.nautilus.config.build_live_node_config`
(trader ``LIVE-001``, keys from the environment, one data and one execution client per
venue, instrument providers limited to the traded instruments, no sandbox and no replay
client) and the adapters' factories (``add_live_factories``). Quotes are the real data
clients' quote ticks: the bridge strategy subscribes to each instrument's. Instrument IDs
are :func:`~live_daemon.venues.nautilus.config.live_instrument_id` (Binance spot on
``BINANCE_SPOT``). Missing keys: :class:`ConfigError` naming every missing variable, raised
by ``node_config()`` (so by ``start()`` before any node exists); the host checks them
earlier still (:func:`~live_daemon.venues.nautilus.credentials.refusal_message`).

It cannot connect from here (no network): tests build the node without starting it
(:meth:`LiveVenueGateway.build_node`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import Any, cast

from nautilus_trader.config import TradingNodeConfig
from nautilus_trader.live.node import TradingNode

from execution_core.errors import ConfigError
from execution_core.instruments.reference import InstrumentReference
from execution_core.stores.base import ObjectStore
from live_daemon.venues.gateway import VenueEvent
from live_daemon.venues.nautilus.config import build_live_node_config, live_instrument_id
from live_daemon.venues.nautilus.credentials import LIVE_VENUE_NAMES
from live_daemon.venues.nautilus.execution import GatewayStrategy
from live_daemon.venues.nautilus.factories import add_live_factories, new_node
from live_daemon.venues.nautilus.venue import PaperVenueGateway


class LiveVenueGateway(PaperVenueGateway):
    """The real venues of ``instruments`` (module docstring); ``env``: where the keys are."""

    def __init__(
        self,
        reference: InstrumentReference,
        instruments: list[str],
        on_event: Callable[[VenueEvent], None],
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        env: Mapping[str, str] = os.environ,
        log_level: str = "WARNING",
        start_timeout_secs: float = 30.0,
    ) -> None:
        keys = list(dict.fromkeys(instruments))
        elsewhere = [k for k in keys if k.split(":")[0] not in LIVE_VENUE_NAMES]
        if elsewhere:
            raise ConfigError(
                f"live venue: instruments {', '.join(elsewhere)} are not on a NautilusTrader "
                f"venue ({', '.join(LIVE_VENUE_NAMES)})"
            )
        # No tick store and no day: the paper parts that use them are overridden here.
        super().__init__(
            reference,
            cast(ObjectStore, None),
            keys,
            dt.date.today(),
            on_event,
            loop=loop,
            log_level=log_level,
            start_timeout_secs=start_timeout_secs,
        )
        self.env = env
        # In place: the order submitter holds this mapping.
        self._instrument_ids.update({k: live_instrument_id(k) for k in self.instrument_keys})

    def node_config(self) -> TradingNodeConfig:
        venues = [k.split(":")[0] for k in self.instrument_keys]
        return build_live_node_config(
            venues,
            self.env,
            instrument_keys=self.instrument_keys,
            log_level=self.log_level,
            timeout_connection=self.start_timeout_secs,
        )

    async def _node_config(
        self, loop: asyncio.AbstractEventLoop
    ) -> tuple[TradingNodeConfig, list[str]]:
        config = self.node_config()
        return config, sorted({i.venue.value for i in self._instrument_ids.values()})

    def _add_factories(self, node: TradingNode) -> None:
        add_live_factories(node, [k.split(":")[0] for k in self.instrument_keys])

    def _strategy(self) -> GatewayStrategy:
        return GatewayStrategy(quotes=tuple(self._instrument_ids.values()))

    def build_node(self, loop: asyncio.AbstractEventLoop) -> TradingNode:
        """The node ``start()`` would run, built (clients created) but not started."""
        node = new_node(self.node_config(), loop)
        self._add_factories(node)
        node.build()
        return node

    def health(self) -> dict[str, Any]:
        health = super().health()
        health.update(paper=False, mode="live", day=None, speed=None)
        return health
