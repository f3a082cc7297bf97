"""Pandera validation whose failures name the file, the column, the rows and the values."""

from __future__ import annotations

import pandera.errors
import pandera.polars as pa
import polars as pl

from execution_core.errors import DataError


def schema_problems(
    frame: pl.DataFrame, schema: pa.DataFrameSchema, what: str, limit: int = 20
) -> list[str]:
    """One line per failing check and row (empty when the frame is valid)."""
    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        return [
            f"{what}: column {r['column']} failed {r['check']} at row {r['index']}"
            f" (failure case {r['failure_case']})"
            for r in exc.failure_cases.head(limit).iter_rows(named=True)
        ]
    return []


def describe_schema_errors(exc: pandera.errors.SchemaErrors, where: str, limit: int = 5) -> str:
    """One line per failing check, naming the column and the first failing rows."""
    lines = []
    for (column, check), group in exc.failure_cases.group_by(
        ["column", "check"], maintain_order=True
    ):
        rows = [r for r in group["index"].to_list() if r is not None][:limit]
        values = [str(v)[:60] for v in group["failure_case"].to_list()[:limit]]
        lines.append(f"column {column!r} failed {check!r} at rows {rows} (values {values})")
    return f"{where}: " + "; ".join(lines)


def validated(frame: pl.DataFrame, schema: pa.DataFrameSchema, where: str) -> pl.DataFrame:
    """The validated frame, or a DataError naming ``where``, the columns and the rows."""
    try:
        return schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        raise DataError(describe_schema_errors(exc, where)) from None
