"""``python -m live_daemon.venues.interactive_brokers.standin``: the stand-in as its own
process (:func:`main`; ``exec-venue ib`` can call it with its own argv)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from decimal import Decimal, InvalidOperation
from pathlib import Path

from live_daemon.venues.interactive_brokers.standin.matching import Fees
from live_daemon.venues.interactive_brokers.standin.server import StandInServer

log = logging.getLogger(__name__)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number") from None


def _price(text: str) -> tuple[str, Decimal]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--price {text!r}: expected KEY=PRICE (AAPL=190.5)")
    return key, _decimal(value)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m live_daemon.venues.interactive_brokers.standin",
        description="A local stand-in for TWS / IB Gateway (TWS API socket protocol subset).",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7497, help="0: any free port (see standin.json)")
    p.add_argument("--state-dir", type=Path, required=True, help="the journal lives here")
    p.add_argument(
        "--price",
        type=_price,
        action="append",
        default=[],
        help="KEY=PRICE, repeatable: AAPL=190.5, ES:20250321=6000, AAPL:20250117:150:C=3.2",
    )
    p.add_argument("--prices-file", type=Path, help="a JSON object {KEY: PRICE}")
    p.add_argument("--account", action="append", default=[], help="managed account(s)")
    p.add_argument("--commission-per-unit", type=_decimal, default=Decimal("0.005"))
    p.add_argument("--min-commission", type=_decimal, default=Decimal("1"))
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the stand-in until SIGINT/SIGTERM; the process's exit status."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    prices = dict(args.price)
    if args.prices_file is not None:
        loaded = json.loads(args.prices_file.read_text())
        if not isinstance(loaded, dict):
            parser().error(f"--prices-file {args.prices_file}: expected a JSON object")
        prices = {**{k: _decimal(str(v)) for k, v in loaded.items()}, **prices}
    server = StandInServer(
        args.state_dir,
        prices,
        host=args.host,
        port=args.port,
        accounts=tuple(args.account) or ("DU1234567",),
        fees=Fees(args.commission_per_unit, args.min_commission),
    )
    asyncio.run(_run(server))
    return 0


async def _run(server: StandInServer) -> None:
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    serving = asyncio.create_task(server.serve_forever())
    await stop.wait()
    serving.cancel()
    await server.stop()
    log.info("standin stopped")
