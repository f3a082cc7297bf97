"""The venue host: the paper venue (:class:`~live_daemon.venues.paper.PaperVenueGateway`,
a NautilusTrader ``TradingNode``) in a process of its own, spoken to over
:mod:`live_daemon.venues.wire`.

Why a process: the node's order handling, matching and replay cost about as much CPU per
order as the whole API path; in the daemon's loop they halved its throughput and put
their bursts into the API's latency. As a separate process it is also what a venue is
to the daemon: something across a connection, that keeps running while the daemon is
busy. It exits when the daemon says ``stop`` or the connection ends (the daemon died), so
it never outlives the daemon that spawned it.

Started by :class:`~live_daemon.venues.process.VenueProcessGateway` as
``python -m live_daemon.venues.host --fd N --config JSON``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from execution_core.instruments.reference import load_reference
from execution_core.stores import open_store
from live_daemon.collector import settle_collector
from live_daemon.venues.gateway import VenueEvent
from live_daemon.venues.host_config import VenueHostConfig
from live_daemon.venues.paper import PaperVenueGateway
from live_daemon.venues.wire import FrameProtocol

log = logging.getLogger(__name__)

QUOTE_PUSH_SECS = 0.005  # how stale the daemon's copy of a quote may get, at most
HEALTH_PUSH_SECS = 0.5


class _Requests:
    """Applies the daemon's frames to the gateway."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.gateway: PaperVenueGateway | None = None
        self.channel: FrameProtocol | None = None
        self._stop = stop

    def __call__(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        gateway = self.gateway
        if kind == "stop":
            self._stop.set()
        elif gateway is None or not gateway.is_running:
            log.warning("venue_host_request_before_ready kind=%s", kind)
        elif kind == "submit":
            gateway.submit(*message[1:])
        elif kind == "cancel":
            gateway.cancel(message[1])
        elif kind == "order_state":
            assert self.channel is not None
            self.channel.send(("order_state", message[1], gateway.order_state(message[2])))
        else:
            log.error("venue_host_unknown_request kind=%r", kind)


def _sender(channel: FrameProtocol) -> Callable[[VenueEvent], None]:
    def send(event: VenueEvent) -> None:
        if channel.is_open:  # once the daemon is gone, nobody is left to tell
            channel.send(("event", event))

    return send


def _push_quotes(gateway: PaperVenueGateway, channel: FrameProtocol, sent: dict[str, Any]) -> None:
    """Send the quotes that changed since ``sent`` (updated)."""
    changed = {}
    for key in gateway.instrument_keys:
        quote = gateway.last_quote(key)
        if quote is not None and quote != sent.get(key):
            changed[key] = sent[key] = quote
    if changed:
        channel.send(("quotes", changed))


async def _push_state(
    gateway: PaperVenueGateway, channel: FrameProtocol, sent: dict[str, Any]
) -> None:
    """Quotes that changed, every few milliseconds; health twice a second."""
    next_health = time.monotonic() + HEALTH_PUSH_SECS
    while channel.is_open:
        _push_quotes(gateway, channel, sent)
        if time.monotonic() >= next_health:
            channel.send(("health", gateway.health()))
            next_health += HEALTH_PUSH_SECS
        await asyncio.sleep(QUOTE_PUSH_SECS)


async def serve(fd: int, config: VenueHostConfig) -> None:
    """Run the paper venue for the daemon at the other end of socket ``fd``."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    requests = _Requests(stop)
    _, channel = await loop.create_connection(
        lambda: FrameProtocol(requests), sock=socket.socket(fileno=fd)
    )
    requests.channel = channel
    gateway = PaperVenueGateway(
        load_reference(),
        open_store(config.ticks_store_url),
        config.instruments,
        config.day,
        on_event=_sender(channel),
        speed=config.speed,
        start_offset_secs=config.start_offset_secs,
        log_level=config.nautilus_log_level,
        start_timeout_secs=config.start_timeout_secs,
    )
    try:
        await gateway.start()
    except Exception as exc:
        log.exception("venue_host_start_failed")
        channel.send(("failed", f"{type(exc).__name__}: {exc}"))
        await asyncio.sleep(0.1)  # let the frame leave before the process exits
        return
    requests.gateway = gateway
    settle_collector()  # the node is up: see live_daemon.collector
    sent: dict[str, Any] = {}
    _push_quotes(gateway, channel, sent)  # the daemon has every book before it is ready
    channel.send(("ready", gateway.health()))
    pusher = asyncio.create_task(_push_state(gateway, channel, sent), name="venue-host-push")
    stopped = asyncio.create_task(stop.wait())
    try:
        waits: set[asyncio.Future[Any]] = {stopped, channel.closed}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        pusher.cancel()
        stopped.cancel()
        await gateway.stop()
        channel.close()
    log.info("venue_host_stopped reason=%s", "stop" if stop.is_set() else "daemon_gone")


def main() -> None:
    parser = argparse.ArgumentParser(description="The daemon's paper venue process.")
    parser.add_argument("--fd", type=int, required=True, help="socket to the daemon")
    parser.add_argument("--config", required=True, help="VenueHostConfig as JSON")
    args = parser.parse_args()
    config = VenueHostConfig.model_validate_json(args.config)

    import uvloop

    from live_daemon.logs import configure_logging

    configure_logging(config.log_level)
    os.nice(config.nice)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(args.fd, config))


if __name__ == "__main__":
    main()
