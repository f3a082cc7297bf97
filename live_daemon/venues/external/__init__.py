"""Venues NautilusTrader does not have, reached through adapters of our own (Deribit,
Interactive Brokers): the adapter contract (:mod:`.adapter`), the registry that starts and
stops them with the daemon (:mod:`.registry`). The daemon reaches them, and the paper
NautilusTrader venue process, through one gateway (:mod:`live_daemon.venues.composite`).
This ``__init__`` imports nothing, so importing one module does not pull in the others."""
