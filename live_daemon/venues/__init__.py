"""Venue gateways of the live daemon.

- :mod:`live_daemon.venues.gateway`: the contract the orchestrator works against, and the
  value objects of a venue's record (:class:`~live_daemon.venues.gateway.VenueOrderRecord`,
  :class:`~live_daemon.venues.gateway.VenueState`), free of NautilusTrader.
- :mod:`live_daemon.venues.paper`: :class:`~live_daemon.venues.paper.PaperVenueGateway`, a
  NautilusTrader ``TradingNode`` of sandbox venues (BINANCE, BYBIT, OKX) matching against
  ticks replayed from the tick store, with our execution algorithms; its parts are
  :mod:`~live_daemon.venues.sandbox` (the node and its sandbox clients),
  :mod:`~live_daemon.venues.paper_requests` (orders in),
  :mod:`~live_daemon.venues.paper_tracking` (Nautilus events out) and
  :mod:`~live_daemon.venues.paper_events` (what the daemon receives).
- The paper venue as a long-running process of its own (``exec-venue paper``,
  :mod:`~live_daemon.venues.cli`): :mod:`~live_daemon.venues.host` (the venue and its
  record), :mod:`~live_daemon.venues.journal` (the record, SQLite),
  :mod:`~live_daemon.venues.server` (one authenticated daemon at a time, over TCP),
  :mod:`~live_daemon.venues.auth` (the HMAC handshake before any frame is parsed),
  :mod:`~live_daemon.venues.wire` (the frames), :mod:`~live_daemon.venues.record_codec`
  (the record on the wire), :mod:`~live_daemon.venues.state_dir` (its directory: record,
  key, lock, pid file, log).
- :mod:`live_daemon.venues.process`: the daemon's reconnecting client of that venue
  (starting it detached when nothing listens, :mod:`~live_daemon.venues.launch`).
- :mod:`live_daemon.venues.replay`: the replaying ``LiveMarketDataClient`` behind it.
- :mod:`live_daemon.venues.real`: ``TradingNodeConfig`` for the real Binance (spot, USD-M
  futures), Bybit and OKX adapters, credentials from the environment.

The submodules that run the node import NautilusTrader; this package itself, the gateway
contract and the client side (``process`` and what it imports) do not.
"""
