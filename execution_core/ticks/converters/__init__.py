"""Converters from real exchange formats to tick-store frames (see ARCHITECTURE.md).

Each converter reads one file and returns a polars DataFrame with exactly the contract
columns of :mod:`execution_core.ticks.schema`, stably sorted by ``ts_event`` and validated
with the pandera schema. Bad input raises :class:`~execution_core.errors.DataError` naming
the file and, where there is one, the line and column. Converters never write anything.

- :mod:`.binance`: public-data trade and bookTicker CSVs, the NautilusTrader fixtures.
- :mod:`.tardis`: Tardis trades, quotes and book_snapshot_N CSVs.
"""

from __future__ import annotations

from execution_core.ticks.converters import binance, tardis

__all__ = ["binance", "tardis"]
