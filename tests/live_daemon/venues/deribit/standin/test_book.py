"""The book channel from the touch: snapshot, then changes chained by change_id."""

from __future__ import annotations

from decimal import Decimal as D

from live_daemon.venues.deribit import messages as m
from live_daemon.venues.deribit.standin import book
from live_daemon.venues.deribit.standin.model import Touch

A = Touch(bid=D(100), bid_amount=D(10), ask=D("100.5"), ask_amount=D(20))


def test_snapshot_is_all_new_levels_and_parses_as_a_book_update() -> None:
    snap = m.BookUpdate.model_validate(book.snapshot("BTC-PERPETUAL", A, 7, 1))
    assert snap.is_snapshot and snap.change_id == 7
    assert snap.bids == [(m.BookAction.new, D(100), D(10))]
    assert snap.asks == [(m.BookAction.new, D("100.5"), D(20))]


def test_changes_delete_moved_levels_change_resized_ones_and_chain_ids() -> None:
    moved = Touch(bid=D("100.5"), bid_amount=D(10), ask=D("100.5"), ask_amount=D(30))
    update = book.change("BTC-PERPETUAL", A, moved, 7, 2)
    assert update is not None
    parsed = m.BookUpdate.model_validate(update)
    assert (parsed.prev_change_id, parsed.change_id) == (7, 8) and not parsed.is_snapshot
    assert parsed.bids == [
        (m.BookAction.delete, D(100), D(0)),
        (m.BookAction.new, D("100.5"), D(10)),
    ]
    assert parsed.asks == [(m.BookAction.change, D("100.5"), D(30))]
    assert book.change("BTC-PERPETUAL", A, A, 8, 3) is None
