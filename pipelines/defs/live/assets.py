"""The live daemon in the asset graph (group ``live``).

* ``live_daemon``: an external asset — Dagster does not build the daemon, it watches it;
  ``live_daemon_sensor`` records its observations.
* ``live_reconciliation`` (multi-asset: ``reconciliation_orders``, ``reconciliation_fills``,
  ``reconciliation_positions``): asks the daemon to settle what it can and to read the
  venues' own record (``POST /api/reconciliation/run``), then reads the OMS (after the
  venues), computes the breaks (:mod:`pipelines.reconciliation.breaks`), validates each
  table with its pandera schema and commits the three as one set under
  ``live/reconciliation/<read_at UTC>/`` in the results store. Each asset's ``no_breaks``
  check fails when its table has a row.

A daemon that cannot be reached, or a venue it could not read, fails the run with a message
naming the URL or the venue, and writes nothing: no table that would read as "no breaks".
Dagster only reads; repairing is the daemon's job.
"""

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import dagster as dg

from execution_core.stores import artifacts
from execution_core.validation import validated
from pipelines.defs.live.checks import no_breaks_result, no_breaks_spec
from pipelines.defs.live.daemon_api import RECONCILIATION_PATH, DaemonUnreachable
from pipelines.defs.live.metrics_push import push_reconciliation_breaks
from pipelines.defs.live.oms_snapshot import read_oms_snapshot
from pipelines.defs.live.resources import LiveDaemonResource
from pipelines.defs.metadata import markdown_table
from pipelines.defs.resources import StoresResource
from pipelines.reconciliation.breaks import Comparison, reconcile
from pipelines.reconciliation.frames import VenueRecord, venue_record_from_json
from pipelines.reconciliation.schema import BREAK_TYPES, BREAKS_SCHEMAS

GROUP = "live"
LIVE_DAEMON = dg.AssetKey("live_daemon")
RESULTS_PREFIX = "live/reconciliation"
RECONCILIATION_TABLES = {
    "reconciliation_orders": "orders",
    "reconciliation_fills": "fills",
    "reconciliation_positions": "positions",
}

live_daemon_spec = dg.AssetSpec(
    LIVE_DAEMON,
    group_name=GROUP,
    description="The live execution daemon (exec-live), observed by live_daemon_sensor from "
    "its heartbeat row and /api/health; restarted by the restart_live_daemon job.",
)


def reconciliation_prefix(read_at: dt.datetime) -> str:
    """``live/reconciliation/2025-01-15T101500.123456Z``: when the venues were read."""
    return f"{RESULTS_PREFIX}/{read_at.astimezone(dt.UTC):%Y-%m-%dT%H%M%S.%fZ}"


def _unreachable_message(body: dict[str, Any], url: str) -> str:
    """Names each venue the daemon could not read, with its endpoint and the reason given."""
    venues, errors = body.get("venues") or {}, body.get("errors") or {}
    named = []
    for name in body["unreachable"]:
        endpoint = (venues.get(name) or {}).get("endpoint") or "endpoint unknown"
        reason = f": {errors[name]}" if errors.get(name) else ""
        named.append(f"{name} ({endpoint}){reason}")
    return (
        f"reconciliation not done, no breaks table written: the daemon at {url} could not "
        f"read the venues {'; '.join(named)}"
    )


def _metadata(
    table: str, comparison: Comparison, record: VenueRecord, location: str
) -> dict[str, Any]:
    breaks = comparison.breaks
    counts = Counter(breaks["break_type"].to_list())
    return {
        "location": location,
        "n_breaks": breaks.height,
        "breaks_by_type": dg.MetadataValue.json({t: counts.get(t, 0) for t in BREAK_TYPES[table]}),
        "preview": dg.MetadataValue.md(markdown_table(breaks, empty="no breaks")),
        "venue_read_at": record.read_at.isoformat(),
        "seconds_since_venue_read": dg.MetadataValue.float(
            round((dt.datetime.now(dt.UTC) - record.read_at).total_seconds(), 3)
        ),
        "rows_compared": dg.MetadataValue.json(comparison.compared),
        "n_settled": len(record.settled),
        "settled_by_kind": dg.MetadataValue.json(
            dict(Counter(str(s.get("kind")) for s in record.settled))
        ),
        "settled": dg.MetadataValue.json(record.settled[:50]),
        "venues": dg.MetadataValue.json(record.venues),
    }


@dg.multi_asset(
    name="live_reconciliation",
    group_name=GROUP,
    specs=[
        dg.AssetSpec(
            key,
            deps=[LIVE_DAEMON],
            description=f"Breaks between the OMS's {table} and the venues' own record "
            f"({RESULTS_PREFIX}/<timestamp>/{table}.parquet in the results store).",
        )
        for key, table in RECONCILIATION_TABLES.items()
    ],
    check_specs=[no_breaks_spec(key) for key in RECONCILIATION_TABLES],
)
def live_reconciliation(
    context: dg.AssetExecutionContext, live_daemon: LiveDaemonResource, stores: StoresResource
) -> Iterator[dg.MaterializeResult]:
    api = live_daemon.api()
    url = api.url(RECONCILIATION_PATH)
    started = time.perf_counter()
    context.log.info(f"reconciliation_venue_read_start url={url}")
    try:
        body = api.run_reconciliation()
    except DaemonUnreachable as exc:
        raise dg.Failure(
            description=f"reconciliation not done, no breaks table written: {exc}",
            metadata={"url": url},
        ) from None
    if body.get("unreachable"):  # before parsing: an unreachable venue comes with no record
        raise dg.Failure(
            description=_unreachable_message(body, url),
            metadata={"url": url, "unreachable": dg.MetadataValue.json(body["unreachable"])},
        )
    record = venue_record_from_json(body, url)
    venue_s = time.perf_counter() - started
    context.log.info(
        f"reconciliation_venue_read_done read_at={record.read_at.isoformat()} "
        f"orders={record.orders.height} fills={record.fills.height} "
        f"positions={record.positions.height} settled={len(record.settled)} s={venue_s:.3f}"
    )
    oms_url = live_daemon.oms_url()
    if oms_url is None:
        raise dg.Failure(
            description="reconciliation not done, no breaks table written: no OMS database "
            f"(DATABASE_URL is unset and {live_daemon.describe_database()} is not initialised)"
        )
    snapshot = read_oms_snapshot(oms_url)
    oms_s = time.perf_counter() - started - venue_s
    comparisons = reconcile(snapshot, record)
    tables = {
        table: validated(comparisons[table].breaks, BREAKS_SCHEMAS[table], f"{table} breaks")
        for table in RECONCILIATION_TABLES.values()
    }
    prefix = reconciliation_prefix(record.read_at)
    committed = artifacts.commit(
        stores.results,
        prefix,
        {f"{table}.parquet": artifacts.parquet_bytes(frame) for table, frame in tables.items()},
        {
            "read_at": record.read_at.isoformat(),
            "daemon_url": api.base_url,
            "breaks": {table: frame.height for table, frame in tables.items()},
            "venues": record.venues,
            "settled": len(record.settled),
        },
    )
    context.log.info(
        f"reconciliation_done prefix={committed.prefix} "
        + " ".join(f"{t}_breaks={f.height}" for t, f in tables.items())
        + f" oms_orders={snapshot.orders.height} oms_fills={snapshot.fills.height}"
        f" venue_s={venue_s:.3f} oms_s={oms_s:.3f} total_s={time.perf_counter() - started:.3f}"
    )
    # after the commit: a Pushgateway that is down only logs (EXEC_PUSHGATEWAY_URL unset: no-op)
    push_reconciliation_breaks({t: f.height for t, f in tables.items()}, log=context.log)
    for key, table in RECONCILIATION_TABLES.items():
        location = stores.results.describe(f"{prefix}/{table}.parquet")
        comparison = Comparison(tables[table], comparisons[table].compared)
        yield dg.MaterializeResult(
            asset_key=key,
            metadata=_metadata(table, comparison, record, location),
            check_results=[no_breaks_result(key, tables[table], location)],
        )


LIVE_ASSETS: list[dg.AssetSpec | dg.AssetsDefinition] = [live_daemon_spec, live_reconciliation]
