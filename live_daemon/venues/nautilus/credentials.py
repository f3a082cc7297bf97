"""Which environment variables the real NautilusTrader venues need, and which are missing.

Plain functions over a mapping (``os.environ`` by default) that import no
``nautilus_trader``: the daemon calls :func:`missing_credentials` before it launches the
venue process, the venue process (``exec-venue paper`` with ``mode="live"``,
:mod:`live_daemon.venues.host`) before it builds its node, and
:func:`~live_daemon.venues.nautilus.config.build_live_node_config` takes the variable names
from here, so the three agree. A refusal names *every* missing variable at once, not only
the first.

The variables follow NautilusTrader's own conventions:

- BINANCE-SPOT: ``BINANCE_API_KEY``, ``BINANCE_API_SECRET``; with ``BINANCE_TESTNET`` set,
  ``BINANCE_TESTNET_API_KEY``, ``BINANCE_TESTNET_API_SECRET``.
- BINANCE-FUTURES (USD-M): ``BINANCE_API_KEY``, ``BINANCE_API_SECRET``; with
  ``BINANCE_TESTNET`` set, ``BINANCE_FUTURES_TESTNET_API_KEY``,
  ``BINANCE_FUTURES_TESTNET_API_SECRET``.
- BYBIT: ``BYBIT_API_KEY``, ``BYBIT_API_SECRET``; with ``BYBIT_TESTNET`` set,
  ``BYBIT_TESTNET_API_KEY``, ``BYBIT_TESTNET_API_SECRET``.
- OKX: ``OKX_API_KEY``, ``OKX_API_SECRET``, ``OKX_API_PASSPHRASE`` (``OKX_DEMO`` selects
  demo trading with the same variables).

Flags are true for ``1``/``true``/``yes``/``on`` (any case); a variable that is empty or
only blanks counts as missing. Instruments on other venues (``DERIBIT``…) are not this
module's business: they go to external adapters, which check their own credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from execution_core.errors import ConfigError
from execution_core.instruments.ids import CanonicalId

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})

TESTNET_FLAGS: dict[str, str] = {
    "BINANCE-SPOT": "BINANCE_TESTNET",
    "BINANCE-FUTURES": "BINANCE_TESTNET",
    "BYBIT": "BYBIT_TESTNET",
    "OKX": "OKX_DEMO",
}
"""Our real NautilusTrader venues and the flag that switches each to its test venue."""

LIVE_VENUE_NAMES: tuple[str, ...] = tuple(TESTNET_FLAGS)


@dataclass(frozen=True)
class Credentials:
    """The names of one venue's variables (``passphrase`` only for OKX)."""

    venue: str
    testnet: bool
    key: str
    secret: str
    passphrase: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, self.secret) + ((self.passphrase,) if self.passphrase else ())


def flag(env: Mapping[str, str], name: str) -> bool:
    """Whether the flag ``name`` is set to a true value in ``env``."""
    return env.get(name, "").strip().lower() in TRUE_VALUES


def is_set(env: Mapping[str, str], name: str) -> bool:
    return bool(env.get(name, "").strip())


def credentials(venue: str, env: Mapping[str, str] = os.environ) -> Credentials:
    """The variables ``venue`` needs given the testnet flags in ``env`` (raises
    :class:`ConfigError` for a venue that is not one of :data:`LIVE_VENUE_NAMES`)."""
    if venue not in TESTNET_FLAGS:
        raise ConfigError(
            f"no live NautilusTrader venue {venue!r}; supported: {', '.join(LIVE_VENUE_NAMES)}"
        )
    testnet = flag(env, TESTNET_FLAGS[venue])
    if venue == "OKX":
        return Credentials(venue, testnet, "OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE")
    if venue == "BINANCE-SPOT":
        prefix = "BINANCE_TESTNET" if testnet else "BINANCE"
    elif venue == "BINANCE-FUTURES":
        prefix = "BINANCE_FUTURES_TESTNET" if testnet else "BINANCE"
    else:
        prefix = "BYBIT_TESTNET" if testnet else "BYBIT"
    return Credentials(venue, testnet, f"{prefix}_API_KEY", f"{prefix}_API_SECRET")


def live_venues_of(instruments: Iterable[str]) -> list[str]:
    """The real NautilusTrader venues the canonical keys ``instruments`` are on, in order of
    first appearance (keys on other venues are left out)."""
    venues = (CanonicalId.parse(key).venue for key in instruments)
    return [v for v in dict.fromkeys(venues) if v in TESTNET_FLAGS]


def missing_by_venue(
    venues: Iterable[str], env: Mapping[str, str] = os.environ
) -> dict[str, list[str]]:
    """For each of ``venues`` that lacks some, the variables it lacks."""
    missing: dict[str, list[str]] = {}
    for venue in dict.fromkeys(venues):
        lacking = [n for n in credentials(venue, env).names if not is_set(env, n)]
        if lacking:
            missing[venue] = lacking
    return missing


def missing_credentials(
    instruments: Iterable[str], env: Mapping[str, str] = os.environ
) -> list[str]:
    """Every variable that trading ``instruments`` (canonical keys) live needs and ``env``
    lacks, each once, in venue order; ``[]`` when nothing is missing."""
    by_venue = missing_by_venue(live_venues_of(instruments), env)
    return list(dict.fromkeys(n for names in by_venue.values() for n in names))


def refusal_message(instruments: Iterable[str], env: Mapping[str, str] = os.environ) -> str | None:
    """Why live mode cannot start for ``instruments`` (canonical keys): one message naming
    every missing variable and the venue that needs it; ``None`` when nothing is missing."""
    return venues_refusal_message(live_venues_of(instruments), env)


def venues_refusal_message(
    venues: Iterable[str], env: Mapping[str, str] = os.environ
) -> str | None:
    """:func:`refusal_message` for venue names (``BINANCE-SPOT``…) rather than instruments."""
    by_venue = missing_by_venue(venues, env)
    if not by_venue:
        return None
    names = list(dict.fromkeys(n for lacking in by_venue.values() for n in lacking))
    per_venue = "; ".join(f"{venue}: {', '.join(lacking)}" for venue, lacking in by_venue.items())
    return (
        f"live mode refuses to start: environment variables not set: {', '.join(names)} "
        f"(needed by {per_venue}); set them, or run in paper mode"
    )


def require_credentials(instruments: Iterable[str], env: Mapping[str, str] = os.environ) -> None:
    """Raise :class:`ConfigError` with :func:`refusal_message` if any variable is missing."""
    message = refusal_message(instruments, env)
    if message is not None:
        raise ConfigError(message)
