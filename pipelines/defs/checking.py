"""Helpers shared by every domain's asset checks."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from execution_core.stores import artifacts
from pipelines.defs.resources import StoresResource


def blocking_spec(asset: str, name: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name=name, asset=asset, blocking=True, description=description)


def check_result(
    name: str, asset: str, problems: list[str], **metadata: int
) -> dg.AssetCheckResult:
    """A check result listing the first problems (passed when there are none)."""
    return dg.AssetCheckResult(
        check_name=name,
        asset_key=asset,
        passed=not problems,
        metadata={
            "n_problems": len(problems),
            "problems": "\n".join(problems[:20]) or "none",
            **metadata,
        },
    )


def retracting_on_failure(
    stores: StoresResource, prefix: str, results: Iterator[dg.AssetCheckResult]
) -> Iterator[dg.AssetCheckResult]:
    """Pass check results through; if a blocking check failed, withdraw the committed set,
    so no later run (not only this one) reads a partition that failed its checks."""
    failed = False
    for result in results:
        failed = failed or not result.passed
        yield result
    if failed:
        artifacts.retract(stores.results, prefix)
