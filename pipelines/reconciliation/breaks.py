"""Where the OMS and the venues disagree: deterministic polars joins, no loop per row.

The venue record is the truth about what happened at a venue; the OMS was read *after* it,
so anything the OMS learnt after ``read_at`` is not a break:

* orders created after ``read_at`` are not expected at the venue, and orders updated after
  it (the daemon's own settling included) are not compared field by field;
* OMS fills with ``ts`` after ``read_at`` are not expected at the venue, and the OMS
  position is taken back to ``read_at`` by subtracting them before it meets the venue's.

Break types — orders: ``missing_in_oms``; ``missing_at_venue`` (routed, created by
``read_at``, neither REJECTED nor CANCELED with nothing filled: the daemon closes an
in-flight order its venue never had as CANCELED "not found at the venue", nothing happened
to it anywhere, and it must not stay a break in every later run); ``status_mismatch`` (two
open statuses are compatible: SUBMITTED vs ACCEPTED); ``filled_quantity_mismatch``. Fills:
``fill_missing`` (the venue's fill is not in the OMS), ``fill_missing_at_venue``,
``fill_mismatch`` (quantity, price or order). Positions: ``position_mismatch`` per concrete
venue key, both the OMS (sum over strategies) against the venue and the OMS positions
against the signed sum of the OMS's own fills.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from execution_core.accounting.settlement import is_inverse
from execution_core.instruments.reference import load_reference
from pipelines.reconciliation.frames import QUANTITY, OmsSnapshot, VenueRecord
from pipelines.reconciliation.schema import BREAK_COLUMNS, BREAK_SCHEMA_POLARS

# Statuses during which an order is still working; any two of them are compatible.
OPEN_STATUSES = ["RECEIVED", "SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED"]
# Venue spellings of the OMS statuses (NautilusTrader's among them).
VENUE_STATUS_ALIASES = {
    "CANCELLED": "CANCELED",
    "EXPIRED": "CANCELED",
    "NEW": "ACCEPTED",
    "INITIALIZED": "SUBMITTED",
    "PENDING_UPDATE": "ACCEPTED",
    "PENDING_CANCEL": "ACCEPTED",
    "TRIGGERED": "ACCEPTED",
}
_ZERO = pl.lit(0).cast(QUANTITY)


@dataclass(frozen=True)
class Comparison:
    """One breaks table and how many rows were looked at to find it."""

    breaks: pl.DataFrame  # BREAK_COLUMNS, all strings
    compared: dict[str, int]


def decimal_text(expr: pl.Expr) -> pl.Expr:
    """A decimal as its shortest plain text: 0.010000000000000000 -> "0.01", 2.0 -> "2"."""
    return expr.cast(pl.String).str.replace(r"\.?0+$", "")


def _rows(frame: pl.DataFrame, break_type: str, **columns: pl.Expr) -> pl.DataFrame:
    """Break rows of one type from ``frame``; columns not given are null."""
    exprs = [pl.lit(break_type).alias("break_type")]
    for name in BREAK_COLUMNS[1:]:
        expr = columns.get(name, pl.lit(None))
        exprs.append(expr.cast(pl.String).alias(name))
    return frame.select(exprs)


def _combine(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The parts in the given (break type) order, each sorted by its keys."""
    sorted_parts = [
        part.sort(["venue_key", "order_id", "fill_id"], nulls_last=True) for part in parts
    ]
    return pl.concat([pl.DataFrame(schema=BREAK_SCHEMA_POLARS), *sorted_parts])


def _unserved_note(served_keys: set[str] | None, message: str) -> pl.Expr:
    if served_keys is None:
        return pl.lit(message)
    return (
        pl.when(pl.col("venue_key").is_in(sorted(served_keys)))
        .then(pl.lit(message))
        .otherwise(pl.format("no venue that was read serves {}", pl.col("venue_key")))
    )


def order_breaks(
    oms_orders: pl.DataFrame,
    venue_orders: pl.DataFrame,
    read_at: dt.datetime,
    served_keys: set[str] | None = None,
) -> Comparison:
    venue = venue_orders.with_columns(
        reported=pl.col("status"), status=pl.col("status").replace(VENUE_STATUS_ALIASES)
    )
    missing_in_oms = venue.join(oms_orders.select("order_id"), on="order_id", how="anti")
    never_worked = (pl.col("status") == "REJECTED") | (
        (pl.col("status") == "CANCELED") & (pl.col("filled_quantity") == _ZERO)
    )
    expected = oms_orders.filter(
        pl.col("venue_key").is_not_null() & ~never_worked & (pl.col("created_at") <= read_at)
    )
    missing_at_venue = expected.join(venue.select("order_id"), on="order_id", how="anti")
    matched = oms_orders.join(venue, on="order_id", how="inner", suffix="_venue")
    both = matched.filter(pl.col("updated_at") <= read_at)
    compatible = (pl.col("status") == pl.col("status_venue")) | (
        pl.col("status").is_in(OPEN_STATUSES) & pl.col("status_venue").is_in(OPEN_STATUSES)
    )
    status = both.filter(~compatible)
    filled = both.filter(pl.col("filled_quantity") != pl.col("filled_quantity_venue"))
    breaks = _combine(
        [
            _rows(
                missing_in_oms,
                "missing_in_oms",
                order_id=pl.col("order_id"),
                venue_key=pl.col("venue_key"),
                venue_value=pl.col("reported"),
                detail=pl.format(
                    "the venue has this order ({}, quantity {}, filled {}); the OMS does not",
                    pl.col("reported"),
                    decimal_text(pl.col("quantity")).fill_null("unknown"),
                    decimal_text(pl.col("filled_quantity")).fill_null("unknown"),
                ),
            ),
            _rows(
                missing_at_venue,
                "missing_at_venue",
                order_id=pl.col("order_id"),
                venue_key=pl.col("venue_key"),
                oms_value=pl.col("status"),
                detail=_unserved_note(served_keys, "routed to the venue, not in its record"),
            ),
            _rows(
                status,
                "status_mismatch",
                order_id=pl.col("order_id"),
                venue_key=pl.col("venue_key_venue").fill_null(pl.col("venue_key")),
                oms_value=pl.col("status"),
                venue_value=pl.col("reported"),
                detail=pl.lit("status differs (not both open)"),
            ),
            _rows(
                filled,
                "filled_quantity_mismatch",
                order_id=pl.col("order_id"),
                venue_key=pl.col("venue_key_venue").fill_null(pl.col("venue_key")),
                oms_value=decimal_text(pl.col("filled_quantity")),
                venue_value=decimal_text(pl.col("filled_quantity_venue")),
                detail=pl.format(
                    "filled quantity differs (OMS {}, venue {})",
                    pl.col("status"),
                    pl.col("reported"),
                ),
            ),
        ]
    )
    compared = {
        "oms_orders": oms_orders.height,
        "venue_orders": venue.height,
        "matched": matched.height,
        "compared_fields": both.height,
        "changed_after_read": matched.height - both.height,
    }
    return Comparison(breaks, compared)


def _fill_text(suffix: str = "") -> pl.Expr:
    return pl.format(
        "{} @ {} (order {})",
        decimal_text(pl.col(f"quantity{suffix}")),
        decimal_text(pl.col(f"price{suffix}")),
        pl.col(f"order_id{suffix}"),
    )


def fill_breaks(
    oms_fills: pl.DataFrame,
    venue_fills: pl.DataFrame,
    read_at: dt.datetime,
    served_keys: set[str] | None = None,
) -> Comparison:
    key = ["venue_key", "fill_id"]
    fill_missing = venue_fills.join(oms_fills.select(key), on=key, how="anti")
    expected = oms_fills.filter(pl.col("ts") <= read_at)
    missing_at_venue = expected.join(venue_fills.select(key), on=key, how="anti")
    both = oms_fills.join(venue_fills, on=key, how="inner", suffix="_venue")
    differs = {
        name: pl.col(name) != pl.col(f"{name}_venue") for name in ("quantity", "price", "order_id")
    }
    mismatch = both.filter(pl.any_horizontal(*differs.values()))
    breaks = _combine(
        [
            _rows(
                fill_missing,
                "fill_missing",
                order_id=pl.col("order_id"),
                fill_id=pl.col("fill_id"),
                venue_key=pl.col("venue_key"),
                venue_value=_fill_text(),
                detail=pl.lit("the venue has a fill the OMS does not"),
            ),
            _rows(
                missing_at_venue,
                "fill_missing_at_venue",
                order_id=pl.col("order_id"),
                fill_id=pl.col("fill_id"),
                venue_key=pl.col("venue_key"),
                oms_value=_fill_text(),
                detail=_unserved_note(served_keys, "the OMS has a fill the venue does not"),
            ),
            _rows(
                mismatch,
                "fill_mismatch",
                order_id=pl.col("order_id"),
                fill_id=pl.col("fill_id"),
                venue_key=pl.col("venue_key"),
                oms_value=_fill_text(),
                venue_value=_fill_text("_venue"),
                detail=pl.concat_str(
                    pl.lit("differs: "),
                    pl.concat_str(
                        [pl.when(d).then(pl.lit(n)) for n, d in differs.items()],
                        separator=", ",
                        ignore_nulls=True,
                    ),
                ),
            ),
        ]
    )
    compared = {
        "oms_fills": oms_fills.height,
        "venue_fills": venue_fills.height,
        "matched": both.height,
    }
    return Comparison(breaks, compared)


def signed_fills(oms_fills: pl.DataFrame, oms_orders: pl.DataFrame) -> pl.DataFrame:
    """The OMS fills with ``signed`` (+quantity for a BUY, −quantity for a SELL), in the
    unit of the OMS's positions: base units, but USD contracts for an inverse instrument
    (:func:`inverse_fills_in_contracts`)."""
    fills = oms_fills.join(
        oms_orders.select("order_id", "side"), on="order_id", how="left"
    ).with_columns(
        signed=pl.when(pl.col("side") == "SELL")
        .then(-pl.col("quantity"))
        .otherwise(pl.col("quantity"))
        .cast(QUANTITY)
    )
    return inverse_fills_in_contracts(fills)


def inverse_fills_in_contracts(fills: pl.DataFrame) -> pl.DataFrame:
    """An inverse fill (Deribit ``…@INV``) is a whole number of the venue's USD contracts
    that the OMS stores in base units (USD ÷ price): ``signed`` goes back to USD, on the
    instrument's size grid (what removes the division's last-digit noise), as the OMS's
    inverse positions are kept."""
    keys = [k for k in fills["venue_key"].drop_nulls().unique().to_list() if is_inverse(k)]
    if not keys:
        return fills
    inverse = fills.filter(pl.col("venue_key").is_in(keys))
    reference = load_reference()
    usd = []
    for key, signed, price in inverse.select("venue_key", "signed", "price").iter_rows():
        grid = reference.get(key).size_increment
        usd.append((signed * price / grid).to_integral_value() * grid)
    in_usd = inverse.with_columns(signed=pl.Series(usd, dtype=QUANTITY))
    return pl.concat([fills.filter(~pl.col("venue_key").is_in(keys)), in_usd])


def _by_key(frame: pl.DataFrame, column: str, name: str) -> pl.DataFrame:
    return frame.group_by("venue_key").agg(pl.col(column).sum().cast(QUANTITY).alias(name))


def _outer(left: pl.DataFrame, right: pl.DataFrame) -> pl.DataFrame:
    joined = left.join(right, on="venue_key", how="full", coalesce=True)
    return joined.with_columns(pl.exclude("venue_key").fill_null(_ZERO))


def position_breaks(
    oms_positions: pl.DataFrame,
    oms_fills: pl.DataFrame,
    oms_orders: pl.DataFrame,
    venue_positions: pl.DataFrame,
    read_at: dt.datetime,
) -> Comparison:
    positions = _by_key(oms_positions.rename({"instrument_key": "venue_key"}), "quantity", "oms")
    fills = signed_fills(oms_fills, oms_orders)
    since_read = _by_key(fills.filter(pl.col("ts") > read_at), "signed", "since_read")
    at_read = _outer(positions, since_read).select(
        "venue_key", (pl.col("oms") - pl.col("since_read")).cast(QUANTITY).alias("oms")
    )
    vs_venue = _outer(at_read, _by_key(venue_positions, "quantity", "venue"))
    vs_fills = _outer(positions, _by_key(fills, "signed", "fills"))
    breaks = _combine(
        [
            _rows(
                vs_venue.filter(pl.col("oms") != pl.col("venue")),
                "position_mismatch",
                venue_key=pl.col("venue_key"),
                oms_value=decimal_text(pl.col("oms")),
                venue_value=decimal_text(pl.col("venue")),
                detail=pl.lit("OMS positions (sum over strategies, as of read_at) vs the venue"),
            ),
            _rows(
                vs_fills.filter(pl.col("oms") != pl.col("fills")),
                "position_mismatch",
                venue_key=pl.col("venue_key"),
                oms_value=decimal_text(pl.col("oms")),
                detail=pl.format(
                    "OMS positions vs the OMS's own fills: the signed fills sum to {}",
                    decimal_text(pl.col("fills")),
                ),
            ),
        ]
    )
    compared = {"venue_keys": vs_venue.height, "oms_position_rows": oms_positions.height}
    return Comparison(breaks, compared)


def reconcile(oms: OmsSnapshot, venue: VenueRecord) -> dict[str, Comparison]:
    """The three breaks tables (``orders``, ``fills``, ``positions``)."""
    served = venue.served_keys
    return {
        "orders": order_breaks(oms.orders, venue.orders, venue.read_at, served),
        "fills": fill_breaks(oms.fills, venue.fills, venue.read_at, served),
        "positions": position_breaks(
            oms.positions, oms.fills, oms.orders, venue.positions, venue.read_at
        ),
    }
