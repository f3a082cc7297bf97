"""The paper venue's own durable record: every order it received, every event it reported,
every fill, and the positions they add up to, in ``<state_dir>/record.sqlite``.

Why a record of its own: a venue is the truth about what happened at it, and the daemon is
only its client. Without a record, a venue that outlives a daemon crash could not tell the
restarted daemon what became of the orders in flight, and a venue that restarts would not
know an order id it has already taken (it would trade it twice on a resubmit).

Rules the venue host (:mod:`live_daemon.venues.host`) keeps with it:

- an order is written and committed *before* it reaches the node, and an event or fill
  before its frame leaves for the daemon: whatever the daemon heard of, the record has;
- an order id the record knows is never sent to the node again.

On the venue's restart :meth:`VenueJournal.close_open_orders` closes the orders that were
open when it stopped (a fresh node cannot resume them) as CANCELED; their fills stay.

Storage: stdlib ``sqlite3``, WAL mode with ``synchronous=NORMAL`` (a commit is durable
against the process dying, which is what this record is for; an OS crash may lose the last
commits, as it would lose the venue's state anyway). Decimals are stored as their exact
text, times as integers (ns for the venue's own times, µs for a fill's ``ts``, which is a
``datetime``: round trips exactly). Fills carry ``seq``, a monotonically increasing sequence
number (``AUTOINCREMENT``: never reused), for ``fills_since(seq)``.

Reads answer the venue's requests (:meth:`order_record`, :meth:`open_orders`,
:meth:`fills_since`, :meth:`positions`, :meth:`venue_state`), in the packed form that
crosses the connection (:mod:`live_daemon.venues.record_codec`, which says why) or as
objects. The whole record is read with one query per table, never one per order.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from execution_core.orders import Side
from live_daemon.domain import Fill
from live_daemon.venues.gateway import (
    CLOSING_KINDS,
    OPEN_STATUSES,
    VenueEvent,
    VenueEventKind,
    VenueOrder,
    VenueOrderRecord,
    VenueState,
)
from live_daemon.venues.record_codec import (
    FILL_FIELDS,
    ORDER_FIELDS,
    PackedOrders,
    PackedState,
    clean_text,
    has_separator,
    packed_sql,
    ts_us,
    unpack_fills,
    unpack_orders_with_fills,
    unpack_positions,
    unpack_state,
)

log = logging.getLogger(__name__)

RESTART_REASON = "the paper venue restarted; its open orders were canceled"
SCHEMA_VERSION = 1

_OPEN = "(" + ", ".join(f"'{status}'" for status in OPEN_STATUSES) + ")"  # SQL
_IS_OPEN = f"status IN {_OPEN}"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS orders (
    order_id        TEXT PRIMARY KEY,
    venue_key       TEXT NOT NULL,
    side            TEXT NOT NULL,
    quantity        TEXT NOT NULL,      -- venue units
    order_type      TEXT NOT NULL,
    price           TEXT,
    exec_algorithm  TEXT NOT NULL,
    params          TEXT NOT NULL,      -- JSON
    received_ns     INTEGER NOT NULL,
    status          TEXT NOT NULL,      -- the daemon's vocabulary (gateway.ORDER_STATUSES)
    filled_quantity TEXT NOT NULL,
    reason          TEXT,
    updated_ns      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_open ON orders (status) WHERE status IN {_OPEN};
CREATE TABLE IF NOT EXISTS events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    kind     TEXT NOT NULL,             -- accepted | filled | canceled | rejected
    detail   TEXT NOT NULL,             -- JSON
    ts_ns    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fills (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    fill_id        TEXT NOT NULL UNIQUE,
    order_id       TEXT NOT NULL,
    venue_key      TEXT NOT NULL,
    quantity       TEXT NOT NULL,       -- venue units, positive
    price          TEXT NOT NULL,
    fee            TEXT NOT NULL,
    fee_currency   TEXT NOT NULL,
    liquidity_side TEXT NOT NULL,
    ts_us          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fills_order ON fills (order_id);
CREATE TABLE IF NOT EXISTS positions (
    venue_key TEXT PRIMARY KEY,
    quantity  TEXT NOT NULL              -- signed sum of the fills: BUY +, SELL -
);
"""


@dataclass(frozen=True)
class ReceivedOrder:
    """An order as the venue received it (quantity and price in venue units)."""

    order_id: str
    venue_key: str
    side: str
    quantity: Decimal
    order_type: str
    price: Decimal | None
    exec_algorithm: str
    params: dict[str, Any]
    received_ns: int

    @classmethod
    def of(cls, order: VenueOrder, received_ns: int) -> ReceivedOrder:
        return cls(
            order.order_id, order.venue_key, order.side, order.quantity, order.order_type,
            order.price, order.exec_algorithm, dict(order.exec_algorithm_params or {}),
            received_ns,
        )  # fmt: skip

    def venue_order(self) -> VenueOrder:
        return VenueOrder(
            self.order_id, self.venue_key, self.side, self.quantity, self.order_type,
            self.price, self.exec_algorithm, self.params,
        )  # fmt: skip


class VenueJournal:
    """The record in ``path`` (module docstring). Writes go inside :meth:`transaction`;
    one connection, used from the venue's event loop only."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)  # transactions are explicit
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise RuntimeError(
                f"venue record {path}: schema version {version}, this code knows "
                f"{SCHEMA_VERSION}; move the file away to start a new record"
            )
        # IMMEDIATE: take the write lock first (waiting for the busy timeout), so that a
        # reader opening the record of a running venue never fails to upgrade its lock
        self._db.executescript(
            f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
        )

    def close(self) -> None:
        self._db.close()

    # -- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[None]:
        """One transaction: committed when the block ends, rolled back if it raises (a
        block inside another one joins it)."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    def knows(self, order_id: str) -> bool:
        """Whether an order with this id was ever received (committed)."""
        row = self._db.execute("SELECT 1 FROM orders WHERE order_id = ?", (order_id,))
        return row.fetchone() is not None

    def add_order(self, order: ReceivedOrder) -> None:
        """Raises ``ValueError`` for an identifier holding a separator of the packed form
        (:mod:`~live_daemon.venues.record_codec`): such an order cannot be recorded."""
        for name in ("order_id", "venue_key", "side"):
            if has_separator(getattr(order, name)):
                raise ValueError(f"{name} {getattr(order, name)!r} holds a control character")
        self._db.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'SUBMITTED', '0', NULL, ?)",
            (
                order.order_id,
                order.venue_key,
                order.side,
                str(order.quantity),
                order.order_type,
                None if order.price is None else str(order.price),
                order.exec_algorithm,
                json.dumps(order.params, default=str),
                order.received_ns,
                order.received_ns,
            ),
        )

    def add_event(self, event: VenueEvent) -> int | None:
        """Record an event and what it does to its order (and, for a fill, to the
        position); returns the fill's sequence number for a fill, else ``None``."""
        now = time.time_ns()
        self._db.execute(
            "INSERT INTO events (order_id, kind, detail, ts_ns) VALUES (?, ?, ?, ?)",
            (event.order_id, event.kind, json.dumps(event.detail, default=str), now),
        )
        if event.kind == VenueEventKind.ACCEPTED:
            self._db.execute(
                "UPDATE orders SET status = 'ACCEPTED', updated_ns = ? "
                "WHERE order_id = ? AND status = 'SUBMITTED'",
                (now, event.order_id),
            )
        elif event.kind in CLOSING_KINDS:
            reason = event.detail.get("reason")
            self._db.execute(
                f"UPDATE orders SET status = ?, reason = ?, updated_ns = ? "
                f"WHERE order_id = ? AND {_IS_OPEN}",
                (
                    event.kind.upper(),
                    None if reason is None else clean_text(str(reason)),
                    now,
                    event.order_id,
                ),
            )
        elif event.kind == VenueEventKind.FILLED and event.fill is not None:
            return self._add_fill(event.venue_key, event.fill, now)
        return None

    def _add_fill(self, venue_key: str, fill: Fill, now: int) -> int:
        cursor = self._db.execute(
            "INSERT INTO fills (fill_id, order_id, venue_key, quantity, price, fee, "
            "fee_currency, liquidity_side, ts_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                clean_text(fill.fill_id),
                fill.order_id,
                venue_key,
                str(fill.quantity),
                str(fill.price),
                str(fill.fee),
                fill.fee_currency,
                fill.liquidity_side,
                ts_us(fill.ts),
            ),
        )
        seq = cursor.lastrowid
        assert seq is not None
        row = self._db.execute(
            "SELECT side, quantity, filled_quantity FROM orders WHERE order_id = ?",
            (fill.order_id,),
        ).fetchone()
        if row is None:
            log.error("venue_journal_fill_of_unknown_order order_id=%s", fill.order_id)
            return seq
        side, quantity, filled = row
        filled = Decimal(filled) + fill.quantity
        status = "FILLED" if filled >= Decimal(quantity) else "PARTIALLY_FILLED"
        self._db.execute(
            "UPDATE orders SET status = CASE WHEN status IN "
            f"{_OPEN} THEN ? ELSE status END, filled_quantity = ?, updated_ns = ? "
            "WHERE order_id = ?",
            (status, str(filled), now, fill.order_id),
        )
        signed = fill.quantity if side == Side.BUY else -fill.quantity
        held = self._db.execute(
            "SELECT quantity FROM positions WHERE venue_key = ?", (venue_key,)
        ).fetchone()
        self._db.execute(
            "INSERT INTO positions VALUES (?, ?) ON CONFLICT (venue_key) "
            "DO UPDATE SET quantity = excluded.quantity",
            (venue_key, str(signed if held is None else Decimal(held[0]) + signed)),
        )
        return seq

    def close_open_orders(self, reason: str = RESTART_REASON) -> list[str]:
        """Close every order still open as CANCELED with ``reason`` (a restarted venue's
        fresh node cannot resume them; their fills stay). Returns their ids."""
        with self.transaction():
            rows = self._db.execute(
                f"SELECT order_id, venue_key, filled_quantity FROM orders "
                f"WHERE status IN {_OPEN} ORDER BY rowid"
            ).fetchall()
            for order_id, venue_key, filled in rows:
                detail = {"reason": reason, "filled_quantity": filled, "restart": True}
                self.add_event(VenueEvent(VenueEventKind.CANCELED, order_id, venue_key, detail))
        return [order_id for order_id, _, _ in rows]

    # -- reading -----------------------------------------------------------------------------
    # Each read has a packed form (what crosses the connection, decoded by the daemon with
    # live_daemon.venues.record_codec) and the objects it stands for.

    def packed_order(self, order_id: str) -> PackedOrders:
        """The order (``None`` if the venue never received it) and its fills."""
        return (
            self._packed(ORDER_FIELDS, "SELECT * FROM orders WHERE order_id = ?", order_id),
            self._packed(
                FILL_FIELDS, "SELECT * FROM fills WHERE order_id = ? ORDER BY seq", order_id
            ),
        )

    def packed_open_orders(self) -> PackedOrders:
        """The orders not yet final, in the order they were received, and their fills."""
        with self.transaction(write=False):
            return (
                self._packed(ORDER_FIELDS, f"SELECT * FROM orders WHERE {_IS_OPEN} ORDER BY rowid"),
                self._packed(
                    FILL_FIELDS,
                    "SELECT * FROM fills WHERE order_id IN "
                    f"(SELECT order_id FROM orders WHERE {_IS_OPEN}) ORDER BY seq",
                ),
            )

    def packed_fills_since(self, seq: int) -> str | None:
        return self._packed(FILL_FIELDS, "SELECT * FROM fills WHERE seq > ? ORDER BY seq", seq)

    def position_rows(self) -> list[tuple[str, str]]:
        rows = self._db.execute("SELECT venue_key, quantity FROM positions ORDER BY venue_key")
        return [(venue_key, quantity) for venue_key, quantity in rows]

    def packed_state(self) -> PackedState:
        """The whole record, one query per table, in one read transaction (a snapshot)."""
        with self.transaction(write=False):
            read_at_ns = time.time_ns()
            orders = self._packed(ORDER_FIELDS, "SELECT * FROM orders ORDER BY rowid")
            fills = self._packed(FILL_FIELDS, "SELECT * FROM fills ORDER BY seq")
            last = self._db.execute("SELECT coalesce(max(seq), 0) FROM fills").fetchone()[0]
            return read_at_ns, orders, fills, self.position_rows(), last

    def _packed(self, fields: tuple[str, ...], query: str, *params: Any) -> str | None:
        packed: str | None = self._db.execute(packed_sql(fields, query), params).fetchone()[0]
        return packed

    def order_record(self, order_id: str) -> VenueOrderRecord | None:
        """The order with its fills; ``None`` only if the venue never received it."""
        orders = unpack_orders_with_fills(self.packed_order(order_id))
        return orders[0] if orders else None

    def open_orders(self) -> list[VenueOrderRecord]:
        return unpack_orders_with_fills(self.packed_open_orders())

    def fills_since(self, seq: int) -> list[tuple[int, str, Fill]]:
        """``(seq, venue_key, fill)`` of every fill after ``seq``, in sequence."""
        return unpack_fills(self.packed_fills_since(seq))

    def positions(self) -> dict[str, Decimal]:
        """Per venue_key, the signed sum of its fills (venue units)."""
        return unpack_positions(self.position_rows())

    def venue_state(self) -> VenueState:
        return unpack_state(self.packed_state())

    def positions_from_fills(self) -> dict[str, Decimal]:
        """The positions summed again from the fills (to check the positions table)."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for venue_key, side, quantity in self._db.execute(
            "SELECT f.venue_key, o.side, f.quantity FROM fills f JOIN orders o USING (order_id)"
        ):
            totals[venue_key] += Decimal(quantity) if side == Side.BUY else -Decimal(quantity)
        return dict(sorted(totals.items()))


__all__ = ["RESTART_REASON", "ReceivedOrder", "VenueJournal"]
