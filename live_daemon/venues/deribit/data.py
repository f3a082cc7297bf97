"""Market data from Deribit's ``book.*`` and ``ticker.*`` channels: :class:`QuoteBook`.

The router needs the top of book per instrument: ``(bid, bid_size, ask, ask_size, ts_ns)``
in Deribit's units (USD amounts for inverse contracts). A ``ticker`` notification carries
the top directly; a ``book`` notification is a snapshot, then changes chained by
``prev_change_id`` = the last ``change_id``. A broken chain (a missed change) makes that
book unusable until a new snapshot: :meth:`QuoteBook.on_book` says so, and the adapter
subscribes again (Deribit sends a snapshot on subscription). The latest of the two sources,
by venue timestamp, is the quote. Plain logic, no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from live_daemon.venues.deribit import messages as m
from live_daemon.venues.gateway import Quote

log = logging.getLogger(__name__)

_MS_NS = 1_000_000


@dataclass
class _Book:
    change_id: int
    bids: dict[Decimal, Decimal] = field(default_factory=dict)
    asks: dict[Decimal, Decimal] = field(default_factory=dict)


def _apply(side: dict[Decimal, Decimal], levels: list[m.BookLevel]) -> None:
    for action, price, amount in levels:
        if action is m.BookAction.delete or amount == 0:
            side.pop(price, None)
        else:
            side[price] = amount


class QuoteBook:
    """The last quote per canonical key (module docstring); ``key_of`` maps Deribit's
    instrument_name to our key (``None``: not one of ours)."""

    def __init__(self, key_of: Callable[[str], str | None]) -> None:
        self._key_of = key_of
        self._quotes: dict[str, Quote] = {}
        self._books: dict[str, _Book] = {}
        self.gaps = 0

    def last_quote(self, key: str) -> Quote | None:
        return self._quotes.get(key)

    def _set(self, key: str, quote: Quote) -> None:
        current = self._quotes.get(key)
        if current is None or quote[4] >= current[4]:
            self._quotes[key] = quote

    def on_ticker(self, data: Any) -> None:
        ticker = m.Ticker.model_validate(data)
        key = self._key_of(ticker.instrument_name)
        if key is None:
            return
        bid, ask = ticker.best_bid_price, ticker.best_ask_price
        if bid is None or ask is None or not bid or not ask:
            return  # a one-sided book is no quote
        self._set(
            key,
            (
                bid,
                ticker.best_bid_amount or Decimal(0),
                ask,
                ticker.best_ask_amount or Decimal(0),
                ticker.timestamp * _MS_NS,
            ),
        )

    def on_book(self, data: Any) -> bool:
        """Apply a book notification; ``False`` when a change was missed (resubscribe)."""
        update = m.BookUpdate.model_validate(data)
        key = self._key_of(update.instrument_name)
        if key is None:
            return True
        book = self._books.get(key)
        if update.is_snapshot:
            book = self._books[key] = _Book(update.change_id)
        elif book is None or update.prev_change_id != book.change_id:
            self.gaps += 1
            log.warning(
                "deribit_book_gap instrument=%s prev_change_id=%s expected=%s",
                update.instrument_name,
                update.prev_change_id,
                None if book is None else book.change_id,
            )
            self._books.pop(key, None)
            return False
        _apply(book.bids, update.bids)
        _apply(book.asks, update.asks)
        book.change_id = update.change_id
        if book.bids and book.asks:
            bid, ask = max(book.bids), min(book.asks)
            self._set(key, (bid, book.bids[bid], ask, book.asks[ask], update.timestamp * _MS_NS))
        return True
