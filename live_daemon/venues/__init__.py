"""Venue gateways of the live daemon.

- :mod:`live_daemon.venues.paper`: :class:`~live_daemon.venues.paper.PaperVenueGateway`, a
  NautilusTrader ``TradingNode`` of sandbox venues (BINANCE, BYBIT, OKX) matching against
  ticks replayed from the tick store, with our execution algorithms; its parts are
  :mod:`~live_daemon.venues.sandbox` (the node and its sandbox clients),
  :mod:`~live_daemon.venues.paper_requests` (orders in),
  :mod:`~live_daemon.venues.paper_tracking` (Nautilus events out) and
  :mod:`~live_daemon.venues.paper_events` (what the daemon receives).
- :mod:`live_daemon.venues.host` and :mod:`live_daemon.venues.process`: that paper venue in
  a process of its own, and the daemon's gateway to it (the daemon's paper mode), over the
  frames of :mod:`live_daemon.venues.wire`.
- :mod:`live_daemon.venues.replay`: the replaying ``LiveMarketDataClient`` behind it.
- :mod:`live_daemon.venues.real`: ``TradingNodeConfig`` for the real Binance (spot, USD-M
  futures), Bybit and OKX adapters, credentials from the environment.

The submodules import NautilusTrader; this package itself does not.
"""
