"""Interactive Brokers through ib_async (TWS API socket protocol), laid out like a
NautilusTrader adapter: :mod:`.config` (settings), :mod:`.contracts` (canonical ids ↔ IB
contracts), :mod:`.orders` (our orders → IB orders, IB statuses), :mod:`.adapter`
(:class:`~.adapter.InteractiveBrokersAdapter`), and :mod:`.standin`, a local stand-in that
speaks the protocol subset the adapter uses, for tests and paper mode.

What the tests check (``tests/live_daemon/venues/interactive_brokers``): the mappings; the
stand-in's message layouts read back by ib_async's own ``Decoder`` at server version 176;
the adapter against the stand-in over real sockets (the unmodified ib_async client:
handshake, startup sync, market and limit orders, fills with commissions, cancel,
rejections with IB's code, open orders, positions, executions, an order found by orderRef
and not sent again after a reconnect, a fill made while disconnected told after the
reconnect, the stand-in process killed and restarted keeping its journal, quotes from
``reqMktData``). What they do
not: real TWS/IB Gateway (the stand-in follows ib_async's reading of the protocol, not
captures of TWS's own bytes), partial fills, order modification, market depth, TWS's
rules across client ids (master client, orders of other clients).
This ``__init__`` imports nothing, so importing one module does not pull in the others.
"""
