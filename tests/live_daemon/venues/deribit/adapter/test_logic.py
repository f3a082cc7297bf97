"""The adapter's plain logic: credit buckets (on a clock we move), the order tracker, the
book's change chain, and the config's credentials."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from pydantic import SecretStr

from execution_core.errors import ConfigError
from live_daemon.venues.deribit import messages as m
from live_daemon.venues.deribit.config import CreditLimit, DeribitAdapterConfig
from live_daemon.venues.deribit.data import QuoteBook
from live_daemon.venues.deribit.rate_limit import CreditBucket, RateLimiter
from live_daemon.venues.deribit.tracking import OrderTracker

from .scripted import order, trade

KEY = "DERIBIT:PERPETUAL:BTC-USD@INV"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    clock = Clock()
    bucket = CreditBucket(CreditLimit(max_credits=20_000, refill_per_s=5_000, cost=1_000), clock)
    assert sum(bucket.try_take() for _ in range(25)) == 19  # burst 20, less one of headroom
    assert bucket.wait_for(1_000) == pytest.approx(0.2)
    clock.now = 1.0
    assert sum(bucket.try_take() for _ in range(25)) == 5  # 5 per second
    clock.now = 100.0
    assert bucket.credits == 19_000  # refill stops at the cap


def test_matching_engine_methods_have_their_own_bucket() -> None:
    limiter = RateLimiter(
        CreditLimit(max_credits=2, refill_per_s=1, cost=1, headroom_requests=0),
        CreditLimit(max_credits=100, refill_per_s=1, cost=1),
        Clock(),
    )
    assert limiter.bucket("private/buy") is limiter.matching_engine
    assert limiter.bucket("private/cancel") is limiter.matching_engine
    assert limiter.bucket("private/get_positions") is limiter.non_matching


def test_tracker_dedupes_trades_and_never_moves_backwards() -> None:
    tracker = OrderTracker(lambda name: KEY if name == "BTC-PERPETUAL" else None)
    kinds = []
    for msg in (
        m.Trade.model_validate(trade("o1", "T1")),
        m.Trade.model_validate(trade("o1", "T1")),
        m.Order.model_validate(order("o1", "filled", filled=50)),
        m.Order.model_validate(order("o1", "open")),
        m.Order.model_validate(order("o1", "cancelled")),
        m.Trade.model_validate(trade("o1", "T2")),
    ):
        events = tracker.on_trade(msg) if isinstance(msg, m.Trade) else tracker.on_order(msg)
        kinds += [e.kind.value for e in events]
    # the trades add up to the order's 100: completed, once, after the last fill
    assert kinds == ["accepted", "filled", "filled", "completed"]
    assert tracker.duplicates_ignored == 1 and tracker.stale_ignored == 1
    unlabelled = order("", "open", oid="BTC-77")
    assert tracker.on_order(m.Order.model_validate(unlabelled)) == []  # not ours


def test_tracker_completes_an_order_once_its_trades_add_up_to_its_amount() -> None:
    tracker = OrderTracker(lambda name: KEY if name == "BTC-PERPETUAL" else None)

    def kinds(msg: dict, is_trade: bool) -> list[str]:
        if is_trade:
            return [e.kind.value for e in tracker.on_trade(m.Trade.model_validate(msg))]
        return [e.kind.value for e in tracker.on_order(m.Order.model_validate(msg))]

    # trades before the order's own notification (its amount unknown yet): no completion
    assert kinds(trade("o1", "T1", amount=60), True) == ["accepted", "filled"]
    assert kinds(trade("o1", "T2", amount=40), True) == ["filled"]
    # the order tells its amount (100): the trades told add up to it
    assert kinds(order("o1", "filled", filled=100), False) == ["completed"]
    assert kinds(order("o1", "filled", filled=100), False) == []  # once
    # a part-filled order is not completed
    assert kinds(order("o2", "open", oid="BTC-2"), False) == ["accepted"]
    assert kinds(trade("o2", "T3", oid="BTC-2", amount=50), True) == ["filled"]


def test_book_chain_and_gap() -> None:
    book = QuoteBook(lambda name: KEY)
    snap = {
        "instrument_name": "BTC-PERPETUAL",
        "timestamp": 1,
        "change_id": 10,
        "bids": [["new", 100, 5]],
        "asks": [["new", 101, 7]],
    }
    assert book.on_book(snap)
    change = {**snap, "timestamp": 2, "change_id": 11, "prev_change_id": 10}
    change.update(bids=[["new", 100.5, 3]], asks=[["delete", 101, 0], ["new", 102, 1]])
    assert book.on_book(change)
    assert book.last_quote(KEY) == (Decimal("100.5"), 3, 102, 1, 2_000_000)
    gap = {**change, "change_id": 13, "prev_change_id": 12}
    assert not book.on_book(gap) and book.gaps == 1


def test_live_mode_names_the_missing_credentials() -> None:
    with pytest.raises(ConfigError, match="DERIBIT_CLIENT_ID, DERIBIT_CLIENT_SECRET"):
        DeribitAdapterConfig.from_env(
            url="wss://x/ws/api/v2", instruments=[KEY], mode="live", environ={}
        )
    paper = DeribitAdapterConfig.from_env(
        url="ws://127.0.0.1:1/ws/api/v2", instruments=[KEY], mode="paper", environ={}
    )
    assert paper.client_id == "paper"


def test_config_names_a_bad_field() -> None:
    with pytest.raises(ValueError, match="url must start with ws"):
        DeribitAdapterConfig(
            url="http://x", client_id="a", client_secret=SecretStr("b"), instruments=[KEY]
        )
    with pytest.raises(ValueError, match="instruments"):
        DeribitAdapterConfig(
            url="ws://x",
            client_id="a",
            client_secret=SecretStr("b"),
            instruments=["OKX:PERPETUAL:BTC-USD@INV"],
        )


def test_waiters_for_credits_are_served_in_turn_and_count_the_line_ahead() -> None:
    """Found by bench/deribit_orders.py: a waiter's timeout ignored the requests ahead of
    it, and waiters raced for each refill. One request's credits refill in 0.1 s: the
    third in line needs ~0.3 s, beyond its 0.15 s, and is refused, not sent."""
    from live_daemon.venues.gateway import VenueNotSent

    limit = CreditLimit(max_credits=10, refill_per_s=100, cost=10, headroom_requests=0)
    bucket = CreditBucket(limit)
    assert bucket.try_take()  # empty now
    served: list[str] = []

    async def take(name: str, timeout: float) -> None:
        await bucket.take(name, timeout)
        served.append(name)

    async def line() -> list[object]:
        tasks = [asyncio.create_task(take("first", 30.0))]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(take("second", 30.0)))
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(take("third", 0.15)))
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(line())
    assert served == ["first", "second"]
    assert isinstance(results[2], VenueNotSent) and "in line" in str(results[2])
