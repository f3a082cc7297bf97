"""The breaks tables: one row per disagreement between the OMS and a venue.

Every table (orders, fills, positions) has the same columns, all strings: ``break_type``
(never null, one of the table's types), then ``order_id``, ``fill_id``, ``venue_key``,
``oms_value``, ``venue_value`` and ``detail``, each null where it does not apply.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

BREAK_COLUMNS = [
    "break_type", "order_id", "fill_id", "venue_key", "oms_value", "venue_value", "detail",
]  # fmt: skip
BREAK_SCHEMA_POLARS = pl.Schema({name: pl.String() for name in BREAK_COLUMNS})

ORDER_BREAK_TYPES = [
    "missing_in_oms", "missing_at_venue", "status_mismatch", "filled_quantity_mismatch",
]  # fmt: skip
FILL_BREAK_TYPES = ["fill_missing", "fill_missing_at_venue", "fill_mismatch"]
POSITION_BREAK_TYPES = ["position_mismatch"]
BREAK_TYPES = {
    "orders": ORDER_BREAK_TYPES,
    "fills": FILL_BREAK_TYPES,
    "positions": POSITION_BREAK_TYPES,
}


def breaks_schema(table: str) -> pa.DataFrameSchema:
    """The pandera schema of one breaks table (``orders``, ``fills`` or ``positions``)."""
    columns = {name: pa.Column(pl.String, nullable=name != "break_type") for name in BREAK_COLUMNS}
    columns["break_type"] = pa.Column(pl.String, pa.Check.isin(BREAK_TYPES[table]))
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=f"{table}_breaks")


BREAKS_SCHEMAS = {table: breaks_schema(table) for table in BREAK_TYPES}


def empty_breaks() -> pl.DataFrame:
    return pl.DataFrame(schema=BREAK_SCHEMA_POLARS)
