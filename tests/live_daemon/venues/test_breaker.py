"""The circuit breaker of a venue, on a clock the test moves."""

from __future__ import annotations

from live_daemon.venues.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_says_why() -> None:
    clock = Clock()
    breaker = CircuitBreaker("DERIBIT", failure_threshold=3, cooldown_secs=30, clock=clock)
    for _ in range(2):
        breaker.record_failure("no answer within 10 s")
    assert breaker.state is BreakerState.CLOSED and breaker.unavailable_reason() is None
    breaker.record_success()  # not consecutive: counting starts again
    for _ in range(3):
        breaker.record_failure("no answer within 10 s")
    assert breaker.state is BreakerState.OPEN
    assert breaker.unavailable_reason() == (
        "circuit open after 3 consecutive failures (last: no answer within 10 s); "
        "next probe in 30.0 s"
    )
    clock.now += 12
    assert "next probe in 18.0 s" in (breaker.unavailable_reason() or "")


def test_after_the_cooldown_one_probe_goes_and_its_outcome_decides() -> None:
    clock = Clock()
    breaker = CircuitBreaker("DERIBIT", failure_threshold=1, cooldown_secs=5, clock=clock)
    breaker.record_failure("connection lost")
    clock.now += 5
    assert breaker.unavailable_reason() is None  # a probe may go
    breaker.on_send()
    assert breaker.state is BreakerState.HALF_OPEN
    assert (
        breaker.unavailable_reason() == "circuit half-open: a probe order to DERIBIT is in flight"
    )
    breaker.record_failure("connection lost again")  # the probe failed: open again
    assert breaker.state is BreakerState.OPEN and "next probe in 5.0 s" in str(
        breaker.unavailable_reason()
    )
    clock.now += 5
    breaker.on_send()
    breaker.record_success()  # the probe got a definite answer: closed
    assert breaker.state is BreakerState.CLOSED and breaker.failures == 0
    assert breaker.as_dict() == {
        "state": "closed",
        "failures": 0,
        "last_failure": "connection lost again",
        "unavailable": None,
    }
