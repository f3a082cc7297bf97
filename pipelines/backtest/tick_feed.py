"""The day's windowed ticks as the engine's data feed: NautilusTrader ticks, quotes ordered
before trades of the same instant, and a heartbeat quote at each window end so that the
timers closing a window fire (the engine's clock only moves with data)."""

from __future__ import annotations

import polars as pl
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.instruments import Instrument

from execution_core.execution_window import EXECUTION_WINDOW
from execution_core.nautilus.data import quote_ticks, trade_ticks
from execution_core.ticks.schema import TickKind
from execution_core.ticks.window_loader import TickWindows


def with_window_end_heartbeats(quotes: pl.DataFrame, ends: list[int]) -> pl.DataFrame:
    """``quotes`` plus, at each window end that follows a quote inside that window, the last
    quote repeated: the book does not change, but the engine's clock reaches the window end,
    so the timers that close the window fire (the clock only moves with data)."""
    if not ends or quotes.is_empty():
        return quotes
    ts = pl.col("ts_event")
    marks = pl.DataFrame({"end": sorted(set(ends))}).with_columns(
        pl.col("end").cast(pl.Datetime("ns", "UTC"))
    )
    last = marks.join_asof(
        quotes.with_columns(ts.alias("quoted_at")),
        left_on="end",
        right_on="ts_event",
        strategy="backward",
    ).filter(
        pl.col("quoted_at").is_not_null() & (pl.col("end") - pl.col("quoted_at") < EXECUTION_WINDOW)
    )
    beats = last.select(
        pl.col("end").alias("ts_event"), *[c for c in quotes.columns if c != "ts_event"]
    )
    return pl.concat([quotes, beats.select(quotes.columns)]).sort("ts_event", maintain_order=True)


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
