"""The replay data client: a NautilusTrader ``LiveMarketDataClient`` that replays a day of
our tick store in real time.

``ReplayDataClient`` feeds a ``TradingNode``'s sandbox execution clients, which match
orders against the replayed book. Per instrument it reads the day's quotes and trades
(``read_day`` of ``tick_key(instrument, kind, day)``) when it is built (or takes them
preloaded, see :func:`~live_daemon.venues.nautilus.replay_streams.load_streams`), and once
connected:

- publishes the instruments first (the data engine adds them to the cache; each sandbox
  client sees them on ``data.instrument.<venue>.*`` and creates a matching engine);
- publishes, right away, a *snapshot*: each instrument's last quote before the start
  offset (the last quote of the day when the offset is 00:00 and ``loop`` is on, as if the
  previous day had been the same), so a book exists before the first replayed tick;
- replays every tick from ``start_offset_secs`` (time of day) on, keeping the original
  inter-arrival gaps divided by ``speed`` (1 = real time) and re-stamping each tick with the
  wall clock: ``ts_event = ts_init = clock now``. Live components (sandbox matching engines,
  time alerts of exec algorithms) compare data times with the wall clock, so original
  timestamps cannot be kept. Ticks due at the same wake-up share one timestamp and are
  published in their original order (a quote before a trade of the same instant);
- at the end of the day wraps to 00:00 (``loop=True``, the day's gap structure continues
  across the wrap) or stops (``loop=False``).

The streams and their schedule (which rows are due when) are in
:mod:`live_daemon.venues.nautilus.replay_streams`.

Tick sizes in the store are in base units, as everywhere in the backtests; instruments are
built with :func:`to_nautilus_instrument` (base units). Prices and sizes are rounded onto
the instrument's grid (``strict=False``) rather than failing mid-replay.

Add it to a node with :func:`~live_daemon.venues.nautilus.config.replay_client_config` and
:class:`~live_daemon.venues.nautilus.factories.ReplayDataClientFactory`::

    config = TradingNodeConfig(data_clients={REPLAY_CLIENT_NAME: replay_client_config(...)})
    node = TradingNode(config)
    node.add_data_client_factory(REPLAY_CLIENT_NAME, ReplayDataClientFactory)

The client does not hand its config to the Nautilus base class, which would JSON-encode it
and fail on the in-process objects it may carry (``store``, ``reference``, ``streams``).
It is routed as the default data client, so subscriptions for any venue reach it; they are
no-ops (everything is published anyway).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.core.data import Data
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.instruments import Instrument

from execution_core.errors import ConfigError
from execution_core.instruments.reference import InstrumentReference, load_reference
from execution_core.nautilus.instruments import to_nautilus_instrument
from execution_core.stores import open_store
from execution_core.stores.base import ObjectStore
from live_daemon.venues.nautilus.config import ReplayDataClientConfig
from live_daemon.venues.nautilus.replay_streams import (
    DueRows,
    ReplaySchedule,
    ReplayStream,
    build_ticks,
    in_replay_order,
    load_streams,
)

MAX_SLEEP_SECS = 0.5
"""Longest sleep between wake-ups, so that a stop is noticed promptly."""


class ReplayDataClient(LiveMarketDataClient):
    """Replays tick-store days in real time (see the module docstring).

    The day is read when the client is built (``node.build()``), unless the config carries
    preloaded ``streams``: a missing tick file fails the build with a ``DataError``.
    ``published`` counts the ticks published so far.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client_id: ClientId,
        config: ReplayDataClientConfig,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=None,  # multi-venue
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=InstrumentProvider(),
            # Not passed on: the base class JSON-encodes its config, which fails for the
            # in-process store/reference objects.
            config=None,
        )
        self.replay_config = config
        if config.store is not None:
            self._store: ObjectStore = config.store
        elif config.store_url is not None:
            self._store = open_store(config.store_url)
        else:
            raise ConfigError("replay data client: neither store nor store_url is set")
        self._reference: InstrumentReference = (
            config.reference
            if config.reference is not None
            else load_reference(config.reference_path)
        )
        self._keys = tuple(config.instrument_keys)
        self._day = dt.date.fromisoformat(config.day)
        self._speed = float(config.speed)
        self._start_ns = round(config.start_offset_secs * 1e9)
        self._loop_day = bool(config.loop)
        # Fail at build time on keys the reference does not know or Nautilus cannot map.
        self.instruments: dict[str, Instrument] = {
            key: to_nautilus_instrument(self._reference.get(key)) for key in self._keys
        }
        # Read the ticks now (node.build(), before the node starts) unless preloaded: in
        # _connect a worker thread would hardly run, since the kernel polls with
        # asyncio.sleep(0) until every client is connected and starves it of the GIL.
        self._streams: list[ReplayStream] = (
            config.streams
            if config.streams is not None
            else load_streams(self._store, self._reference, self._keys, self._day)
        )
        for stream in self._streams:  # the same instrument objects the ticks refer to
            stream.instrument = self.instruments[stream.key]
        self.published = 0
        self._replay_task: asyncio.Task | None = None

    async def _connect(self) -> None:
        for instrument in self.instruments.values():
            self._handle_data(instrument)
        schedule = ReplaySchedule(self._streams, self._start_ns, loop=self._loop_day)
        now = self._clock.timestamp_ns()
        self._publish([(rows, build_ticks(rows, now)) for rows in schedule.snapshot()])
        self._replay_task = self.create_task(self._replay(schedule, now), log_msg="replay")
        self._log.info(
            f"Replaying {len(self._keys)} instrument(s) of {self._day} from "
            f"{self._start_ns / 1e9:.0f}s at speed {self._speed:g}"
        )

    async def _disconnect(self) -> None:
        task, self._replay_task = self._replay_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _replay(self, schedule: ReplaySchedule, wall_start: int) -> None:
        while True:
            now = self._clock.timestamp_ns()
            position = self._start_ns + int((now - wall_start) * self._speed)
            due = schedule.take_due(position)
            if due:
                try:
                    self._publish([(rows, build_ticks(rows, now)) for rows in due])
                except Exception as exc:  # not expected (the files were validated): go on
                    self._log.error(f"Skipped {len(due)} batch(es) of ticks: {exc!r}")
            upcoming = schedule.next_due()
            if upcoming is None:
                self._log.info("Replay reached the end of the day (loop off)")
                return
            wait = (upcoming - position) / self._speed / 1e9
            await asyncio.sleep(min(max(wait, 0.0), MAX_SLEEP_SECS))

    def _publish(self, batches: list[tuple[DueRows, list[Data]]]) -> None:
        batches = [(rows, ticks) for rows, ticks in batches if ticks]
        if not batches:
            return
        for tick in in_replay_order(batches):
            self._handle_data(tick)
            self.published += 1

    # Everything is published whether subscribed or not: subscriptions are no-ops here
    # (the base class would log NotImplementedError for each).
    async def _subscribe(self, command: Any) -> None:
        pass

    async def _subscribe_instruments(self, command: Any) -> None:
        pass

    async def _subscribe_instrument(self, command: Any) -> None:
        pass

    async def _subscribe_quote_ticks(self, command: Any) -> None:
        pass

    async def _subscribe_trade_ticks(self, command: Any) -> None:
        pass

    async def _unsubscribe(self, command: Any) -> None:
        pass

    async def _unsubscribe_instruments(self, command: Any) -> None:
        pass

    async def _unsubscribe_instrument(self, command: Any) -> None:
        pass

    async def _unsubscribe_quote_ticks(self, command: Any) -> None:
        pass

    async def _unsubscribe_trade_ticks(self, command: Any) -> None:
        pass
