"""The daemon's REST API as Dagster uses it: ``GET /api/health`` and
``POST /api/reconciliation/run``.

Every failure is a :class:`DaemonUnreachable` that names the URL, what was asked and how
long it was waited for: a refused connection, a timeout, an HTTP error (with the start of
its body) or an answer that is not JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from execution_core.errors import ExecutionServicesError

HEALTH_PATH = "/api/health"
RECONCILIATION_PATH = "/api/reconciliation/run"


class DaemonUnreachable(ExecutionServicesError):
    """The daemon did not answer, or answered with an error."""


@dataclass(frozen=True)
class DaemonApi:
    base_url: str
    token: str
    health_timeout_secs: float = 10.0
    reconciliation_timeout_secs: float = 300.0

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def _request(
        self, method: str, path: str, timeout: float, *, ok: tuple[int, ...] = (200,), **kw: Any
    ) -> dict[str, Any]:
        url = self.url(path)
        what = f"{method} {url}"
        try:
            # (connect, read): connecting to a live server takes milliseconds
            response = requests.request(method, url, timeout=(min(timeout, 10.0), timeout), **kw)
        except requests.Timeout:
            raise DaemonUnreachable(f"{what}: no answer within {timeout:g}s") from None
        except requests.ConnectionError as exc:
            raise DaemonUnreachable(
                f"{what}: cannot connect to the live daemon ({_reason(exc)})"
            ) from None
        except requests.RequestException as exc:
            raise DaemonUnreachable(f"{what}: {type(exc).__name__}: {exc}") from None
        if response.status_code not in ok:
            raise DaemonUnreachable(f"{what}: HTTP {response.status_code}: {response.text[:300]!r}")
        try:
            body = response.json()
        except ValueError:
            raise DaemonUnreachable(
                f"{what}: the answer is not JSON: {response.text[:200]!r}"
            ) from None
        if not isinstance(body, dict):
            raise DaemonUnreachable(f"{what}: the answer is not a JSON object")
        return body

    def health(self) -> dict[str, Any]:
        """The health document (a 503 carries one too: status ``error``)."""
        return self._request("GET", HEALTH_PATH, self.health_timeout_secs, ok=(200, 503))

    def run_reconciliation(self) -> dict[str, Any]:
        """Let the daemon settle what it can, and return the venues' own record."""
        return self._request(
            "POST",
            RECONCILIATION_PATH,
            self.reconciliation_timeout_secs,
            headers={"Authorization": f"Bearer {self.token}"},
        )


def _reason(exc: requests.ConnectionError) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host"):
        if marker in text:
            return marker.lower()
    return text[:200]
