"""Client-side credit buckets that keep us under Deribit's rate limits.

Deribit answers a request that finds no credit left with 10028 too_many_requests and closes
the session, so we never send one: each request first takes its credits from the bucket of
its class (matching engine or not), waiting for the refill when there are not enough. The
buckets mirror the venue's (:mod:`.config`): debited before the venue's, refilled no
faster, and kept ``headroom_requests`` below its maximum, so that a burst delayed on the
way still finds the credits at the venue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from live_daemon.venues.deribit.config import CreditLimit
from live_daemon.venues.gateway import VenueNotSent

log = logging.getLogger(__name__)

# Deribit's matching-engine requests; every other request is non-matching
MATCHING_ENGINE_METHODS = frozenset(
    {
        "private/buy",
        "private/sell",
        "private/edit",
        "private/edit_by_label",
        "private/cancel",
        "private/cancel_all",
        "private/cancel_all_by_currency",
        "private/cancel_all_by_instrument",
        "private/cancel_by_label",
        "private/close_position",
    }
)


class CreditBucket:
    """A leaky bucket of credits: full at start, refilled continuously up to the max."""

    def __init__(self, limit: CreditLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._max = float(limit.client_max_credits)
        self._credits = self._max
        self._at = clock()
        self.taken = 0  # requests that took credits
        self.waited = 0  # requests that had to wait for the refill
        self._line = asyncio.Lock()  # the requests waiting for credits, in order

    def _refill(self) -> None:
        now = self._clock()
        gained = (now - self._at) * self.limit.refill_per_s
        self._credits = min(self._max, self._credits + gained)
        self._at = now

    @property
    def credits(self) -> float:
        self._refill()
        return self._credits

    def wait_for(self, cost: int) -> float:
        """Seconds until ``cost`` credits are there (0 if they are now)."""
        missing = cost - self.credits
        return 0.0 if missing <= 0 else missing / self.limit.refill_per_s

    def try_take(self, cost: int | None = None) -> bool:
        cost = self.limit.cost if cost is None else cost
        if self.credits < cost:
            return False
        self._credits -= cost
        self.taken += 1
        return True

    async def take(self, what: str, timeout: float, cost: int | None = None) -> None:
        """Take ``cost`` credits (default: one request's), in turn: waiters are served in
        the order they came, and the wait for the refill counts the requests ahead.
        :class:`VenueNotSent` naming ``what`` if the credits would not be there within
        ``timeout`` seconds (the request is then not sent)."""
        cost = self.limit.cost if cost is None else cost
        delay = self.wait_for(cost)
        if delay > timeout:
            raise VenueNotSent(
                f"rate limit: {what} would wait {delay:.2f} s for {cost} credits "
                f"(more than {timeout} s); not sent"
            )
        try:
            await asyncio.wait_for(self._take_in_turn(what, cost), timeout)
        except TimeoutError:
            raise VenueNotSent(
                f"rate limit: {what} waited {timeout} s in line for {cost} credits "
                "(requests ahead of it took them); not sent"
            ) from None

    async def _take_in_turn(self, what: str, cost: int) -> None:
        async with self._line:  # asyncio.Lock wakes its waiters first come, first served
            waited = False
            while not self.try_take(cost):
                waited = True
                await asyncio.sleep(max(self.wait_for(cost), 0.001))
            if waited:
                self.waited += 1
                log.debug(
                    "deribit_rate_limit_waited what=%s credits_left=%.0f", what, self._credits
                )


class RateLimiter:
    """The two buckets of one Deribit sub-account."""

    def __init__(
        self,
        matching_engine: CreditLimit,
        non_matching: CreditLimit,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.matching_engine = CreditBucket(matching_engine, clock)
        self.non_matching = CreditBucket(non_matching, clock)

    def bucket(self, method: str) -> CreditBucket:
        return self.matching_engine if method in MATCHING_ENGINE_METHODS else self.non_matching

    async def acquire(self, method: str, timeout: float) -> None:
        await self.bucket(method).take(method, timeout)
