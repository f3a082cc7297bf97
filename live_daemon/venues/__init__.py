"""Venue gateways of the live daemon.

- :mod:`live_daemon.venues.paper`: :class:`~live_daemon.venues.paper.PaperVenueGateway`, a
  NautilusTrader ``TradingNode`` of sandbox venues (BINANCE, BYBIT, OKX) matching against
  ticks replayed from the tick store, with our execution algorithms; the daemon's paper mode.
- :mod:`live_daemon.venues.replay`: the replaying ``LiveMarketDataClient`` behind it.
- :mod:`live_daemon.venues.real`: ``TradingNodeConfig`` for the real Binance (spot, USD-M
  futures), Bybit and OKX adapters, credentials from the environment.

The submodules import NautilusTrader; this package itself does not.
"""
