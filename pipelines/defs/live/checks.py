"""The reconciliation assets' checks: ``no_breaks`` on each breaks table (severity ERROR)."""

from __future__ import annotations

import dagster as dg
import polars as pl

NO_BREAKS = "no_breaks"


def no_breaks_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=NO_BREAKS,
        asset=asset,
        description="The OMS and the venues agree: the breaks table is empty.",
    )


def no_breaks_result(asset: str, breaks: pl.DataFrame, location: str) -> dg.AssetCheckResult:
    """Fails (ERROR) when ``breaks`` has a row; the metadata counts them by type."""
    counts = breaks.group_by("break_type").len().sort("break_type")
    by_type = dict(zip(counts["break_type"].to_list(), counts["len"].to_list(), strict=True))
    return dg.AssetCheckResult(
        check_name=NO_BREAKS,
        asset_key=asset,
        passed=breaks.is_empty(),
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{breaks.height} breaks" if breaks.height else "no breaks",
        metadata={
            "n_breaks": breaks.height,
            "by_type": dg.MetadataValue.json(by_type),
            "location": location,
        },
    )
