"""Helpers that turn frames and reports into Dagster metadata."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl


def _cell(value: Any) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def table_preview(frame: pl.DataFrame, rows: int = 10) -> dg.TableMetadataValue:
    """The first ``rows`` rows as a Dagster table (shown in the UI's asset page)."""
    head = frame.head(rows)
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name, str(dtype)) for name, dtype in head.schema.items()]
    )
    records = [
        dg.TableRecord({k: _cell(v) for k, v in row.items()}) for row in head.iter_rows(named=True)
    ]
    return dg.MetadataValue.table(records=records, schema=schema)


def artifact_prefix(asset: str, partition_key: str) -> str:
    """Where an asset's committed files for one partition live in the results store."""
    return f"pipeline/{asset}/{partition_key}"


def markdown_table(frame: pl.DataFrame, rows: int = 20, empty: str = "(no rows)") -> str:
    """The first ``rows`` rows as a markdown table (``|`` escaped, null as empty)."""
    if frame.is_empty():
        return empty

    def text(value: Any) -> str:
        return "" if value is None else str(_cell(value)).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(frame.columns) + " |",
        "|" + "---|" * frame.width,
        *("| " + " | ".join(text(v) for v in row) + " |" for row in frame.head(rows).rows()),
    ]
    if frame.height > rows:
        lines.append(f"\n({frame.height - rows} more rows)")
    return "\n".join(lines)
