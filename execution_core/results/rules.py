"""Consistency rules of a backtest result set. Each returns a list of problems (empty = ok);
the Dagster asset checks and the tests call them on the files as uploaded."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from execution_core.ticks.windows import inside_windows

QTY_TOLERANCE = 1e-8
MONEY_TOLERANCE = 1e-6


def fills_match_positions(
    fills: pl.DataFrame, positions: pl.DataFrame, opening: Mapping[str, float] | None = None
) -> list[str]:
    """Signed fill quantities of each instrument add up to its final position, less the
    position it opened the day with (``opening``: instrument key → quantity)."""
    signed = fills.group_by("instrument_key").agg(
        pl.when(pl.col("side") == "BUY")
        .then(pl.col("quantity"))
        .otherwise(-pl.col("quantity"))
        .sum()
        .alias("filled")
    )
    final = (
        positions.sort("ts_event")
        .group_by("instrument_key")
        .agg(pl.col("quantity").last().alias("final"))
    )
    opened = pl.DataFrame(
        {"instrument_key": list((opening or {}).keys()), "opened": list((opening or {}).values())},
        schema={"instrument_key": pl.String, "opened": pl.Float64},
    )
    joined = (
        signed.join(final, on="instrument_key", how="full", coalesce=True)
        .join(opened, on="instrument_key", how="full", coalesce=True)
        .fill_null(0.0)
    )
    bad = joined.filter(
        (pl.col("opened") + pl.col("filled") - pl.col("final")).abs() > QTY_TOLERANCE
    )
    return [
        f"{r['instrument_key']}: opened at {r['opened']}, fills sum to {r['filled']}, "
        f"but the final position is {r['final']}"
        if r["opened"]
        else f"{r['instrument_key']}: fills sum to {r['filled']} but the final position is "
        f"{r['final']}"
        for r in bad.iter_rows(named=True)
    ]


def children_within_primaries(orders: pl.DataFrame) -> list[str]:
    """No child order, and no sum of children, exceeds its primary's quantity."""
    children = orders.filter(pl.col("parent_order_id").is_not_null())
    primaries = orders.filter(pl.col("parent_order_id").is_null()).select(
        "order_id", pl.col("quantity").alias("primary_qty")
    )
    joined = children.join(primaries, left_on="parent_order_id", right_on="order_id", how="left")
    problems = [
        f"child {r['order_id']}: primary {r['parent_order_id']} is missing"
        for r in joined.filter(pl.col("primary_qty").is_null()).iter_rows(named=True)
    ]
    problems += [
        f"child {r['order_id']}: quantity {r['quantity']} exceeds its primary's {r['primary_qty']}"
        for r in joined.filter(
            pl.col("quantity") > pl.col("primary_qty") + QTY_TOLERANCE
        ).iter_rows(named=True)
    ]
    totals = joined.group_by("parent_order_id").agg(
        pl.col("filled_quantity").sum(), pl.col("primary_qty").first()
    )
    problems += [
        f"primary {r['parent_order_id']}: children filled {r['filled_quantity']}"
        f" of {r['primary_qty']}"
        for r in totals.filter(
            pl.col("filled_quantity") > pl.col("primary_qty") + QTY_TOLERANCE
        ).iter_rows(named=True)
    ]
    return problems


def fills_inside_windows(fills: pl.DataFrame, windows: pl.DataFrame) -> list[str]:
    """Every fill happens inside an execution window of its venue instrument."""
    problems = []
    for key, group in fills.group_by("instrument_key"):
        own = windows.filter(pl.col("instrument_key") == key[0]).sort("window_start")
        spans = list(
            zip(
                own["window_start"].dt.epoch("ns").to_list(),
                own["window_end"].dt.epoch("ns").to_list(),
                strict=True,
            )
        )
        mask = inside_windows(group["ts_event"].dt.epoch("ns").to_numpy(), spans)
        problems += [
            f"fill {f} of {key[0]} at {t} is outside its windows"
            for f, t in group.filter(~pl.Series(mask)).select("fill_id", "ts_event").iter_rows()
        ]
    return problems


def fees_non_negative(fills: pl.DataFrame) -> list[str]:
    return [
        f"fill {f}: fee {x} < 0"
        for f, x in fills.filter(pl.col("fee") < 0).select("fill_id", "fee").iter_rows()
    ]


def equity_adds_up(equity: pl.DataFrame) -> list[str]:
    """equity = cash + unrealized PnL at every row (all in the account's base currency)."""
    bad = equity.with_row_index("row").filter(
        (pl.col("equity") - pl.col("cash") - pl.col("unrealized_pnl")).abs() > MONEY_TOLERANCE
    )
    return [
        f"equity row {r['row']}: {r['equity']} != cash {r['cash']}"
        f" + unrealized {r['unrealized_pnl']}"
        for r in bad.head(20).iter_rows(named=True)
    ]
