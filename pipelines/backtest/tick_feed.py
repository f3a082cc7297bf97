"""The day's windowed ticks as the engine's data feed: NautilusTrader ticks, quotes ordered
before trades of the same instant, and a heartbeat quote at each window end so that the
timers closing a window fire (the engine's clock only moves with data)."""

from __future__ import annotations

import numpy as np
import polars as pl
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.instruments import Instrument

from execution_core.execution_window import EXECUTION_WINDOW_NS
from execution_core.nautilus.data import quote_ticks, trade_ticks
from execution_core.ticks.schema import TickKind
from execution_core.ticks.window_loader import TickWindows


def with_window_end_heartbeats(quotes: pl.DataFrame, ends: list[int]) -> pl.DataFrame:
    """``quotes`` plus, at each window end that follows a quote inside that window, the last
    quote repeated: the book does not change, but the engine's clock reaches the window end,
    so the timers that close the window fire (the clock only moves with data).

    ``quotes`` is sorted by ``ts_event`` (the loader's contract). A heartbeat goes right
    after the last quote at or before its end (after every quote of that same instant);
    the frame is cut there and the pieces concatenated without copying, rather than
    concatenated and re-sorted whole."""
    if not ends or quotes.is_empty():
        return quotes
    ts = quotes["ts_event"].dt.epoch("ns").to_numpy()
    marks = np.array(sorted(set(ends)), dtype=np.int64)
    after = np.searchsorted(ts, marks, side="right")  # rows at or before each end
    last = after - 1
    keep = last >= 0
    keep[keep] = marks[keep] - ts[last[keep]] < EXECUTION_WINDOW_NS
    if not keep.any():
        return quotes
    at, marks, rows = after[keep].tolist(), marks[keep], last[keep]
    stamps = pl.Series("ts_event", marks).cast(pl.Datetime("ns", "UTC"))
    beats = quotes[rows].with_columns(stamps.cast(quotes.schema["ts_event"]))
    pieces, cut = [], 0
    for i, position in enumerate(at):
        if position > cut:
            pieces.append(quotes.slice(cut, position - cut))
        pieces.append(beats.slice(i, 1))
        cut = position
    if cut < len(quotes):
        pieces.append(quotes.slice(cut))
    return pl.concat(pieces, rechunk=False)


def engine_ticks(
    ticks: list[TickWindows], instruments: dict[str, Instrument], ends: list[int]
) -> list[QuoteTick | TradeTick]:
    """The windows' ticks as NautilusTrader ticks for ``engine.add_data(..., sort=True)``:
    every quote list before every trade list, so that the engine's stable sort puts a
    quote before a trade of the same instant (whatever order ``ticks`` come in; the
    window loader gives trades first). An order arriving at that instant then sees the
    quote. Quotes get the window-end heartbeats (:func:`with_window_end_heartbeats`)."""
    quotes: list[QuoteTick | TradeTick] = []
    trades: list[QuoteTick | TradeTick] = []
    for t in ticks:
        if t.instrument_key in instruments and not t.frame.is_empty():
            if t.kind is TickKind.TRADES:
                trades.extend(trade_ticks(t.frame, instruments[t.instrument_key]))
            else:
                frame = with_window_end_heartbeats(t.frame, ends)
                quotes.extend(quote_ticks(frame, instruments[t.instrument_key]))
    return quotes + trades
