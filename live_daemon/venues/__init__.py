"""Venue gateways of the live daemon.

- :mod:`live_daemon.venues.gateway`: the contract the orchestrator works against, and the
  value objects of a venue's record (:class:`~live_daemon.venues.gateway.VenueOrderRecord`,
  :class:`~live_daemon.venues.gateway.VenueState`), free of NautilusTrader.
- :mod:`live_daemon.venues.nautilus`: everything that imports NautilusTrader, laid out
  like a NautilusTrader adapter (its docstring maps it):
  :class:`~live_daemon.venues.nautilus.venue.PaperVenueGateway`, a ``TradingNode`` of
  sandbox venues (BINANCE, BYBIT, OKX) matching against ticks replayed from the tick store
  (:mod:`~live_daemon.venues.nautilus.data`), with our execution algorithms; and the
  ``TradingNodeConfig`` of the real Binance (spot, USD-M futures), Bybit and OKX adapters,
  credentials from the environment (:mod:`~live_daemon.venues.nautilus.config`).
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

Only :mod:`live_daemon.venues.nautilus` imports NautilusTrader (an import-linter contract
in ``pyproject.toml``). The venue host reaches it through ``PaperVenueGateway`` only; this
package itself, the gateway contract and the client side (``process`` and what it imports)
do not load it at all.
"""
