"""A circuit breaker per venue: :class:`CircuitBreaker`.

A venue that keeps failing (no answer in time, connection lost mid-request) is not sent
more orders to fail: after ``failure_threshold`` consecutive failures the breaker **opens**
and the venue counts as unavailable (the router skips it and records why, so an ``ANY:``
order goes to the next-best venue). After ``cooldown_secs`` one order may go as a probe
(**half-open**); its success closes the breaker, its failure opens it for another
cool-down. A definite answer from the venue (even a refusal) is a success: the venue is
there.

It is a small state machine over an injected clock rather than a library (pybreaker and
its asyncio fork wrap the *call*; here the router must ask "may an order go?" before any
call is made, and record the reason), so it is deterministic and tested as such.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """One venue's breaker (module docstring)."""

    venue: str
    failure_threshold: int = 5
    cooldown_secs: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    last_failure: str | None = None
    opened_at: float | None = None
    probe_in_flight: bool = field(default=False)

    def unavailable_reason(self) -> str | None:
        """Why no order may go to the venue now, or ``None`` (closed, or a probe may go)."""
        if self.state is BreakerState.CLOSED:
            return None
        if self.state is BreakerState.HALF_OPEN and self.probe_in_flight:
            return f"circuit half-open: a probe order to {self.venue} is in flight"
        remaining = self._cooldown_left()
        if remaining > 0:
            return (
                f"circuit open after {self.failures} consecutive failures "
                f"(last: {self.last_failure}); next probe in {remaining:.1f} s"
            )
        return None

    def on_send(self) -> None:
        """An order goes to the venue: past the cool-down it is the probe."""
        if self.state is BreakerState.OPEN and self._cooldown_left() <= 0:
            self.state = BreakerState.HALF_OPEN
        if self.state is BreakerState.HALF_OPEN:
            self.probe_in_flight = True

    def release_probe(self) -> None:
        """The order sent as a probe never left: the next one may probe."""
        self.probe_in_flight = False

    def record_success(self) -> None:
        self.state, self.failures, self.opened_at = BreakerState.CLOSED, 0, None
        self.probe_in_flight = False

    def record_failure(self, what: str) -> None:
        self.failures += 1
        self.last_failure = what
        self.probe_in_flight = False
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state, self.opened_at = BreakerState.OPEN, self.clock()

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "failures": self.failures,
            "last_failure": self.last_failure,
            "unavailable": self.unavailable_reason(),
        }

    def _cooldown_left(self) -> float:
        if self.opened_at is None:
            return 0.0
        return self.cooldown_secs - (self.clock() - self.opened_at)
