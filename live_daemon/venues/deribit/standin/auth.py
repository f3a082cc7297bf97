"""Sessions of the stand-in: ``public/auth`` with client credentials or a refresh token,
access tokens that expire after ``expires_in``, and the check of a private request's token
(missing or expired: 13009 unauthorized; bad credentials: 13004). The clock is passed in."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from live_daemon.venues.deribit.errors import DeribitErrorCode

SCOPE = "connection mainaccount"


class AuthError(Exception):
    def __init__(self, code: DeribitErrorCode, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"{code.name} ({code.value}): {reason}")


@dataclass
class _Token:
    expires_at: float


def load_or_create_secret(path: Path) -> str:
    """The client secret kept in ``path`` (created, mode 0600, if missing)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        secret = secrets.token_urlsafe(24)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secret)
        return secret


class Sessions:
    def __init__(
        self, client_id: str, client_secret: str, expires_in: int, refresh_expires_in: int
    ) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self.expires_in = expires_in
        self.refresh_expires_in = refresh_expires_in
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}

    def _issue(self, now: float) -> dict[str, object]:
        access = f"{int(now * 1000)}.{secrets.token_urlsafe(24)}"
        refresh = f"{int(now * 1000)}.{secrets.token_urlsafe(24)}"
        self._access[access] = _Token(now + self.expires_in)
        self._refresh[refresh] = _Token(now + self.refresh_expires_in)
        return {
            "access_token": access,
            "expires_in": self.expires_in,
            "refresh_token": refresh,
            "scope": SCOPE,
            "token_type": "bearer",
            "enabled_features": [],
        }

    def client_credentials(self, client_id: object, client_secret: object, now: float) -> dict:
        good = (
            isinstance(client_id, str)
            and isinstance(client_secret, str)
            and hmac.compare_digest(client_id, self.client_id)
            and hmac.compare_digest(client_secret, self._secret)
        )
        if not good:
            raise AuthError(DeribitErrorCode.invalid_credentials, "invalid client_id or secret")
        return self._issue(now)

    def refresh(self, refresh_token: object, now: float) -> dict:
        token = self._refresh.pop(refresh_token, None) if isinstance(refresh_token, str) else None
        if token is None or token.expires_at <= now:
            raise AuthError(DeribitErrorCode.invalid_credentials, "invalid refresh_token")
        return self._issue(now)

    def check(self, access_token: str | None, now: float) -> None:
        """Raise 13009 unless ``access_token`` is known and not expired."""
        if access_token is None:
            raise AuthError(DeribitErrorCode.unauthorized, "no access token: call public/auth")
        token = self._access.get(access_token)
        if token is None:
            raise AuthError(DeribitErrorCode.unauthorized, "unknown access token")
        if token.expires_at <= now:
            raise AuthError(DeribitErrorCode.unauthorized, "token has expired")

    def expire_all(self, now: float) -> int:
        """Expire every access token now (a fault for tests); how many were live."""
        live = [t for t in self._access.values() if t.expires_at > now]
        for token in live:
            token.expires_at = now
        return len(live)
