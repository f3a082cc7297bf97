"""PostgreSQL down for a while under the daemon's venue-event consumer: nothing is lost.

Finding: a venue event whose database write failed (PostgreSQL down for a few seconds) was
logged as ``venue_event_failed`` and dropped, so its fill never reached the OMS or the
positions. Now the batch is kept and tried again until the database is back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from execution_core.database import EmbeddedPostgres
from execution_core.instruments.reference import load_reference
from execution_core.risk.engine import RiskBook
from live_daemon.domain import EventKind, Fill, OrderStatus
from live_daemon.metrics import Metrics
from live_daemon.oms import PositionStore, UnifiedOrderManager, create_pool, migrate
from live_daemon.venue_events import VenueEventConsumer
from live_daemon.venues.gateway import VenueEvent
from tests.live_daemon.oms.test_orders import BINANCE_BTC, request
from tests.live_daemon.pg_outage import start_again, stop_immediately


@pytest.fixture
def own_server(pg_data_root: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(pg_data_root / "pg", cleanup_mode="delete")
    server.start()
    try:
        yield server
    finally:
        start_again(server)  # cleanup needs it running
        server.stop()


def test_venue_events_wait_for_the_database_and_none_is_lost(
    own_server: EmbeddedPostgres, run
) -> None:
    async def body() -> None:
        pool = await create_pool(own_server.uri(), min_size=1, max_size=4, command_timeout=5)
        await migrate(pool)
        positions = PositionStore(pool)
        oms = UnifiedOrderManager(pool, positions=positions)
        record, _ = await oms.record(request("outage-1", quantity=Decimal("0.3")))
        await oms.transition(
            record.order_id, OrderStatus.SUBMITTED, EventKind.ROUTED, {}, venue_key=BINANCE_BTC
        )
        consumer = VenueEventConsumer(oms, RiskBook(), load_reference(), Metrics())
        consumer.start()
        stop_immediately(own_server)
        fill = Fill("t-outage", record.order_id, Decimal("0.3"), Decimal(100), Decimal("0.01"),
                    "USDT", "TAKER", dt.datetime.now(dt.UTC))  # fmt: skip
        consumer.put(VenueEvent("accepted", record.order_id, BINANCE_BTC, {}))
        consumer.put(VenueEvent("filled", record.order_id, BINANCE_BTC, {}, fill))
        await asyncio.sleep(1.0)  # the consumer meets the outage and keeps its batch
        start_again(own_server)
        await asyncio.wait_for(consumer.drain(), timeout=120)
        stored = await oms.get("outage-1")
        assert stored is not None and stored.status is OrderStatus.FILLED
        assert [f.fill_id for f in stored.fills] == ["t-outage"]
        position = await positions.get("momentum-btc-v1", BINANCE_BTC)
        assert position is not None and Decimal(position["quantity"]) == Decimal("0.3")
        await consumer.stop()
        await pool.close()

    run(body())
