"""The summary of a range of backtest days, from the days' ``summary.json`` (pure).

The days are consecutive and each opened with the previous day's close, so the range's
PnL is the sum of the daily PnLs, and ``equity_continuity_error`` (final equity − starting
cash − Σ daily PnL) is 0 up to float rounding when nothing was lost or counted twice.
Slippage adds up per group weighted by filled notional, as within a day.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

SLIPPAGE_GROUPS = ("slippage_bps", "slippage_bps_by_venue", "slippage_bps_by_strategy")


def summarize_range(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary over consecutive days' summaries (oldest first)."""
    if not summaries:
        raise ValueError("no days to summarize")
    first, last = summaries[0], summaries[-1]
    pnl = sum(s["pnl"] for s in summaries)
    starting_cash = last["starting_cash"]
    return {
        "days": len(summaries),
        "from": first["day"],
        "to": last["day"],
        "starting_cash": starting_cash,
        "opening_equity": first["opening_equity"],
        "final_equity": last["final_equity"],
        "pnl": round(pnl, 8),
        "realized_pnl": round(sum(s["realized_pnl"] for s in summaries), 8),
        "total_fees": round(sum(s["total_fees"] for s in summaries), 8),
        "equity_continuity_error": last["final_equity"] - starting_cash - pnl,
        "max_drawdown": min(s["max_drawdown"] for s in summaries),
        "n_orders": sum(s["n_orders"] for s in summaries),
        "n_fills": sum(s["n_fills"] for s in summaries),
        "signals": sum(s["signals"] for s in summaries),
        "rejected_signals": sum(len(s["rejected_signals"]) for s in summaries),
        "closing_positions": last["closing_positions"],
        **{group: combined_slippage([s[group] for s in summaries]) for group in SLIPPAGE_GROUPS},
    }


def combined_slippage(days: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per group: bps weighted by filled notional, notionals and orders summed."""
    weighted: dict[str, float] = defaultdict(float)
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for day in days:
        for group, row in day.items():
            weighted[group] += row["slippage_bps"] * row["filled_notional"]
            for field in ("filled_notional", "ordered_notional", "orders"):
                totals[group][field] += row[field]
    out = {}
    for group in sorted(totals):
        filled, ordered = totals[group]["filled_notional"], totals[group]["ordered_notional"]
        out[group] = {
            "slippage_bps": round(weighted[group] / filled, 4) if filled else 0.0,
            "filled_notional": round(filled, 2),
            "ordered_notional": round(ordered, 2),
            "fill_ratio": round(filled / ordered, 4) if ordered else 0.0,
            "orders": int(totals[group]["orders"]),
        }
    return out
