"""Rows written straight into a migrated OMS database, as the daemon would have written them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import asyncpg

BTC_OKX = "OKX:PERPETUAL:BTC-USDT@LIN"


def execute(url: str, sql: str, *args: Any) -> Any:
    async def body() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(body())


def copy_rows(url: str, table: str, rows: list[dict[str, Any]]) -> None:
    """COPY ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    columns = list(rows[0])

    async def body() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.copy_records_to_table(
                table, records=[tuple(r[c] for c in columns) for r in rows], columns=columns
            )
        finally:
            await conn.close()

    asyncio.run(body())


def order(order_id: str, **kw: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    row = {
        "order_id": order_id,
        "operation_id": f"op-{order_id}",
        "strategy_id": "s1",
        "instrument_key": "ANY:PERPETUAL:BTC-USDT@LIN",
        "venue_key": BTC_OKX,
        "side": "BUY",
        "order_type": "MARKET",
        "quantity": Decimal("0.5"),
        "payload_hash": "h",
        "status": "FILLED",
        "filled_quantity": Decimal("0.5"),
        "created_at": now,
        "updated_at": now,
    }
    return row | kw


def fill(fill_id: str, order_id: str, **kw: Any) -> dict[str, Any]:
    row = {
        "venue_key": BTC_OKX,
        "fill_id": fill_id,
        "order_id": order_id,
        "quantity": Decimal("0.5"),
        "price": Decimal("43000.5"),
        "fee": Decimal("0.1"),
        "ts": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4),
    }
    return row | kw


def position(strategy_id: str, instrument_key: str, quantity: str) -> dict[str, Any]:
    return {
        "strategy_id": strategy_id,
        "instrument_key": instrument_key,
        "venue_key": instrument_key.split(":")[0],
        "canonical_key": instrument_key.split(":", 1)[1],
        "quantity": Decimal(quantity),
    }


def write_heartbeat(
    url: str,
    instance_id: str,
    *,
    age_s: float,
    stopped: bool = False,
    pid: int = 4242,
    host: str = "test-host",
    venues: dict[str, Any] | None = None,
) -> None:
    """The row of a daemon that last beat ``age_s`` seconds ago (database clock)."""
    execute(
        url,
        """
        INSERT INTO daemon_heartbeat
            (instance_id, pid, host, version, api_url, started_at, last_beat, stopped_at, venues)
        VALUES ($1, $2, $3, '0.1.0', 'http://127.0.0.1:8001',
                now() - make_interval(secs => $4 + 600), now() - make_interval(secs => $4),
                CASE WHEN $5 THEN now() - make_interval(secs => $4) END, $6::jsonb)
        """,
        instance_id, pid, host, age_s, stopped, json.dumps(venues or {}),
    )  # fmt: skip


def write_event(url: str, kind: str, instance_id: str = "i-1", venue: str | None = None) -> int:
    return int(
        execute(
            url,
            "INSERT INTO daemon_events (instance_id, kind, venue) VALUES ($1, $2, $3) "
            "RETURNING event_id",
            instance_id,
            kind,
            venue,
        )
    )
