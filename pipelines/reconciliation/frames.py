"""The two sides of a reconciliation as typed polars frames.

* :class:`OmsSnapshot`: the OMS tables, read in one snapshot *after* the venues were read.
* :class:`VenueRecord`: what ``POST /api/reconciliation/run`` returned — when the venues
  were read (``read_at``), which venues were read, what the daemon settled first, and the
  venues' own orders, fills and positions (columnar JSON, decimal strings in base units).

Quantities and prices are exact decimals (``Decimal(38, 18)``): "0.010" and "0.01" are
equal, and sums over many fills are exact, so a comparison never sees a float tail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from execution_core.errors import DataError

QUANTITY = pl.Decimal(38, 18)
TIMESTAMP = pl.Datetime("us", "UTC")

OMS_ORDERS = pl.Schema(
    {
        "order_id": pl.String(), "venue_key": pl.String(), "status": pl.String(),
        "side": pl.String(), "quantity": QUANTITY, "filled_quantity": QUANTITY,
        "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
    }
)  # fmt: skip
OMS_FILLS = pl.Schema(
    {
        "venue_key": pl.String(), "fill_id": pl.String(), "order_id": pl.String(),
        "quantity": QUANTITY, "price": QUANTITY, "fee": QUANTITY, "ts": TIMESTAMP,
    }
)  # fmt: skip
OMS_POSITIONS = pl.Schema(
    {"strategy_id": pl.String(), "instrument_key": pl.String(), "quantity": QUANTITY}
)

VENUE_ORDERS = pl.Schema(
    {
        "order_id": pl.String(), "venue_key": pl.String(), "status": pl.String(),
        "quantity": QUANTITY, "filled_quantity": QUANTITY,
    }
)  # fmt: skip
VENUE_FILLS = pl.Schema(
    {
        "fill_id": pl.String(), "order_id": pl.String(), "venue_key": pl.String(),
        "quantity": QUANTITY, "price": QUANTITY, "fee": QUANTITY, "ts": pl.String(),
    }
)  # fmt: skip
VENUE_POSITIONS = pl.Schema({"venue_key": pl.String(), "quantity": QUANTITY})


@dataclass(frozen=True)
class OmsSnapshot:
    orders: pl.DataFrame  # OMS_ORDERS
    fills: pl.DataFrame  # OMS_FILLS
    positions: pl.DataFrame  # OMS_POSITIONS (per strategy and concrete instrument)


@dataclass(frozen=True)
class VenueRecord:
    read_at: dt.datetime
    orders: pl.DataFrame  # VENUE_ORDERS
    fills: pl.DataFrame  # VENUE_FILLS
    positions: pl.DataFrame  # VENUE_POSITIONS
    venues: dict[str, dict[str, Any]] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)
    settled: list[dict[str, Any]] = field(default_factory=list)

    @property
    def served_keys(self) -> set[str] | None:
        """Every venue_key a venue that was read serves; ``None`` if no venue listed any."""
        keys = {k for v in self.venues.values() for k in v.get("venue_keys") or []}
        return keys or None


def typed(frame: pl.DataFrame, schema: pl.Schema, where: str) -> pl.DataFrame:
    """``frame`` (string columns) cast to ``schema``; a DataError names the column and the
    first values that do not convert."""
    columns = []
    for name, dtype in schema.items():
        column = frame[name]
        if column.dtype == dtype:
            columns.append(column)
            continue
        try:
            columns.append(column.cast(dtype, strict=True))
        except pl.exceptions.PolarsError:
            converted = column.cast(dtype, strict=False)
            bad = column.filter(converted.is_null() & column.is_not_null()).head(3).to_list()
            raise DataError(f"{where}: column {name!r} is not {dtype}: {bad}") from None
    return pl.DataFrame(columns)


def _columnar(body: Mapping[str, Any], key: str, schema: pl.Schema, where: str) -> pl.DataFrame:
    table = body.get(key)
    if not isinstance(table, Mapping):
        raise DataError(f"{where}: {key!r} is missing or not an object of columns")
    missing = [name for name in schema if name not in table]
    if missing:
        raise DataError(f"{where}: {key!r} lacks the columns {missing}")
    lengths = {name: len(table[name]) for name in schema}
    if len(set(lengths.values())) > 1:
        raise DataError(f"{where}: the columns of {key!r} differ in length: {lengths}")
    strings = pl.DataFrame(
        {name: table[name] for name in schema},
        schema={name: pl.String() for name in schema},
        strict=False,
    )
    return typed(strings, schema, f"{where} {key}")


def venue_record_from_json(body: Mapping[str, Any], where: str) -> VenueRecord:
    """The parsed answer of ``POST /api/reconciliation/run``; a DataError names the field."""
    try:
        read_at = dt.datetime.fromisoformat(str(body["read_at"]))
    except (KeyError, ValueError):
        raise DataError(f"{where}: 'read_at' is missing or not ISO-8601") from None
    if read_at.tzinfo is None:
        raise DataError(f"{where}: 'read_at' has no time zone: {body['read_at']!r}")
    return VenueRecord(
        read_at=read_at.astimezone(dt.UTC),
        orders=_columnar(body, "orders", VENUE_ORDERS, where),
        fills=_columnar(body, "fills", VENUE_FILLS, where),
        positions=_columnar(body, "positions", VENUE_POSITIONS, where),
        venues=dict(body.get("venues") or {}),
        unreachable=[str(v) for v in body.get("unreachable") or []],
        settled=list(body.get("settled") or []),
    )
