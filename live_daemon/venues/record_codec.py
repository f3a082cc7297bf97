"""How the venue's record (:mod:`live_daemon.venues.journal`) crosses the connection, and
becomes :class:`~live_daemon.venues.gateway.VenueOrderRecord`, ``Fill`` and
:class:`~live_daemon.venues.gateway.VenueState` on the daemon's side (this module imports
neither NautilusTrader nor sqlite: the daemon uses it).

Why packed text: the whole record must cross in well under a second at 100,000 orders and
100,000 fills. Pickling that many rows (tuples of strings) cost about 0.5 s on this machine
and the objects themselves three times as much; SQLite concatenating each table into one
string costs a quarter of a second, and that string pickles in milliseconds. So a table
travels as one ``str``: its fields one after the other, row by row, in the column order of
:data:`ORDER_FIELDS` or :data:`FILL_FIELDS`, separated by :data:`SEP` (the ASCII unit
separator); ``None`` stands for no rows. Every row has the same number of fields, so one
``split`` and a slice per column decode it (no per-row work but building the objects). The
journal keeps the separator out of the text it stores (:func:`clean_text`,
:func:`has_separator`). The daemon decodes with :func:`unpack_orders` and
:func:`unpack_fills`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from live_daemon.domain import Fill
from live_daemon.venues.gateway import VenueOrderRecord, VenueState

SEP = "\x1f"

ORDER_FIELDS = (
    "order_id",
    "venue_key",
    "side",
    "quantity",
    "status",
    "filled_quantity",
    "coalesce(reason, '')",  # '' is no reason
)
FILL_FIELDS = (
    "seq",
    "venue_key",
    "fill_id",
    "order_id",
    "quantity",
    "price",
    "fee",
    "fee_currency",
    "liquidity_side",
    "ts_us",  # µs since the epoch, UTC
)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)

PackedOrders = tuple[str | None, str | None]
"""``(orders, fills)``: some orders and the fills of those orders."""
PackedState = tuple[int, str | None, str | None, list[tuple[str, str]], int]
"""``(read_at_ns, orders, fills, [(venue_key, position)], last_fill_seq)``."""


def packed_sql(fields: tuple[str, ...], query: str) -> str:
    """A query giving the rows of ``query`` (in its order) as one packed string (``NULL``
    when there are none)."""
    row = " || char(31) || ".join(fields)
    return f"SELECT group_concat({row}, char(31)) FROM ({query})"


def clean_text(text: str) -> str:
    """``text`` without the separator (it would split its field)."""
    return text.replace(SEP, " ")


def has_separator(text: str) -> bool:
    return SEP in text


def ts_us(ts: dt.datetime) -> int:
    """A fill's time as whole µs since the epoch (exact: unpacking gives it back)."""
    return (ts - _EPOCH) // _MICROSECOND


def _columns(packed: str, width: int) -> list[list[str]]:
    """The columns of a packed table of ``width`` fields per row."""
    flat = packed.split(SEP)
    if len(flat) % width:
        raise ValueError(f"a packed venue record of {len(flat)} fields is not rows of {width}")
    return [flat[i::width] for i in range(width)]


def unpack_fills(packed: str | None) -> list[tuple[int, str, Fill]]:
    """``(seq, venue_key, fill)`` per fill, in sequence."""
    if not packed:
        return []
    seq, venue_key, fill_id, order_id, quantity, price, fee, currency, liquidity, ts = _columns(
        packed, len(FILL_FIELDS)
    )
    fills = map(
        Fill,
        fill_id,
        order_id,
        map(Decimal, quantity),
        map(Decimal, price),
        map(Decimal, fee),
        currency,
        liquidity,
        [_EPOCH + int(t) * _MICROSECOND for t in ts],
    )
    return list(zip(map(int, seq), venue_key, fills, strict=True))


def unpack_orders(
    packed: str | None, fills: dict[str, tuple[Fill, ...]] | None = None
) -> list[VenueOrderRecord]:
    """The orders, each with its fills from ``fills`` (none if not given)."""
    if not packed:
        return []
    order_id, venue_key, side, quantity, status, filled, reason = _columns(
        packed, len(ORDER_FIELDS)
    )
    of_order = fills or {}
    return list(
        map(
            VenueOrderRecord,
            order_id,
            venue_key,
            side,
            map(Decimal, quantity),
            status,
            map(Decimal, filled),
            [r or None for r in reason],
            [of_order.get(o, ()) for o in order_id] if of_order else [()] * len(order_id),
        )
    )


def unpack_orders_with_fills(packed: PackedOrders) -> list[VenueOrderRecord]:
    orders, fills = packed
    by_order: dict[str, list[Fill]] = defaultdict(list)
    for _, _, fill in unpack_fills(fills):
        by_order[fill.order_id].append(fill)
    return unpack_orders(orders, {k: tuple(v) for k, v in by_order.items()})


def unpack_positions(rows: list[tuple[str, str]]) -> dict[str, Decimal]:
    return {venue_key: Decimal(quantity) for venue_key, quantity in rows}


def unpack_state(packed: PackedState) -> VenueState:
    read_at_ns, orders, fills, positions, last_fill_seq = packed
    return VenueState(
        read_at=dt.datetime.fromtimestamp(read_at_ns / 1e9, tz=dt.UTC),
        orders=unpack_orders(orders),
        fills=[(venue_key, fill) for _, venue_key, fill in unpack_fills(fills)],
        positions=unpack_positions(positions),
        last_fill_seq=last_fill_seq,
    )
