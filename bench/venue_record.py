"""Benchmark: the paper venue's whole record (``venue_state``) at 100,000 orders and
100,000 fills, read by the venue, across the wire and decoded by the daemon.

    .venv/bin/python bench/venue_record.py [--orders 100000]

Prints JSON: ``read_s`` (the venue: one query per table, packed), ``wire_s`` (the answer
frame pickled and unpickled), ``decode_s`` (the daemon: VenueState with its
VenueOrderRecord and Fill objects), ``total_s``, and ``frame_mb``. Both processes run with
the collector settings of the live processes (``settle_collector``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from live_daemon.collector import settle_collector
from live_daemon.domain import Fill
from live_daemon.venues.gateway import VenueEvent, VenueEventKind
from live_daemon.venues.journal import ReceivedOrder, VenueJournal
from live_daemon.venues.record_codec import unpack_state
from live_daemon.venues.wire import encode

KEYS = ("BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN", "OKX:PERPETUAL:BTC-USDT@LIN")


def fill_journal(journal: VenueJournal, n: int) -> None:
    now = dt.datetime.now(dt.UTC)
    with journal.transaction():
        for i in range(n):
            key = KEYS[i % 2]
            order_id = f"order-{i:08d}"
            journal.add_order(
                ReceivedOrder(
                    order_id, key, "BUY" if i % 3 else "SELL", Decimal("0.010"), "MARKET",
                    None, "NORMAL", {}, time.time_ns(),
                )
            )  # fmt: skip
            fill = Fill(
                f"fill-{i:08d}", order_id, Decimal("0.010"), Decimal("42000.1"),
                Decimal("0.168"), "USDT", "TAKER", now,
            )  # fmt: skip
            journal.add_event(VenueEvent(VenueEventKind.FILLED, order_id, key, {}, fill))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()
    settle_collector()
    with tempfile.TemporaryDirectory() as root:
        journal = VenueJournal(Path(root) / "record.sqlite")
        fill_journal(journal, args.orders)
        started = time.perf_counter()
        packed = journal.packed_state()
        read = time.perf_counter()
        frame = encode(("answer", 1, packed))
        answer = pickle.loads(frame[4:])[2]
        wired = time.perf_counter()
        state = unpack_state(answer)
        decoded = time.perf_counter()
        journal.close()
    assert len(state.orders) == len(state.fills) == args.orders
    print(
        json.dumps(
            {
                "orders": args.orders,
                "fills": args.orders,
                "read_s": round(read - started, 3),
                "wire_s": round(wired - read, 3),
                "decode_s": round(decoded - wired, 3),
                "total_s": round(decoded - started, 3),
                "frame_mb": round(len(frame) / 1e6, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
