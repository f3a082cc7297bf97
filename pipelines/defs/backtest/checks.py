"""Blocking checks of ``backtest_results``, run on the files as uploaded."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from execution_core.results import rules
from execution_core.results.schemas import RESULT_SCHEMAS
from execution_core.validation import schema_problems
from pipelines.defs.checking import blocking_spec, check_result
from pipelines.defs.checking import retracting_on_failure as retracting_on_failure
from pipelines.defs.committed import CommittedFiles, committed
from pipelines.defs.resources import StoresResource

ASSET = "backtest_results"
RESULT_CHECKS = [
    blocking_spec(
        ASSET, "results_schemas", "Orders, fills, positions, equity curve match their schemas."
    ),
    blocking_spec(
        ASSET,
        "fills_sum_to_positions",
        "Signed fills of each instrument sum to its final less its opening position.",
    ),
    blocking_spec(ASSET, "children_within_primaries", "No child order exceeds its primary."),
    blocking_spec(ASSET, "fills_inside_windows", "Every fill lies inside an execution window."),
    blocking_spec(ASSET, "fees_non_negative", "Fees are never negative."),
    blocking_spec(
        ASSET, "equity_is_cash_plus_unrealized", "equity = cash + unrealized PnL at every row."
    ),
]

__all__ = ["RESULT_CHECKS", "check_results", "retracting_on_failure", "schema_problems"]


def check_results(
    stores: StoresResource, partition_key: str, prefix: str
) -> Iterator[dg.AssetCheckResult]:
    uploaded = CommittedFiles(stores, prefix)
    frames = {name: uploaded.frame(name) for name in RESULT_SCHEMAS}
    opening = uploaded.json("summary.json").get("opening_positions", {})
    windows = committed(stores, "execution_windows", partition_key).frame("windows.parquet")
    orders, fills = frames["orders.parquet"], frames["fills.parquet"]
    schema_issues = [
        p
        for name, frame in frames.items()
        for p in schema_problems(frame, RESULT_SCHEMAS[name], name)
    ]
    yield check_result("results_schemas", ASSET, schema_issues)
    yield check_result(
        "fills_sum_to_positions",
        ASSET,
        rules.fills_match_positions(fills, frames["positions.parquet"], opening),
    )
    yield check_result("children_within_primaries", ASSET, rules.children_within_primaries(orders))
    yield check_result("fills_inside_windows", ASSET, rules.fills_inside_windows(fills, windows))
    yield check_result("fees_non_negative", ASSET, rules.fees_non_negative(fills))
    yield check_result(
        "equity_is_cash_plus_unrealized",
        ASSET,
        rules.equity_adds_up(frames["equity_curve.parquet"]),
    )
