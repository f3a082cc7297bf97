"""The local Deribit venue ("stand-in"), speaking Deribit API v2 JSON-RPC over WebSocket on
127.0.0.1 (issue 12, item 3). Work in progress; built so far, each module one concept:

- :mod:`.config`: its configuration (and ``EXEC_DERIBIT_*`` settings), rate-limit defaults
  and fault settings;
- :mod:`.instruments`: Deribit names and contract specs from the instrument reference;
- :mod:`.model`: orders, trades, positions and their Deribit wire shapes;
- :mod:`.matching`: the matching rules as plain functions;
- :mod:`.ratelimit`: Deribit's credit-based leaky buckets;
- :mod:`.auth`: sessions, token expiry, client credentials.

Not built yet: the WebSocket server, the replay of ticks into the book, the durable record,
faults at run time and the ``exec-venue deribit`` command.
"""
