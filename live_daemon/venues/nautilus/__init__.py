"""The daemon's NautilusTrader side, laid out like one of NautilusTrader's own adapters: the
only package of ``live_daemon`` that imports ``nautilus_trader`` (an import-linter
contract in ``pyproject.toml``).

- :mod:`~live_daemon.venues.nautilus.config`: the node configs: the paper node
  (``paper_node_config``: sandbox venues and the replay data client), the replay data
  client's (``ReplayDataClientConfig``, ``replay_client_config``) and the real venues'
  (``build_live_node_config``, ``LiveVenue``, ``live_instrument_id``; credentials from the
  environment).
- :mod:`~live_daemon.venues.nautilus.credentials`: the environment variables each real
  venue needs and ``missing_credentials`` (no ``nautilus_trader``: the daemon calls it
  before launching the venue).
- :mod:`~live_daemon.venues.nautilus.live_venue`: ``LiveVenueGateway``, the venue process's
  node in live mode (the real Binance/Bybit/OKX clients; the paper gateway's API).
- :mod:`~live_daemon.venues.nautilus.data`: ``ReplayDataClient``, the
  ``LiveMarketDataClient`` replaying a day of the tick store in real time;
  :mod:`~live_daemon.venues.nautilus.replay_streams`: the tick streams it plays and their
  schedule (pure logic).
- :mod:`~live_daemon.venues.nautilus.execution`: the sandbox execution client
  (``QuoteDrivenSandboxClient``: how the paper venues match) and the bridge strategy
  (``GatewayStrategy``).
- :mod:`~live_daemon.venues.nautilus.factories`: the client factories
  (``ReplayDataClientFactory``, ``SandboxLiveExecClientFactory``, ``add_live_factories``)
  and a ``TradingNode`` in the caller's loop (``new_node``, ``node_in_loop``).
- :mod:`~live_daemon.venues.nautilus.venue`: ``PaperVenueGateway``, the paper venue
  (lifecycle and the daemon's API), composed of
  :mod:`~live_daemon.venues.nautilus.orders` (``TrackedOrders``: our orders, identifiers,
  units), :mod:`~live_daemon.venues.nautilus.submission` (``OrderSubmitter``: orders in,
  cancels) and :mod:`~live_daemon.venues.nautilus.tracking` (``OrderTracker``: families of
  Nautilus orders, their events out as ``VenueEvent``).

Importing this package imports nothing: import the module you need.
"""
