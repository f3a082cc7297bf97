"""Deribit's credit-based rate limits: leaky buckets, one for matching-engine requests and
one for the others (defaults in :mod:`.config`). A request the bucket cannot pay for is
answered 10028 too_many_requests and its session closed (the server does that). The clock
is passed in, so the arithmetic is tested without waiting."""

from __future__ import annotations

from live_daemon.venues.deribit.standin.config import Bucket, RateLimits

# Deribit's list of matching-engine requests (of the methods the stand-in answers)
MATCHING_ENGINE = frozenset(
    {
        "private/buy",
        "private/sell",
        "private/edit",
        "private/cancel",
        "private/cancel_all",
        "private/cancel_all_by_instrument",
        "private/cancel_all_by_currency",
        "private/cancel_by_label",
        "private/close_position",
    }
)


class CreditBucket:
    def __init__(self, bucket: Bucket, now: float) -> None:
        self.bucket = bucket
        self.credits = float(bucket.capacity)
        self._at = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._at)
        self.credits = min(
            float(self.bucket.capacity), self.credits + elapsed * self.bucket.refill_per_s
        )
        self._at = now

    def take(self, now: float) -> bool:
        """Pay for one request at ``now`` (seconds, monotonic); False if it cannot."""
        self._refill(now)
        if self.credits < self.bucket.cost:
            return False
        self.credits -= self.bucket.cost
        return True


class RateLimiter:
    """Per account (Deribit limits per sub-account, across its connections)."""

    def __init__(self, limits: RateLimits, now: float) -> None:
        self.enabled = limits.enabled
        self.matching = CreditBucket(limits.matching_engine, now)
        self.other = CreditBucket(limits.non_matching_engine, now)

    def allow(self, method: str, now: float) -> bool:
        if not self.enabled:
            return True
        bucket = self.matching if method in MATCHING_ENGINE else self.other
        return bucket.take(now)
