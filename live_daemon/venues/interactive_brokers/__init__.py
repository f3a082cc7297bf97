"""Interactive Brokers through ib_async (TWS API socket protocol), laid out like a
NautilusTrader adapter: :mod:`.config` (settings), :mod:`.contracts` (canonical ids ↔ IB
contracts), :mod:`.orders` (our orders → IB orders, IB statuses), :mod:`.adapter`
(:class:`~.adapter.InteractiveBrokersAdapter`), and :mod:`.standin`, a local stand-in that
speaks the protocol subset the adapter uses, for tests and paper mode.
This ``__init__`` imports nothing, so importing one module does not pull in the others.
"""
