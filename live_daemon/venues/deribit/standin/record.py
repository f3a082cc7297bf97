"""The stand-in's durable record, ``<state_dir>/record.sqlite``: every accepted order and
each change of it, and every trade, committed before the reply or notification leaves, so
that a killed and restarted stand-in still knows its orders (by id and by label), trades
and positions.

Same storage as the paper venue's record (:mod:`live_daemon.venues.journal`): stdlib
``sqlite3``, WAL, ``synchronous=NORMAL`` (durable against the process dying). Orders are
kept as their latest Deribit wire body (JSON, Decimals as text), trades appended; the
positions are summed again from the trades when the record is loaded.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from live_daemon.venues.deribit.standin.matching import apply_fill
from live_daemon.venues.deribit.standin.model import PositionState, StandinOrder, StandinTrade

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id        TEXT PRIMARY KEY,
    instrument_name TEXT NOT NULL,
    label           TEXT NOT NULL,
    body            TEXT NOT NULL       -- the order's latest Deribit wire body (JSON)
);
CREATE INDEX IF NOT EXISTS orders_label ON orders (label);
CREATE TABLE IF NOT EXISTS trades (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    trade_id        TEXT NOT NULL UNIQUE,
    order_id        TEXT NOT NULL,
    instrument_name TEXT NOT NULL,
    body            TEXT NOT NULL
);
"""


def _encode(body: dict[str, Any]) -> str:
    return json.dumps(body, default=lambda v: str(v) if isinstance(v, Decimal) else v.value)


@dataclass
class Loaded:
    """What the record holds, as the stand-in needs it on start."""

    orders: dict[str, StandinOrder] = field(default_factory=dict)
    trades: list[StandinTrade] = field(default_factory=list)
    positions: dict[str, PositionState] = field(default_factory=dict)


class StandinRecord:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise RuntimeError(
                f"stand-in record {path}: schema version {version}, this code knows "
                f"{SCHEMA_VERSION}; move the file away to start a new record"
            )
        self._db.executescript(f"BEGIN; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")

    def close(self) -> None:
        self._db.close()

    def write(self, orders: list[StandinOrder], trades: list[StandinTrade]) -> None:
        """Record these orders' current state and these new trades in one commit."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for order in orders:
                self._db.execute(
                    "INSERT INTO orders VALUES (?, ?, ?, ?) ON CONFLICT (order_id) "
                    "DO UPDATE SET body = excluded.body",
                    (order.order_id, order.instrument_name, order.label, _encode(order.wire())),
                )
            for trade in trades:
                self._db.execute(
                    "INSERT INTO trades (trade_id, order_id, instrument_name, body) "
                    "VALUES (?, ?, ?, ?)",
                    (trade.trade_id, trade.order_id, trade.instrument_name, _encode(trade.wire())),
                )
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    def load(self) -> Loaded:
        loaded = Loaded()
        for (body,) in self._db.execute("SELECT body FROM orders ORDER BY rowid"):
            order = StandinOrder.from_wire(json.loads(body))
            loaded.orders[order.order_id] = order
        for (body,) in self._db.execute("SELECT body FROM trades ORDER BY seq"):
            trade = StandinTrade.from_wire(json.loads(body))
            loaded.trades.append(trade)
            held = loaded.positions.get(trade.instrument_name, PositionState())
            loaded.positions[trade.instrument_name] = apply_fill(
                held, trade.direction, trade.amount, trade.price
            )
        return loaded
