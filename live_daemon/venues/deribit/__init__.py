"""Deribit API v2 (JSON-RPC 2.0 over WebSocket), shared by our client and our stand-in.

Today the package holds the protocol layer only, with no I/O: the JSON-RPC envelopes and the
frame parser (:mod:`.protocol`), Deribit's error codes (:mod:`.errors`) and the messages with
Deribit's own field names, request builders and channel names (:mod:`.messages`). Both the
future Deribit adapter (config, market data, execution, factories) and the future local
Deribit stand-in venue will speak through these modules, so that they cannot drift apart;
the fixtures in ``tests/fixtures/deribit`` tie both to Deribit's published documentation.
This ``__init__`` imports nothing, so importing one module does not pull in the others.
"""
