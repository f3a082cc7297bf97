"""Credit-based rate limits and token expiry, with the clock passed in."""

from __future__ import annotations

from pathlib import Path

import pytest

from live_daemon.venues.deribit.errors import DeribitErrorCode
from live_daemon.venues.deribit.standin.auth import AuthError, Sessions, load_or_create_secret
from live_daemon.venues.deribit.standin.config import Bucket, RateLimits, StandinConfig
from live_daemon.venues.deribit.standin.ratelimit import RateLimiter


def test_deribits_default_limits_give_a_burst_of_20_orders_then_5_per_second() -> None:
    limiter = RateLimiter(StandinConfig().rate_limits, now=0.0)
    taken = sum(limiter.allow("private/buy", 0.0) for _ in range(25))
    assert taken == 20
    assert not limiter.allow("private/sell", 0.1)  # 500 credits back, an order costs 1000
    assert limiter.allow("private/sell", 0.2)
    # other requests have their own pool: 100 at once
    assert sum(limiter.allow("private/get_positions", 0.2) for _ in range(120)) == 100


def test_refill_never_exceeds_the_pool() -> None:
    limits = RateLimits(matching_engine=Bucket(cost=1, capacity=3, refill_per_s=1))
    limiter = RateLimiter(limits, now=0.0)
    assert sum(limiter.allow("private/buy", 1000.0) for _ in range(10)) == 3


def test_disabled_limits_allow_everything() -> None:
    limiter = RateLimiter(RateLimits(enabled=False), now=0.0)
    assert all(limiter.allow("private/buy", 0.0) for _ in range(1000))


def sessions(expires_in: int = 60) -> Sessions:
    return Sessions("paper", "s3cret", expires_in=expires_in, refresh_expires_in=600)


def test_token_works_until_it_expires_then_13009() -> None:
    auth = sessions()
    token = auth.client_credentials("paper", "s3cret", now=0.0)
    assert token["expires_in"] == 60 and token["token_type"] == "bearer"
    auth.check(str(token["access_token"]), now=59.9)
    with pytest.raises(AuthError) as caught:
        auth.check(str(token["access_token"]), now=60.0)
    assert caught.value.code is DeribitErrorCode.unauthorized


def test_missing_or_unknown_token_is_13009_and_bad_credentials_13004() -> None:
    auth = sessions()
    for token in (None, "nope"):
        with pytest.raises(AuthError) as caught:
            auth.check(token, now=0.0)
        assert caught.value.code is DeribitErrorCode.unauthorized
    with pytest.raises(AuthError) as bad:
        auth.client_credentials("paper", "wrong", now=0.0)
    assert bad.value.code is DeribitErrorCode.invalid_credentials


def test_refresh_token_gives_a_new_access_token_once() -> None:
    auth = sessions()
    first = auth.client_credentials("paper", "s3cret", now=0.0)
    second = auth.refresh(first["refresh_token"], now=100.0)  # after the access token expired
    auth.check(str(second["access_token"]), now=100.0)
    with pytest.raises(AuthError):
        auth.refresh(first["refresh_token"], now=100.0)  # used up


def test_expire_all_is_the_expired_token_fault() -> None:
    auth = sessions()
    token = str(auth.client_credentials("paper", "s3cret", now=0.0)["access_token"])
    assert auth.expire_all(now=1.0) == 1
    with pytest.raises(AuthError, match="expired"):
        auth.check(token, now=1.0)


def test_secret_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "client_secret"
    secret = load_or_create_secret(path)
    assert load_or_create_secret(path) == secret and len(secret) >= 24
    assert path.stat().st_mode & 0o077 == 0
