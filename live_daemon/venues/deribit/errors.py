"""Deribit's error codes, and the exception a Deribit error reply becomes.

Only codes whose names we could source (../shared/REFERENCE.md, Deribit API v2.1.1 table) are
listed; any other code still becomes a :class:`DeribitError`, named ``unknown``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class DeribitErrorCode(IntEnum):
    """Deribit's error codes, with Deribit's own names (lower case, as in its table)."""

    order_not_found = 10004
    not_enough_funds = 10009
    too_many_requests = 10028
    retry = 10040
    price_wrong_tick = 10043
    invalid_arguments = 11029
    post_only_reject = 11054
    invalid_credentials = 13004
    unauthorized = 13009
    # added for the local stand-in (same v2.1.1 table): what it answers besides the above
    already_closed = 10010
    invalid_or_unsupported_instrument = 10020
    invalid_amount = 10021
    other_reject = 11030
    not_open_order = 11044
    bad_request = 11050
    not_found = 13020  # instrument not found
    # JSON-RPC's own codes, which Deribit uses for malformed requests
    invalid_params = -32602
    method_not_found = -32601
    parse_error = -32700


# Deribit asks to send the request again (10040), or we were over the rate limit (10028),
# which is worth another try after the credits refill and a new session.
_RETRYABLE = frozenset({DeribitErrorCode.retry, DeribitErrorCode.too_many_requests})
# Deribit closes the session after 10028: the client must reconnect, not only wait.
_CLOSES_SESSION = frozenset({DeribitErrorCode.too_many_requests})
# 13009 is how an expired or missing access token shows: authenticate again, then resend.
_NEEDS_REAUTH = frozenset({DeribitErrorCode.unauthorized})


def known_code(code: int) -> DeribitErrorCode | None:
    """The named code, or None for a code we have no name for."""
    try:
        return DeribitErrorCode(code)
    except ValueError:
        return None


def error_name(code: int) -> str:
    known = known_code(code)
    return known.name if known is not None else "unknown"


def is_retryable(code: int) -> bool:
    """May the same request be sent again (after backoff)? Only for idempotent requests: an
    order submit is looked up by its label first, whatever this says."""
    return code in _RETRYABLE


def closes_session(code: int) -> bool:
    return code in _CLOSES_SESSION


def needs_reauth(code: int) -> bool:
    return code in _NEEDS_REAUTH


class DeribitError(Exception):
    """A Deribit error reply: names the code, its name and Deribit's message."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        self.code = code
        self.name = error_name(code)
        self.message = message
        self.data = data
        text = f"Deribit error {code} {self.name}: {message}"
        if data is not None:
            text += f" ({data})"
        super().__init__(text)

    @property
    def retryable(self) -> bool:
        return is_retryable(self.code)

    @property
    def closes_session(self) -> bool:
        return closes_session(self.code)

    @property
    def needs_reauth(self) -> bool:
        return needs_reauth(self.code)
