"""Break computation on small hand-built frames: every break type, and none on a clean match."""

from __future__ import annotations

import polars as pl
import pytest

from execution_core.errors import DataError
from execution_core.validation import validated
from pipelines.reconciliation.breaks import (
    fill_breaks,
    order_breaks,
    position_breaks,
    reconcile,
)
from pipelines.reconciliation.frames import OmsSnapshot, VenueRecord, venue_record_from_json
from pipelines.reconciliation.schema import BREAK_COLUMNS, BREAKS_SCHEMAS
from tests.pipelines.live.frames import (
    BTC_BYBIT,
    BTC_OKX,
    READ_AT,
    after,
    oms_fill,
    oms_fills,
    oms_order,
    oms_orders,
    oms_positions,
    venue_fill,
    venue_fills,
    venue_order,
    venue_orders,
    venue_positions,
)


def rows(breaks: pl.DataFrame, *columns: str) -> list[tuple[str | None, ...]]:
    return [tuple(r) for r in breaks.select(columns or BREAK_COLUMNS).rows()]


def clean_book() -> tuple[OmsSnapshot, VenueRecord]:
    """Two orders (a BUY filled in two fills, an open SELL) that both sides agree on."""
    orders = oms_orders(
        oms_order("o1", quantity="1", filled_quantity="1"),
        oms_order("o2", side="SELL", status="SUBMITTED", filled_quantity="0", venue_key=BTC_BYBIT),
    )
    fills = oms_fills(
        oms_fill("f1", "o1", quantity="0.25"), oms_fill("f2", "o1", quantity="0.75", price="43001")
    )
    oms = OmsSnapshot(orders, fills, oms_positions(("s1", BTC_OKX, "0.6"), ("s2", BTC_OKX, "0.4")))
    venue = VenueRecord(
        read_at=READ_AT,
        orders=venue_orders(
            venue_order("o1", quantity="1.0", filled_quantity="1.00"),
            venue_order("o2", status="ACCEPTED", filled_quantity="0", venue_key=BTC_BYBIT),
        ),
        fills=venue_fills(
            venue_fill("f1", "o1", quantity="0.250"),
            venue_fill("f2", "o1", quantity="0.75", price="43001.0"),
        ),
        positions=venue_positions((BTC_OKX, "1.000"), (BTC_BYBIT, "0")),
        venues={"okx": {"venue_keys": [BTC_OKX]}, "bybit": {"venue_keys": [BTC_BYBIT]}},
    )
    return oms, venue


def test_a_clean_match_has_no_breaks_and_valid_empty_tables() -> None:
    oms, venue = clean_book()
    result = reconcile(oms, venue)
    for table, comparison in result.items():
        assert comparison.breaks.is_empty(), (table, comparison.breaks)
        assert comparison.breaks.columns == BREAK_COLUMNS
        validated(comparison.breaks, BREAKS_SCHEMAS[table], table)
    assert result["orders"].compared["matched"] == 2
    assert result["fills"].compared["matched"] == 2


# --- orders -------------------------------------------------------------------------------


def test_missing_in_oms() -> None:
    breaks = order_breaks(
        oms_orders(oms_order("o1")),
        venue_orders(venue_order("o1"), venue_order("x9", status="ACCEPTED", filled_quantity="0")),
        READ_AT,
    ).breaks
    assert rows(breaks, "break_type", "order_id", "venue_key", "oms_value", "venue_value") == [
        ("missing_in_oms", "x9", BTC_OKX, None, "ACCEPTED")
    ]
    assert breaks["detail"][0] == (
        "the venue has this order (ACCEPTED, quantity 0.5, filled 0); the OMS does not"
    )


def test_missing_at_venue_only_for_routed_orders_that_worked_created_before_read_at() -> None:
    oms = oms_orders(
        oms_order("routed", status="SUBMITTED", filled_quantity="0"),
        oms_order("rejected", status="REJECTED", filled_quantity="0"),
        oms_order("closed_unseen", status="CANCELED", filled_quantity="0"),  # settled earlier
        oms_order("cancelled_after_a_fill", status="CANCELED", filled_quantity="0.1"),
        oms_order("never_routed", venue_key=None, status="RECEIVED", filled_quantity="0"),
        oms_order("too_new", status="SUBMITTED", created_at=after(1), updated_at=after(1)),
    )
    breaks = order_breaks(oms, venue_orders(), READ_AT).breaks
    assert rows(breaks, "break_type", "order_id", "venue_key", "oms_value") == [
        ("missing_at_venue", "cancelled_after_a_fill", BTC_OKX, "CANCELED"),
        ("missing_at_venue", "routed", BTC_OKX, "SUBMITTED"),
    ]
    assert breaks["detail"][0] == "routed to the venue, not in its record"


def test_missing_at_venue_says_when_no_venue_read_serves_the_key() -> None:
    oms = oms_orders(oms_order("a"), oms_order("b", venue_key=BTC_BYBIT))
    breaks = order_breaks(oms, venue_orders(), READ_AT, served_keys={BTC_OKX}).breaks
    assert rows(breaks, "order_id", "detail") == [
        ("b", f"no venue that was read serves {BTC_BYBIT}"),
        ("a", "routed to the venue, not in its record"),
    ]


def test_status_mismatch_but_open_statuses_and_venue_spellings_are_compatible() -> None:
    oms = oms_orders(
        oms_order("submitted", status="SUBMITTED", filled_quantity="0"),
        oms_order("partial", status="PARTIALLY_FILLED", filled_quantity="0.1"),
        oms_order("cancelled", status="CANCELED", filled_quantity="0"),
        oms_order("wrong", status="FILLED"),
    )
    venue = venue_orders(
        venue_order("submitted", status="ACCEPTED", filled_quantity="0"),
        venue_order("partial", status="ACCEPTED", filled_quantity="0.1"),
        venue_order("cancelled", status="CANCELLED", filled_quantity="0"),
        venue_order("wrong", status="CANCELED"),
    )
    breaks = order_breaks(oms, venue, READ_AT).breaks
    assert rows(breaks, "break_type", "order_id", "oms_value", "venue_value") == [
        ("status_mismatch", "wrong", "FILLED", "CANCELED")
    ]


def test_filled_quantity_mismatch_compares_exact_decimals() -> None:
    oms = oms_orders(
        oms_order("same", filled_quantity="0.1"),
        oms_order("short", status="PARTIALLY_FILLED", filled_quantity="0.2"),
    )
    venue = venue_orders(
        venue_order("same", filled_quantity="0.100000"),
        venue_order("short", status="PARTIALLY_FILLED", filled_quantity="0.30"),
    )
    breaks = order_breaks(oms, venue, READ_AT).breaks
    assert rows(breaks, "break_type", "order_id", "oms_value", "venue_value") == [
        ("filled_quantity_mismatch", "short", "0.2", "0.3")
    ]


def test_orders_updated_after_read_at_are_not_compared_field_by_field() -> None:
    # the OMS moved on (filled) after the venue was read: not a break
    oms = oms_orders(oms_order("o1", updated_at=after(2)))
    venue = venue_orders(venue_order("o1", status="ACCEPTED", filled_quantity="0"))
    comparison = order_breaks(oms, venue, READ_AT)
    assert comparison.breaks.is_empty()
    assert comparison.compared["changed_after_read"] == 1


# --- fills --------------------------------------------------------------------------------


def test_fill_missing_in_the_oms() -> None:
    breaks = fill_breaks(
        oms_fills(oms_fill("f1", "o1")),
        venue_fills(venue_fill("f1", "o1"), venue_fill("f2", "o1", quantity="0.1")),
        READ_AT,
    ).breaks
    assert rows(breaks, "break_type", "fill_id", "order_id", "oms_value", "venue_value") == [
        ("fill_missing", "f2", "o1", None, "0.1 @ 43000.5 (order o1)")
    ]


def test_fill_missing_at_venue_unless_newer_than_read_at() -> None:
    oms = oms_fills(oms_fill("old", "o1"), oms_fill("new", "o1", ts=after(1)))
    breaks = fill_breaks(oms, venue_fills(), READ_AT).breaks
    assert rows(breaks, "break_type", "fill_id", "oms_value") == [
        ("fill_missing_at_venue", "old", "0.5 @ 43000.5 (order o1)")
    ]


def test_a_fill_is_keyed_by_venue_key_and_fill_id() -> None:
    # the same trade id on another instrument is another fill
    breaks = fill_breaks(
        oms_fills(oms_fill("t1", "o1")),
        venue_fills(venue_fill("t1", "o1", venue_key=BTC_BYBIT)),
        READ_AT,
    ).breaks
    assert rows(breaks, "break_type", "venue_key") == [
        ("fill_missing", BTC_BYBIT),
        ("fill_missing_at_venue", BTC_OKX),
    ]


def test_fill_mismatch_names_the_fields_that_differ() -> None:
    oms = oms_fills(
        oms_fill("q", "o1", quantity="0.5"),
        oms_fill("p", "o1", price="100"),
        oms_fill("same", "o1", quantity="0.5", price="100"),
    )
    venue = venue_fills(
        venue_fill("q", "o1", quantity="0.4"),
        venue_fill("p", "o2", price="101.5"),
        venue_fill("same", "o1", quantity="0.50", price="100.000"),
    )
    breaks = fill_breaks(oms, venue, READ_AT).breaks
    assert rows(breaks, "break_type", "fill_id", "oms_value", "venue_value", "detail") == [
        ("fill_mismatch", "p", "0.5 @ 100 (order o1)", "0.5 @ 101.5 (order o2)",
         "differs: price, order_id"),
        ("fill_mismatch", "q", "0.5 @ 43000.5 (order o1)", "0.4 @ 43000.5 (order o1)",
         "differs: quantity"),
    ]  # fmt: skip


# --- positions ----------------------------------------------------------------------------


def position_case(
    positions: pl.DataFrame, venue: pl.DataFrame, fills: pl.DataFrame | None = None
) -> pl.DataFrame:
    orders = oms_orders(oms_order("b"), oms_order("s", side="SELL"))
    fills = fills if fills is not None else oms_fills()
    return position_breaks(positions, fills, orders, venue, READ_AT).breaks


def test_position_mismatch_sums_the_oms_over_strategies() -> None:
    positions = oms_positions(("s1", BTC_OKX, "1"), ("s2", BTC_OKX, "-0.25"))
    fills = oms_fills(oms_fill("f1", "b", quantity="1"), oms_fill("f2", "s", quantity="0.25"))
    assert position_case(positions, venue_positions((BTC_OKX, "0.75")), fills).is_empty()
    breaks = position_case(positions, venue_positions((BTC_OKX, "0.5")), fills)
    assert rows(breaks, "break_type", "venue_key", "oms_value", "venue_value") == [
        ("position_mismatch", BTC_OKX, "0.75", "0.5")
    ]
    assert breaks["detail"][0].startswith("OMS positions (sum over strategies")


def test_position_only_at_the_venue_is_a_break() -> None:
    breaks = position_case(oms_positions(), venue_positions((BTC_BYBIT, "-2")))
    assert rows(breaks, "break_type", "venue_key", "oms_value", "venue_value") == [
        ("position_mismatch", BTC_BYBIT, "0", "-2")
    ]


def test_fills_after_read_at_are_taken_out_of_the_oms_position() -> None:
    # the venue was read at 0.5; a SELL of 0.2 filled afterwards moved the OMS to 0.3
    positions = oms_positions(("s1", BTC_OKX, "0.3"))
    fills = oms_fills(
        oms_fill("f1", "b", quantity="0.5"), oms_fill("f2", "s", quantity="0.2", ts=after(3))
    )
    assert position_case(positions, venue_positions((BTC_OKX, "0.5")), fills).is_empty()


def test_oms_positions_that_disagree_with_the_oms_fills() -> None:
    positions = oms_positions(("s1", BTC_OKX, "0.7"))
    fills = oms_fills(oms_fill("f1", "b", quantity="0.5"))
    breaks = position_case(positions, venue_positions((BTC_OKX, "0.7")), fills)
    assert rows(breaks, "break_type", "venue_key", "oms_value", "venue_value") == [
        ("position_mismatch", BTC_OKX, "0.7", None)
    ]
    assert breaks["detail"][0] == (
        "OMS positions vs the OMS's own fills: the signed fills sum to 0.5"
    )


DERIBIT_BTC = "DERIBIT:PERPETUAL:BTC-USD@INV"


def test_inverse_positions_are_in_usd_contracts_and_so_are_their_fills() -> None:
    """The OMS keeps a Deribit position in USD contracts but its fills in BTC (860 USD at
    43,257 is 0.019881175… BTC): the fills go back to contracts before they are summed
    (found on the paper daemon: every Deribit position was a break)."""
    btc = "0.019881175301107335"  # 860 / 43257, as the OMS stores it (18 digits)
    fills = oms_fills(
        oms_fill("f1", "b", venue_key=DERIBIT_BTC, quantity=btc, price="43257"),
        oms_fill("f2", "s", venue_key=DERIBIT_BTC, quantity="0.001", price="40000"),
    )
    positions = oms_positions(("s1", DERIBIT_BTC, "820"))  # 860 bought, 40 sold
    assert position_case(positions, venue_positions((DERIBIT_BTC, "820")), fills).is_empty()
    breaks = position_case(oms_positions(("s1", DERIBIT_BTC, "830")), venue_positions(), fills)
    assert rows(breaks, "break_type", "venue_key", "oms_value", "venue_value") == [
        ("position_mismatch", DERIBIT_BTC, "830", "0"),
        ("position_mismatch", DERIBIT_BTC, "830", None),
    ]
    assert (
        breaks["detail"][1] == "OMS positions vs the OMS's own fills: the signed fills sum to 820"
    )


# --- the whole set ------------------------------------------------------------------------


def test_every_break_type_at_once_validates_and_is_deterministic() -> None:
    oms, venue = clean_book()
    oms = OmsSnapshot(
        pl.concat([oms.orders, oms_orders(oms_order("lost", status="SUBMITTED"))]),
        oms.fills,
        oms.positions,
    )
    venue = VenueRecord(
        read_at=READ_AT,
        orders=pl.concat([venue.orders, venue_orders(venue_order("ghost"))]),
        fills=pl.concat([venue.fills, venue_fills(venue_fill("ghost_fill", "o1"))]),
        positions=venue.positions,
        venues=venue.venues,
    )
    first = reconcile(oms, venue)
    shuffled = reconcile(
        OmsSnapshot(*(f.sample(fraction=1, shuffle=True, seed=3) for f in
                      (oms.orders, oms.fills, oms.positions))),
        VenueRecord(READ_AT, *(f.sample(fraction=1, shuffle=True, seed=4) for f in
                               (venue.orders, venue.fills, venue.positions))),
    )  # fmt: skip
    for table in first:
        validated(first[table].breaks, BREAKS_SCHEMAS[table], table)
        assert first[table].breaks.equals(shuffled[table].breaks), table
    assert set(first["orders"].breaks["break_type"]) == {"missing_in_oms", "missing_at_venue"}
    assert first["fills"].breaks["break_type"].to_list() == ["fill_missing"]


# --- the daemon's answer ------------------------------------------------------------------


def answer(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "read_at": "2025-01-15T12:00:00Z",
        "venues": {"okx": {"connected": True, "endpoint": "ws://x", "venue_keys": [BTC_OKX]}},
        "unreachable": [],
        "settled": [{"kind": "fill_applied", "order_id": "o1", "fill_id": "f1"}],
        "orders": {
            "order_id": ["o1"], "venue_key": [BTC_OKX], "status": ["FILLED"],
            "quantity": ["0.5"], "filled_quantity": ["0.5"],
        },
        "fills": {
            "fill_id": ["f1"], "order_id": ["o1"], "venue_key": [BTC_OKX], "quantity": ["0.5"],
            "price": ["43000.5"], "fee": ["0.01"], "ts": ["2025-01-15T11:59:00Z"],
        },
        "positions": {"venue_key": [BTC_OKX], "quantity": ["0.5"]},
    }  # fmt: skip
    return body | overrides


def test_the_daemon_answer_parses_into_typed_frames() -> None:
    record = venue_record_from_json(answer(), "POST http://d/api/reconciliation/run")
    assert record.read_at == READ_AT
    assert record.orders.height == record.fills.height == record.positions.height == 1
    assert str(record.orders["filled_quantity"][0]) == "0.500000000000000000"
    assert record.served_keys == {BTC_OKX}
    assert record.settled[0]["kind"] == "fill_applied"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"read_at": "yesterday"}, "'read_at' is missing or not ISO-8601"),
        ({"read_at": "2025-01-15T12:00:00"}, "'read_at' has no time zone"),
        ({"orders": {"order_id": []}}, "'orders' lacks the columns"),
        ({"positions": {"venue_key": ["a", "b"], "quantity": ["1"]}}, "differ in length"),
        ({"positions": {"venue_key": ["a"], "quantity": ["one"]}}, "column 'quantity' is not"),
        ({"fills": None}, "'fills' is missing"),
    ],
)
def test_a_malformed_answer_names_the_field(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match="POST http://d/api/reconciliation/run") as exc:
        venue_record_from_json(answer(**overrides), "POST http://d/api/reconciliation/run")
    assert message in str(exc.value)
