"""The external venue adapters a daemon's settings ask for: :func:`build_adapters`.

Each adapter package brings its own config and factory (imported only when configured, so
a daemon without Deribit never imports the Deribit client)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from live_daemon.venues.external.adapter import ExternalVenueAdapter

if TYPE_CHECKING:
    from live_daemon.settings import DaemonSettings


def build_adapters(settings: DaemonSettings) -> list[ExternalVenueAdapter]:
    """The adapters of the venues configured in ``settings`` (none by default)."""
    adapters: list[ExternalVenueAdapter] = []
    if settings.deribit.instruments:
        from live_daemon.venues.deribit.factories import build_deribit_adapter

        if (deribit := build_deribit_adapter(settings)) is not None:
            adapters.append(deribit)
    if settings.interactive_brokers.instruments:
        from live_daemon.venues.interactive_brokers.factories import build_ib_adapter

        if (ib := build_ib_adapter(settings)) is not None:
            adapters.append(ib)
    return adapters
