"""The local Deribit venue ("stand-in"), speaking Deribit API v2 JSON-RPC over WebSocket on
127.0.0.1 (issue 12, item 3). Work in progress; built so far, each module one concept:

- :mod:`.config`: its configuration (and ``EXEC_DERIBIT_*`` settings), rate-limit defaults
  and fault settings;
- :mod:`.instruments`: Deribit names and contract specs from the instrument reference;
- :mod:`.model`: orders, trades, positions and their Deribit wire shapes;
- :mod:`.matching`: the matching rules as plain functions;
- :mod:`.ratelimit`: Deribit's credit-based leaky buckets;
- :mod:`.auth`: sessions, token expiry, client credentials.

- :mod:`.engine`: the exchange: orders matched and recorded before any reply;
- :mod:`.record`: the durable record (SQLite), reloaded on start;
- :mod:`.replay`: a day of quotes from the tick store, wall-clock paced, as the touch;
- :mod:`.server`: the WebSocket server (methods, subscriptions, heartbeats, rate limits,
  cancel-on-disconnect, ``standin/set_faults``);
- :mod:`.process`, :mod:`.cli`: ``exec-venue deribit start|stop|status|run``.
"""
