"""Thin NautilusTrader wrappers shared by the backtests and the live daemon.

- :mod:`execution_core.nautilus.instruments`: :class:`InstrumentSpec` → Nautilus
  ``Instrument`` (``CryptoPerpetual`` / ``CurrencyPair``), venues, reverse ID lookup.
- :mod:`execution_core.nautilus.data`: tick-store frames (polars) → ``TradeTick`` /
  ``QuoteTick`` lists through ``from_raw_arrays_to_list``, and a stable merge by ``ts_init``.
- :mod:`execution_core.nautilus.exec_algorithms`: ``ExecAlgorithm``s around the schedules.

Only this sub-package imports NautilusTrader eagerly; the rest of ``execution_core`` stays
free of it.
"""

from __future__ import annotations

from execution_core.nautilus.data import merged_stream, quote_ticks, trade_ticks
from execution_core.nautilus.instruments import (
    from_nautilus_instrument_id,
    quantity_scale,
    to_nautilus_instrument,
    venue_of,
)

__all__ = [
    "from_nautilus_instrument_id",
    "merged_stream",
    "quantity_scale",
    "quote_ticks",
    "to_nautilus_instrument",
    "trade_ticks",
    "venue_of",
]
