"""``exec-cli``: a command-line client of the live daemon's order API.

Every command prints the API's answer and exits 0 on a 2xx answer; otherwise it prints the
error body (JSON) to stderr and exits 1 (2 for a usage error). Validation is the API's:
what it rejects, the CLI reports with the field named. By default an order, a fill, a
position and an execution-log entry print as the one line of text the API gives them
(``text``: the same the web UI shows; :mod:`live_daemon.display`), an order followed by
its fills; ``--output json`` prints the JSON answer instead, pretty-printed, for scripts.

    exec-cli submit --operation-id OP-1 --instrument ANY:PERPETUAL:BTC-USDT@LIN \\
        --side BUY --quantity 0.01 --strategy demo --algo TWAP \\
        --algo-params '{"duration_sec": 60, "max_slices": 6}'
    exec-cli submit --json order.json          # or --json - to read stdin
    exec-cli status OP-1 ; exec-cli cancel OP-1
    exec-cli orders --status FILLED --since 2025-01-15T00:00:00Z --limit 50 --search OP-
    exec-cli positions ; exec-cli logs --outcome rejected ; exec-cli timeline OP-1
    exec-cli health ; exec-cli --output json status OP-1

``--url`` defaults to ``$EXEC_DAEMON_URL`` or ``http://127.0.0.1:8001``; ``--token`` to
``$EXEC_DAEMON_TOKEN``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer

from execution_core.orders import OrderType

DEFAULT_URL = "http://127.0.0.1:8001"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class Output(StrEnum):
    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True)
class _Target:
    url: str
    token: str | None
    timeout: float
    transport: httpx.BaseTransport | None
    output: Output = Output.TEXT


def text_lines(body: Any) -> list[str] | None:
    """The lines the API's ``text`` fields make of ``body`` (an order and its fills, a
    list of orders or positions, an execution log), or ``None`` when it has none (health,
    a timeline: printed as JSON)."""
    if isinstance(body, dict) and isinstance(body.get("entries"), list):
        return [str(entry.get("text", "")) for entry in body["entries"]]
    if isinstance(body, dict) and "text" in body:
        fills = body.get("fills") or []
        return [str(body["text"]), *(f"  {fill.get('text', '')}" for fill in fills)]
    if isinstance(body, list) and all(isinstance(item, dict) and "text" in item for item in body):
        return [str(item["text"]) for item in body]
    return None


def _dump(body: Any) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False)


def _fail(detail: str) -> typer.Exit:
    typer.echo(_dump({"detail": detail}), err=True)
    return typer.Exit(1)


def _call(
    ctx: typer.Context,
    method: str,
    path: str,
    *,
    body: Any = None,
    params: dict[str, Any] | None = None,
) -> None:
    target: _Target = ctx.obj
    headers = {"Accept": "application/json"}
    if target.token:
        headers["Authorization"] = f"Bearer {target.token}"
    query = {k: v for k, v in (params or {}).items() if v is not None}
    try:
        # a daemon on this machine is never reached through an HTTP(S)_PROXY
        local = httpx.URL(target.url).host in _LOOPBACK
        with httpx.Client(
            base_url=target.url,
            headers=headers,
            timeout=target.timeout,
            transport=target.transport,
            trust_env=not local,
        ) as client:
            response = client.request(
                method,
                path,
                params=query or None,
                content=None if body is None else json.dumps(body).encode(),
                headers=None if body is None else {"Content-Type": "application/json"},
            )
    except httpx.HTTPError as exc:
        raise _fail(
            f"cannot reach the daemon at {target.url}: {type(exc).__name__}: {exc}"
        ) from None
    parsed = True
    try:
        payload: Any = response.json()
        text = _dump(payload)
    except ValueError:
        parsed, text = False, response.text
        if not response.is_success:
            text = _dump({"detail": f"HTTP {response.status_code}: {text.strip()}"})
    if response.is_success:
        lines = text_lines(payload) if parsed and target.output is Output.TEXT else None
        typer.echo(text if lines is None else "\n".join(lines))
        return
    typer.echo(text, err=True)
    raise typer.Exit(1)


def _read_json(source: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {source}: {exc}", param_hint="--json") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(
            f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            param_hint="--json",
        ) from None
    if not isinstance(data, dict):
        raise typer.BadParameter(
            f"{source}: expected a JSON object, got {type(data).__name__}", param_hint="--json"
        )
    return data


def create_cli(transport: httpx.BaseTransport | None = None) -> typer.Typer:
    """The ``exec-cli`` app; ``transport`` replaces the network (tests use
    ``httpx.MockTransport`` or an ASGI bridge)."""
    app = typer.Typer(
        name="exec-cli",
        help="Client of the live execution daemon's order API.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def main(
        ctx: typer.Context,
        url: Annotated[
            str, typer.Option(envvar="EXEC_DAEMON_URL", help="The daemon's base URL.")
        ] = DEFAULT_URL,
        token: Annotated[
            str | None,
            typer.Option(envvar="EXEC_DAEMON_TOKEN", help="Bearer token of the order API."),
        ] = None,
        timeout: Annotated[float, typer.Option(min=0.1, help="Request timeout, seconds.")] = 10.0,
        output: Annotated[
            Output, typer.Option(help="text: the lines the web UI shows too; json: the answer.")
        ] = Output.TEXT,
    ) -> None:
        ctx.obj = _Target(url.rstrip("/"), token, timeout, transport, output)

    @app.command()
    def submit(
        ctx: typer.Context,
        json_file: Annotated[
            str | None,
            typer.Option(
                "--json",
                metavar="FILE|-",
                help="The order as a JSON object (file, or - for stdin); options below "
                "override its fields.",
            ),
        ] = None,
        operation_id: Annotated[
            str | None, typer.Option(help="Idempotency key (reuse it to retry safely).")
        ] = None,
        instrument: Annotated[
            str | None,
            typer.Option(help="Canonical instrument ID (venue may be ANY)."),
        ] = None,
        side: Annotated[str | None, typer.Option(help="BUY or SELL.")] = None,
        quantity: Annotated[str | None, typer.Option(help="Decimal quantity, e.g. 0.01.")] = None,
        price: Annotated[str | None, typer.Option(help="Limit price (LIMIT orders).")] = None,
        order_type: Annotated[
            str | None,
            typer.Option(help="MARKET or LIMIT (default: LIMIT with --price, else MARKET)."),
        ] = None,
        strategy: Annotated[str | None, typer.Option(help="strategy_id.")] = None,
        algo: Annotated[
            str | None, typer.Option(help="NORMAL, TWAP, VWAP or ICEBERG (default NORMAL).")
        ] = None,
        algo_params: Annotated[
            str | None,
            typer.Option(help="Algorithm params as a JSON object, e.g. '{\"duration_sec\": 60}'."),
        ] = None,
    ) -> None:
        """Submit an order (POST /api/orders): 201 new, 200 replay of the same order."""
        body: dict[str, Any] = _read_json(json_file) if json_file is not None else {}
        upper = {"side": side, "order_type": order_type, "exec_algorithm": algo}
        plain = {
            "operation_id": operation_id,
            "instrument_key": instrument,
            "quantity": quantity,
            "price": price,
            "strategy_id": strategy,
        }
        body.update({k: v.upper() for k, v in upper.items() if v is not None})
        body.update({k: v for k, v in plain.items() if v is not None})
        if algo_params is not None:
            try:
                body["exec_algorithm_params"] = json.loads(algo_params)
            except json.JSONDecodeError as exc:
                raise typer.BadParameter(
                    f"not valid JSON: {exc.msg} at column {exc.colno}",
                    param_hint="--algo-params",
                ) from None
        if "order_type" not in body:
            body["order_type"] = OrderType.MARKET if body.get("price") is None else OrderType.LIMIT
        _call(ctx, "POST", "/api/orders", body=body)

    @app.command()
    def status(
        ctx: typer.Context,
        operation_id: Annotated[str, typer.Argument(help="The order's operation_id.")],
    ) -> None:
        """Show one order with its fills (GET /api/orders/{operation_id})."""
        _call(ctx, "GET", f"/api/orders/{quote(operation_id, safe='')}")

    @app.command()
    def cancel(
        ctx: typer.Context,
        operation_id: Annotated[str, typer.Argument(help="The order's operation_id.")],
    ) -> None:
        """Cancel an order (DELETE /api/orders/{operation_id}); prints it as it stands."""
        _call(ctx, "DELETE", f"/api/orders/{quote(operation_id, safe='')}")

    @app.command()
    def orders(
        ctx: typer.Context,
        status: Annotated[
            str | None, typer.Option(help="RECEIVED, SUBMITTED, FILLED, REJECTED, …")
        ] = None,
        venue: Annotated[str | None, typer.Option(help="Routed to this venue.")] = None,
        instrument: Annotated[str | None, typer.Option(help="This instrument_key.")] = None,
        strategy: Annotated[str | None, typer.Option(help="This strategy_id.")] = None,
        since: Annotated[str | None, typer.Option(help="Created at/after (ISO 8601).")] = None,
        until: Annotated[str | None, typer.Option(help="Created before (ISO 8601).")] = None,
        search: Annotated[
            str | None, typer.Option(help="A part of the operation id or order id.")
        ] = None,
        limit: Annotated[int | None, typer.Option(help="At most this many (1..1000).")] = None,
    ) -> None:
        """List orders, newest first (GET /api/orders)."""
        params = {
            "status": status.upper() if status else None,
            "venue": venue,
            "instrument": instrument,
            "strategy": strategy,
            "since": since,
            "until": until,
            "q": search,
            "limit": limit,
        }
        _call(ctx, "GET", "/api/orders", params=params)

    @app.command()
    def timeline(
        ctx: typer.Context,
        operation_id: Annotated[str, typer.Argument(help="The order's operation_id.")],
    ) -> None:
        """An order's event log: risk result, routing decision, acknowledgement, fills."""
        _call(ctx, "GET", f"/api/orders/{quote(operation_id, safe='')}/timeline")

    @app.command()
    def logs(
        ctx: typer.Context,
        after: Annotated[int | None, typer.Option(help="Entries after this event_id.")] = None,
        outcome: Annotated[str | None, typer.Option(help="accepted or rejected.")] = None,
        strategy: Annotated[str | None, typer.Option(help="This strategy_id.")] = None,
        instrument: Annotated[str | None, typer.Option(help="This instrument_key.")] = None,
        limit: Annotated[int | None, typer.Option(help="At most this many (1..1000).")] = None,
    ) -> None:
        """The execution log: orders accepted, and rejected with the reason (GET /api/logs)."""
        params = {
            "after": after,
            "outcome": outcome.lower() if outcome else None,
            "strategy": strategy,
            "instrument": instrument,
            "limit": limit,
        }
        _call(ctx, "GET", "/api/logs", params=params)

    @app.command()
    def positions(ctx: typer.Context) -> None:
        """Positions per strategy and venue, and aggregated per instrument."""
        _call(ctx, "GET", "/api/positions")

    @app.command()
    def health(ctx: typer.Context) -> None:
        """The daemon's health (no token needed); exit 1 unless ok or degraded."""
        _call(ctx, "GET", "/api/health")

    return app


app = create_cli()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
