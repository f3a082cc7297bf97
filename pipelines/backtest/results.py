"""Turn a finished engine's orders and fills into the result frames of ARCHITECTURE.md.

Primary orders of TWAP/VWAP/ICEBERG never reach a venue (their children do); their status,
filled quantity and average price are those of their children taken together.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from typing import Any

import polars as pl
from nautilus_trader.model.enums import OrderType, order_status_to_str
from nautilus_trader.model.events import OrderFilled, OrderSubmitted
from nautilus_trader.model.orders import Order

from execution_core.accounting.portfolio import Portfolio
from execution_core.accounting.settlement import is_inverse
from execution_core.execution_window import EXECUTION_WINDOW_NS
from execution_core.results.schemas import FILL_COLUMNS, ORDER_COLUMNS, TS
from pipelines.backtest.strategy import Decision

QTY_EPS = 1e-9


def _tag(order: Order, name: str) -> str:
    for tag in order.tags or []:
        if tag.startswith(f"{name}="):
            return tag.split("=", 1)[1]
    return ""


def _parent(order: Order) -> str | None:
    spawn = order.exec_spawn_id
    if spawn is None or spawn == order.client_order_id:
        return None
    return spawn.value


def _ts_submitted(order: Order) -> int | None:
    return next((e.ts_event for e in order.events if isinstance(e, OrderSubmitted)), None)


def fill_frame(orders: list[Order], keys: dict[str, str]) -> pl.DataFrame:
    """Every fill of every order; ``keys`` maps Nautilus instrument ids to canonical keys."""
    rows = []
    for order in orders:
        for event in order.events:
            if isinstance(event, OrderFilled):
                key = keys[event.instrument_id.value]
                rows.append(
                    (
                        f"{key.split(':', 1)[0]}-{event.trade_id.value}",
                        event.client_order_id.value,
                        key,
                        key.split(":", 1)[0],
                        "BUY" if event.is_buy else "SELL",
                        float(event.last_qty.as_decimal()),
                        float(event.last_px.as_decimal()),  # as_double() can miss the tick grid
                        event.commission.as_double(),
                        event.commission.currency.code,
                        "MAKER" if event.liquidity_side.name == "MAKER" else "TAKER",
                        event.ts_event,
                    )
                )
    return pl.DataFrame(rows, schema=FILL_COLUMNS, orient="row").sort(["ts_event", "fill_id"])


def order_frame(
    orders: list[Order], keys: dict[str, str], decisions: list[Decision]
) -> pl.DataFrame:
    children: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        parent = _parent(order)
        if parent is not None:
            children[parent].append(order)
    submitted_at = {d.client_order_id: d.ts_decision for d in decisions if d.client_order_id}
    strategy_of = {d.event.operation_id: d.event.strategy_id for d in decisions}
    rows = []
    for order in orders:
        key = keys[order.instrument_id.value]
        own_id = order.client_order_id.value
        kids = children.get(own_id, [])
        is_algo_primary = _parent(order) is None and order.exec_algorithm_id is not None
        if is_algo_primary:
            filled = sum(float(k.filled_qty.as_decimal()) for k in kids)
            notional = sum(float(k.filled_qty.as_decimal()) * (k.avg_px or 0.0) for k in kids)
            avg = notional / filled if filled > QTY_EPS else None
            quantity = float(order.quantity.as_decimal())
            status = (
                "FILLED"
                if filled >= quantity - QTY_EPS
                else ("PARTIALLY_FILLED" if filled > QTY_EPS else "CANCELED")
            )
            ts_submitted = submitted_at.get(own_id, order.ts_init)
            ts_last = max([k.ts_last for k in kids], default=order.ts_last)
        else:
            filled = float(order.filled_qty.as_decimal())
            avg = order.avg_px if filled > QTY_EPS else None
            status = order_status_to_str(order.status)
            ts_submitted = _ts_submitted(order)
            ts_last = order.ts_last
        rows.append(
            (
                own_id,
                _parent(order),
                _tag(order, "op"),
                strategy_of.get(_tag(order, "op"), ""),  # the signal's, not NT's strategy id
                key,
                key.split(":", 1)[0],
                "BUY" if order.is_buy else "SELL",
                "LIMIT" if order.order_type == OrderType.LIMIT else "MARKET",
                float(order.quantity.as_decimal()),
                float(order.price.as_decimal()) if order.order_type == OrderType.LIMIT else None,
                _tag(order, "algo") or "NORMAL",
                status,
                filled,
                avg,
                ts_submitted,
                ts_last,
            )
        )
    return pl.DataFrame(rows, schema=ORDER_COLUMNS, orient="row").sort(["ts_submitted", "order_id"])


def set_arrival_prices(
    decisions: list[Decision], quotes: dict[str, pl.DataFrame], max_age_ns: int
) -> None:
    """Set each routed decision's arrival price: the mid of the chosen venue at the signal.

    That is the venue's last quote at or before the signal's timestamp, if it is no older
    than ``max_age_ns`` (the router's ``max_book_age_ms``: a quote the router would call
    stale is no arrival price either). A window opens exactly at its signal, so such a quote
    is there only when it lands on the signal's instant or when an earlier window of the
    same venue instrument covers the signal (windows are merged). Otherwise the arrival
    price is the window's own first quote of that venue (the first at or after the signal),
    never the one the decision saw later. ``arrival_source`` says which rule applied.
    ``quotes`` maps venue keys to their quote frames (sorted by ``ts_event``)."""
    ts_cache: dict[str, list[int]] = {}
    for decision in decisions:
        key = decision.venue_key
        if key is None or key not in quotes or quotes[key].is_empty():
            continue
        frame = quotes[key]
        if key not in ts_cache:
            ts_cache[key] = frame["ts_event"].dt.epoch("ns").to_list()
        ts = ts_cache[key]
        signal = decision.event.ts_ns
        after = bisect_right(ts, signal)  # ts[after - 1] <= signal < ts[after]
        if after and signal - ts[after - 1] <= max_age_ns:
            row, source = after - 1, "at_or_before_signal"
        elif after < len(ts) and ts[after] < signal + EXECUTION_WINDOW_NS:
            row, source = after, "first_in_window"
        else:
            continue
        bid, ask = frame["bid_price"][row], frame["ask_price"][row]
        decision.arrival_price = (bid + ask) / 2
        decision.arrival_source = source


def slippage_by(
    orders: pl.DataFrame, decisions: list[Decision], column: str = "exec_algorithm"
) -> dict[str, dict[str, float]]:
    """Slippage of the primaries, grouped by ``column`` of the order frame (algorithm,
    venue or strategy), against the arrival mid at the signal
    (:func:`set_arrival_prices`), weighted by filled notional at arrival (so instruments of
    different size units add up), in bps: positive = paid more than arrival when buying,
    received less when selling. Fill ratio is by notional too."""
    arrival = {d.client_order_id: d.arrival_price for d in decisions if d.client_order_id}
    weighted: dict[str, float] = defaultdict(float)
    filled: dict[str, float] = defaultdict(float)
    ordered: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for row in orders.filter(pl.col("parent_order_id").is_null()).iter_rows(named=True):
        price = arrival.get(row["order_id"])
        if not price:
            continue
        group = row[column]
        count[group] += 1
        # an inverse contract's quantity already is its USD notional
        at = 1.0 if is_inverse(row["instrument_key"]) else price
        ordered[group] += row["quantity"] * at
        if row["avg_fill_price"] is None:
            continue
        sign = 1.0 if row["side"] == "BUY" else -1.0
        notional = row["filled_quantity"] * at
        weighted[group] += sign * (row["avg_fill_price"] - price) / price * 1e4 * notional
        filled[group] += notional
    return {
        group: {
            "slippage_bps": round(weighted[group] / filled[group], 4) if filled[group] else 0.0,
            "filled_notional": round(filled[group], 2),
            "ordered_notional": round(ordered[group], 2),
            "fill_ratio": round(filled[group] / ordered[group], 4) if ordered[group] else 0.0,
            "orders": count[group],
        }
        for group in sorted(count)
    }


def decision_delays(decisions: list[Decision]) -> dict[str, float | int]:
    """Signal → routing decision over the routed signals, in ms: how long the router
    waited for the venues to quote (bounded by ``decision_timeout_ms``)."""
    delays = [d.delay_ns / 1e6 for d in decisions if d.venue_key is not None]
    return {
        "n": len(delays),
        "mean_ms": round(sum(delays) / len(delays), 3) if delays else 0.0,
        "max_ms": round(max(delays), 3) if delays else 0.0,
    }


def decision_record(decision: Decision) -> dict[str, Any]:
    """One entry of ``decisions.json``: the routing decision with its own timing and its
    reference (decision-time) price, next to the signal-time arrival price."""
    return {
        "operation_id": decision.event.operation_id,
        "venue_key": decision.venue_key,
        "rejection": decision.rejection,
        "ts_signal": decision.event.ts_ns,
        "ts_decision": decision.ts_decision,
        "decision_delay_ms": round(decision.delay_ns / 1e6, 3),
        "arrival_price": decision.arrival_price,
        "arrival_source": decision.arrival_source,
        "decision_price": decision.decision_price,
        "routing": decision.routing,
    }


def _total_fees(fills: pl.DataFrame) -> float:
    """The day's fees in the reporting currency: a coin fee (inverse contracts) at its
    fill's price; linear fees as they are."""
    if not len(fills):
        return 0.0
    inverse = fills["instrument_key"].map_elements(is_inverse, return_dtype=pl.Boolean)
    if not inverse.any():
        return round(float(fills["fee"].sum()), 8)
    fees = pl.when(inverse).then(pl.col("fee") * pl.col("price")).otherwise(pl.col("fee"))
    return round(float(fills.select(fees.sum()).item()), 8)


def _iso(ts: object) -> str | None:
    return ts.isoformat() if hasattr(ts, "isoformat") else None


def build_summary(
    *,
    run_id: str,
    strategy_ids: list[str],
    instruments: list[str],
    orders: pl.DataFrame,
    fills: pl.DataFrame,
    equity: pl.DataFrame,
    decisions: list[Decision],
    opening: Portfolio,
    closing: Portfolio,
    io: dict[str, Any],
    config: dict[str, Any],
) -> dict[str, Any]:
    """``summary.json`` (docs/ARCHITECTURE.md "Backtest results"), plus what was rejected.

    Money is the day's: ``pnl`` = closing − opening equity, ``realized_pnl`` and
    ``total_fees`` of the day's fills; ``accounts`` gives each venue's account at the close
    (cash and realized PnL since the first day); ``starting_cash`` is what the accounts
    were opened with, in all."""
    realized = closing.realized_pnl - opening.realized_pnl
    times = [d.event.ts_ns for d in decisions]
    return {
        "run_id": run_id,
        "strategy_ids": strategy_ids,
        "start": _iso(pl.Series([min(times)]).cast(TS)[0]) if times else None,
        "end": _iso(fills["ts_event"].max()) if len(fills) else None,
        "instruments": instruments,
        "venues": sorted({key.split(":", 1)[0] for key in instruments}),
        "n_orders": len(orders),
        "n_fills": len(fills),
        "total_fees": _total_fees(fills),
        "realized_pnl": round(realized, 8),
        "opening_equity": round(opening.equity, 8),
        "final_equity": round(closing.equity, 8),
        "pnl": round(closing.equity - opening.equity, 8),
        "unrealized_pnl": round(closing.unrealized_pnl, 8),
        "opening_positions": opening.open_quantities(),
        "closing_positions": closing.open_quantities(),
        "accounts": closing.account_report(),
        "max_drawdown": round(min(equity["drawdown"].to_list(), default=0.0), 8),
        "slippage_bps": slippage_by(orders, decisions, "exec_algorithm"),
        "slippage_bps_by_venue": slippage_by(orders, decisions, "venue"),
        "slippage_bps_by_strategy": slippage_by(orders, decisions, "strategy_id"),
        "decision_delay": decision_delays(decisions),
        "io": {k: io.get(k) for k in ("bytes_read", "bytes_full_days", "reduction")},
        "signals": len(decisions),
        "rejected_signals": [
            {"operation_id": d.event.operation_id, "reason": d.rejection}
            for d in decisions
            if d.rejection
        ],
        "starting_cash": closing.starting_cash,
        "config": config,
    }
