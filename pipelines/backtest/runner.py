"""Run one backtest: signal events + windowed ticks → NautilusTrader → result frames.

Inputs are checked before the engine is built (algorithm names and params, instruments
with a venue and data), so a bad signal fails fast with its file and row.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from execution_core.accounting.portfolio import Portfolio
from execution_core.errors import DataError, ExecutionServicesError
from execution_core.execution_window import EXECUTION_WINDOW_NS
from execution_core.instruments.ids import CanonicalId
from execution_core.instruments.reference import InstrumentReference
from execution_core.nautilus.exec_algorithms import all_exec_algorithms
from execution_core.orders import Side
from execution_core.results.ledger import EMPTY_MARKS, build_ledger, mark_samples
from execution_core.routing.router import SmartRouter
from execution_core.ticks.schema import TickKind
from execution_core.ticks.window_loader import TickWindows
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import build_engine
from pipelines.backtest.results import (
    build_summary,
    fill_frame,
    order_frame,
    set_arrival_prices,
)
from pipelines.backtest.strategy import (
    Decision,
    SignalEvent,
    SignalExecutionConfig,
    SignalExecutionStrategy,
)
from pipelines.backtest.tick_feed import engine_ticks

log = logging.getLogger(__name__)


@dataclass
class BacktestResult:
    run_id: str
    orders: pl.DataFrame
    fills: pl.DataFrame
    positions: pl.DataFrame
    equity_curve: pl.DataFrame
    summary: dict[str, Any]
    closing: Portfolio
    decisions: list[Decision] = field(default_factory=list)


def signal_events(
    events: pl.DataFrame, reference: InstrumentReference, venue_keys: set[str]
) -> list[SignalEvent]:
    """Target changes as strategy events; a bad row raises DataError naming file and row.

    The algorithm params were validated when the signals were loaded (the ``signals``
    asset); an instrument that no venue with tick data lists is caught here."""
    out = []
    for row in events.iter_rows(named=True):
        where = f"{row.get('signal_file') or 'signals'} row {row['signal_row']}"
        try:
            cid = CanonicalId.parse(row["instrument_key"])
            listing = [s.key for s in reference.backtest_listing(cid)]
        except ExecutionServicesError as exc:  # bad params, bad ID, unknown instrument
            raise DataError(f"{where}: {exc}") from None
        if not set(listing) & venue_keys:
            raise DataError(
                f"{where}: no venue with tick data lists {row['instrument_key']}"
                f" (listed by {listing or 'none'})"
            )
        delta = round(float(row["delta_quantity"]), 12)
        ts_ns = (
            int(row["ts_event"].timestamp() * 1e9)
            if not isinstance(row["ts_event"], int)
            else row["ts_event"]
        )
        out.append(
            SignalEvent(
                operation_id=f"{row['strategy_id']}#{row['signal_row']}@{ts_ns}",
                strategy_id=row["strategy_id"],
                ts_ns=ts_ns,
                signal_key=row["instrument_key"],
                quantity=abs(delta),
                side=Side.BUY if delta > 0 else Side.SELL,
                algorithm=row["exec_algorithm"] or "NORMAL",
                params=row["exec_algorithm_params"],
                signal_file=row.get("signal_file"),
                signal_row=int(row["signal_row"]),
            )
        )
    return out


def derive_run_id(day: str, inputs: dict[str, Any], config: BacktestConfig) -> str:
    """Same inputs and config → same run_id, so a re-run replaces rather than duplicates."""
    digest = hashlib.sha256(
        json.dumps(
            {"inputs": inputs, "config": config.as_dict()}, sort_keys=True, default=str
        ).encode()
    )
    return f"bt-{day}-{digest.hexdigest()[:12]}"


def run_backtest(
    run_id: str,
    events: pl.DataFrame,
    ticks: list[TickWindows],
    reference: InstrumentReference,
    config: BacktestConfig,
    io: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    opening: Portfolio | None = None,
    opened_at: dt.datetime | None = None,
) -> BacktestResult:
    """The day's backtest, from ``opening`` (the previous day's closing portfolio; flat
    when ``None``) to the portfolio it closes with. ``opened_at`` (the day's start) adds
    the opening rows that join the days' equity curves."""
    venue_keys = {t.instrument_key for t in ticks if not t.frame.is_empty()}
    signal_list = signal_events(
        events.with_columns(pl.col("ts_event").dt.epoch("ns")), reference, venue_keys
    )
    book = _Book(
        opening=(opening or Portfolio()).with_accounts(
            reference.backtest_venues(), config.starting_cash
        ),
        opened_at=opened_at,
    )
    if not signal_list:  # no target change: nothing to execute, the portfolio carries through
        return _results(run_id, [], {}, [], ticks, config, io or {}, [], book)
    specs = [reference.get(key) for key in sorted(venue_keys)]
    engine, instruments = build_engine(specs, config, _coin_prices(specs, ticks))
    try:
        ends = [e.ts_ns + EXECUTION_WINDOW_NS - 1 for e in signal_list]
        data = engine_ticks(ticks, instruments, ends)
        engine.add_data(data, sort=True)
        # The day's ticks (millions of objects) live until the run ends: the garbage
        # collector would only walk them again and again. Freezing changes no result.
        gc.freeze()
        if progress:
            progress(
                f"engine_loaded ticks={len(data)} instruments={len(instruments)}"
                f" signals={len(signal_list)}"
            )
        for algorithm in all_exec_algorithms():
            engine.add_exec_algorithm(algorithm)
        router = SmartRouter(reference, config.cost_model)
        ids = {key: inst.id for key, inst in instruments.items()}
        strategies = []
        for strategy_id in sorted({e.strategy_id for e in signal_list}):
            strategy = SignalExecutionStrategy(
                SignalExecutionConfig(
                    strategy_id=strategy_id,
                    order_id_tag=strategy_id.replace("-", "")[:16],
                    decision_timeout_ms=config.decision_timeout_ms,
                ),
                [e for e in signal_list if e.strategy_id == strategy_id],
                router,
                ids,
            )
            engine.add_strategy(strategy)
            strategies.append(strategy)
        # The clock starts at the first signal, not at the first tick: a window's first quote
        # can come after its signal, and the decision timeout counts from the signal.
        engine.run(start=min((e.ts_ns for e in signal_list), default=None))
        orders = list(engine.cache.orders())
        decisions = [d for s in strategies for d in s.decisions]
        keys = {inst.id.value: key for key, inst in instruments.items()}
        return _results(run_id, orders, keys, decisions, ticks, config, io or {}, signal_list, book)
    finally:
        gc.unfreeze()
        engine.dispose()


def _coin_prices(specs: list, ticks: list[TickWindows]) -> dict[str, float]:
    """Coin → its first mid among the day's quotes of its inverse contracts (funds the
    engine's coin balances)."""
    prices: dict[str, float] = {}
    inverse = {s.key: s.settlement for s in specs if s.is_inverse}
    for t in ticks:
        coin = inverse.get(t.instrument_key)
        if coin and t.kind is TickKind.QUOTES and not t.frame.is_empty() and coin not in prices:
            first = t.frame.sort("ts_event").row(0, named=True)
            prices[coin] = (first["bid_price"] + first["ask_price"]) / 2
    return prices


@dataclass(frozen=True)
class _Book:
    """Where the day's accounting starts: the opening portfolio, at the day's start."""

    opening: Portfolio
    opened_at: dt.datetime | None


def _results(
    run_id: str,
    orders: list,
    keys: dict[str, str],
    decisions: list[Decision],
    ticks: list[TickWindows],
    config: BacktestConfig,
    io: dict[str, Any],
    signal_list: list[SignalEvent],
    book: _Book,
) -> BacktestResult:
    set_arrival_prices(
        decisions,
        {t.instrument_key: t.frame for t in ticks if t.kind is TickKind.QUOTES},
        int(config.cost_model.max_book_age_ms * 1_000_000),
    )
    order_df = order_frame(orders, keys, decisions)
    fills = fill_frame(orders, keys)
    traded = set(keys.values())
    marked = traded | set(book.opening.positions)  # carried positions are marked too
    marks = [
        mark_samples(t.frame, t.instrument_key)
        for t in ticks
        if t.kind is TickKind.QUOTES and t.instrument_key in marked
    ]
    ledger = build_ledger(
        fills, pl.concat(marks) if marks else EMPTY_MARKS, book.opening, book.opened_at
    )
    summary = build_summary(
        run_id=run_id,
        strategy_ids=sorted({e.strategy_id for e in signal_list}),
        instruments=sorted(traded),
        orders=order_df,
        fills=fills,
        equity=ledger.equity_curve,
        decisions=decisions,
        opening=book.opening,
        closing=ledger.closing,
        io=io,
        config=config.as_dict(),
    )
    return BacktestResult(
        run_id,
        order_df,
        fills,
        ledger.positions,
        ledger.equity_curve,
        summary,
        ledger.closing,
        decisions,
    )
