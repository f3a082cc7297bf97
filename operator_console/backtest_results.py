"""The backtest runs in the results store, read for the console.

The pipeline's ``backtest_results`` asset commits each run as one artifact set
``backtest_results/{run_id}/`` (``summary.json`` and the orders, fills, positions and
equity_curve parquet; ``execution_core/stores/artifacts.py``). Only sets whose manifest
landed count: a half-written run is not listed. Everything here is plain synchronous code
(FastAPI runs it in its thread pool).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote

import polars as pl

from execution_core.errors import DataError, StoreError
from execution_core.stores import ObjectStore
from execution_core.stores.artifacts import (
    MANIFEST,
    ArtifactSet,
    open_set,
    read_file,
    read_parquet,
)

RESULTS_PREFIX = "backtest_results"
MAX_EQUITY_POINTS = 2000
# What the runs list shows of each summary (all of it is in the run's detail).
SUMMARY_FIELDS = (
    "day", "start", "end", "strategy_ids", "instruments", "venues", "n_orders", "n_fills",
    "total_fees", "realized_pnl", "unrealized_pnl", "pnl", "opening_equity", "final_equity",
    "max_drawdown", "signals",
)  # fmt: skip


class RunNotFound(LookupError):
    """No committed run with that id (404)."""


class RunBroken(ValueError):
    """A committed run whose files cannot be read as results (422)."""


def run_ids(store: ObjectStore) -> list[str]:
    """The ids of the committed runs (a manifest at ``backtest_results/{run_id}/``)."""
    ids = []
    for key in store.list(RESULTS_PREFIX + "/"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2] == MANIFEST:
            ids.append(parts[1])
    return sorted(ids)


def dagster_link(dagster_url: str, summary: dict[str, Any], metadata: dict[str, Any]) -> str:
    """The run in the Dagster UI when the summary names it, else the asset's partition."""
    base = dagster_url.rstrip("/")
    run = summary.get("dagster_run_id") or metadata.get("dagster_run_id")
    if run:
        return f"{base}/runs/{quote(str(run), safe='')}"
    partition = summary.get("day") or metadata.get("partition")
    link = f"{base}/assets/{RESULTS_PREFIX}"
    return f"{link}?view=partitions&partition={quote(str(partition))}" if partition else link


def _open(store: ObjectStore, run_id: str) -> tuple[ArtifactSet, dict[str, Any]]:
    if "/" in run_id or run_id in ("", ".", ".."):
        raise RunNotFound(f"no backtest run {run_id!r}: not a run id")
    prefix = f"{RESULTS_PREFIX}/{run_id}"
    if not store.exists(f"{prefix}/{MANIFEST}"):
        raise RunNotFound(f"no committed backtest run {run_id!r} at {store.describe(prefix)}/")
    try:
        artifacts = open_set(store, prefix)
        summary = json.loads(read_file(store, artifacts, "summary.json"))
    except (DataError, StoreError) as exc:
        raise RunBroken(str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunBroken(f"{store.describe(prefix)}/summary.json: not JSON ({exc})") from None
    if not isinstance(summary, dict):
        raise RunBroken(f"{store.describe(prefix)}/summary.json: not a JSON object")
    return artifacts, summary


def _frame(store: ObjectStore, artifacts: ArtifactSet, name: str) -> pl.DataFrame:
    try:
        return read_parquet(store, artifacts, name)
    except (DataError, StoreError) as exc:
        raise RunBroken(str(exc)) from None


def run_summary(store: ObjectStore, run_id: str, dagster_url: str) -> dict[str, Any]:
    """One run as the runs list shows it."""
    artifacts, summary = _open(store, run_id)
    return {
        "run_id": run_id,
        "location": store.describe(artifacts.prefix) + "/",
        **{k: summary.get(k) for k in SUMMARY_FIELDS},
        "dagster_url": dagster_link(dagster_url, summary, artifacts.metadata),
    }


def list_runs(store: ObjectStore, dagster_url: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(runs, problems): every committed run; one that cannot be read is a problem named
    with its location, not a failure of the whole list."""
    runs, problems = [], []
    for run_id in run_ids(store):
        try:
            runs.append(run_summary(store, run_id, dagster_url))
        except (RunBroken, RunNotFound) as exc:
            problems.append(str(exc))
    runs.sort(key=lambda r: (str(r.get("day") or ""), r["run_id"]), reverse=True)
    return runs, problems


def _group_stats(orders: pl.DataFrame, column: str) -> dict[str, dict[str, Any]]:
    """Per group of the parent orders: count and fill ratio (quantity filled / ordered).
    Used when the summary has no figures for the group (its slippage needs the arrival
    prices, which only the summary has: then it is null)."""
    parents = orders.filter(pl.col("parent_order_id").is_null()) if len(orders) else orders
    stats: dict[str, dict[str, Any]] = {}
    if not len(parents):
        return stats
    grouped = parents.group_by(column).agg(
        pl.len().alias("orders"),
        pl.col("quantity").sum().alias("ordered"),
        pl.col("filled_quantity").sum().alias("filled"),
    )
    for row in grouped.sort(column).iter_rows(named=True):
        ordered = row["ordered"] or 0.0
        stats[str(row[column])] = {
            "slippage_bps": None,
            "orders": row["orders"],
            "fill_ratio": round(row["filled"] / ordered, 4) if ordered else 0.0,
        }
    return stats


def run_detail(store: ObjectStore, run_id: str, dagster_url: str) -> dict[str, Any]:
    """A run's summary with slippage by algorithm and venue, fill ratio, fees and PnL:
    from the summary where it has them, computed from the orders and fills otherwise."""
    artifacts, summary = _open(store, run_id)
    orders = _frame(store, artifacts, "orders.parquet")
    fills = _frame(store, artifacts, "fills.parquet")
    parents = orders.filter(pl.col("parent_order_id").is_null()) if len(orders) else orders
    ordered = float(parents["quantity"].sum()) if len(parents) else 0.0
    filled = float(parents["filled_quantity"].sum()) if len(parents) else 0.0
    fees_by_venue: dict[str, float] = {}
    if len(fills):
        by_venue = fills.group_by("venue").agg(pl.col("fee").sum()).sort("venue")
        fees_by_venue = {r["venue"]: round(r["fee"], 8) for r in by_venue.iter_rows(named=True)}
    total_fees = summary.get("total_fees")
    if total_fees is None:
        total_fees = round(float(fills["fee"].sum()), 8) if len(fills) else 0.0
    return {
        **run_summary(store, run_id, dagster_url),
        "slippage_by_algorithm": summary.get("slippage_bps")
        or _group_stats(orders, "exec_algorithm"),
        "slippage_by_venue": summary.get("slippage_bps_by_venue") or _group_stats(orders, "venue"),
        "fill_ratio": round(filled / ordered, 4) if ordered else 0.0,
        "total_fees": total_fees,
        "fees_by_venue": fees_by_venue,
        "n_orders": summary.get("n_orders", len(orders)),
        "n_fills": summary.get("n_fills", len(fills)),
        "summary": summary,
    }


def equity_points(
    store: ObjectStore, run_id: str, max_points: int = MAX_EQUITY_POINTS
) -> dict[str, Any]:
    """The equity curve as JSON points, every n-th row (and the last) beyond ``max_points``."""
    artifacts, _ = _open(store, run_id)
    curve = _frame(store, artifacts, "equity_curve.parquet")
    missing = {"ts_event", "equity"} - set(curve.columns)
    if missing:
        where = store.describe(artifacts.prefix) + "/equity_curve.parquet"
        raise RunBroken(f"{where}: no column(s) {', '.join(sorted(missing))}")
    curve = curve.sort("ts_event")
    total = len(curve)
    if total > max_points:
        step = math.ceil(total / (max_points - 1))
        keep = list(range(0, total, step))
        if keep[-1] != total - 1:
            keep.append(total - 1)
        curve = curve[keep]
    drawdown = curve["drawdown"] if "drawdown" in curve.columns else None
    points = [
        {
            "ts": ts.isoformat(),
            "equity": equity,
            "drawdown": None if drawdown is None else drawdown[i],
        }
        for i, (ts, equity) in enumerate(zip(curve["ts_event"], curve["equity"], strict=True))
    ]
    return {"run_id": run_id, "points": points, "total_points": total}
