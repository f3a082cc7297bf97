"""Group commit of new orders: the orders recorded during one turn of the event loop go to
PostgreSQL as one statement, so they share one round trip and one durable commit (one WAL
flush) instead of paying one each.

* Under light load a batch holds one order and leaves at once, on the loop's next turn:
  no timer, no added wait.
* Under load, while :attr:`OrderInsertBatcher.max_in_flight` batches are being committed,
  new orders gather for the next one: batches grow with the load, and so does the saving.
* A batch is one statement, so it commits whole or not at all, and nobody is answered
  before it has committed. If it fails, its orders are recorded one by one, so a bad
  order fails alone.
* Two orders with the same ``operation_id`` never share a batch (the second waits for the
  next), so a replay inside a burst is answered with the stored row like any other.
* Batches write their orders sorted by ``operation_id``, so two batches in flight can wait
  on each other's rows but never deadlock.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

import asyncpg

from live_daemon.oms.database import json_dumps
from live_daemon.oms.order_sql import RECORD_DECIDED_MANY_SQL, RECORD_DECIDED_SQL

log = logging.getLogger(__name__)

Params = tuple[Any, ...]
"""One order's ``RECORD_DECIDED_SQL`` parameters (``decided_params``)."""
_Entry = tuple[Params, "asyncio.Future[asyncpg.Record | None]"]

_OPERATION_ID, _EVENTS = 1, 14  # positions in the parameters


class OrderInsertBatcher:
    """Runs ``RECORD_DECIDED_SQL`` for many orders at once (see the module docstring).

    :meth:`insert` answers like ``pool.fetchrow(RECORD_DECIDED_SQL, *params)``: the row
    created, or the row stored earlier under the same ``operation_id``, or ``None`` when
    that row was committed by another transaction after this statement began (the caller
    reads it again).
    """

    def __init__(self, pool: asyncpg.Pool, *, max_batch: int = 256, max_in_flight: int = 2) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError(
                f"max_batch ({max_batch}) and max_in_flight ({max_in_flight}) must be >= 1"
            )
        self.pool = pool
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._next: dict[str, _Entry] = {}  # the next batch, by operation_id
        self._later: deque[_Entry] = deque()  # an operation_id already in the next batch
        self._in_flight: set[asyncio.Task[None]] = set()
        self._scheduled = False

    async def insert(self, params: Params) -> asyncpg.Record | None:
        future: asyncio.Future[asyncpg.Record | None] = asyncio.get_running_loop().create_future()
        entry = (params, future)
        if params[_OPERATION_ID] in self._next:
            self._later.append(entry)
        else:
            self._next[params[_OPERATION_ID]] = entry
        self._schedule()
        return await future

    # --- batching ----------------------------------------------------------------------

    def _schedule(self) -> None:
        """Send the next batch on the loop's next turn, once there is room for it: the
        orders taken in this turn go together."""
        if not self._scheduled and self._next and len(self._in_flight) < self.max_in_flight:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._send_next)

    def _send_next(self) -> None:
        self._scheduled = False
        if not self._next or len(self._in_flight) >= self.max_in_flight:
            return
        batch = self._take_batch()
        task = asyncio.get_running_loop().create_task(self._commit(batch))
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _take_batch(self) -> list[_Entry]:
        keys = list(self._next)[: self.max_batch]
        batch = [self._next.pop(key) for key in keys]
        for _ in range(len(self._later)):  # duplicates move up once their twin has left
            entry = self._later.popleft()
            key = entry[0][_OPERATION_ID]
            if key in self._next:
                self._later.append(entry)
            else:
                self._next[key] = entry
        return batch

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._schedule()

    # --- committing --------------------------------------------------------------------

    async def _commit(self, batch: list[_Entry]) -> None:
        try:
            await self._commit_batch([entry for entry in batch if not entry[1].done()])
        finally:  # cancelled (shutdown) or a bug: nobody waits forever
            for _, future in batch:
                if not future.done():
                    future.set_exception(RuntimeError("the order batch was interrupted"))

    async def _commit_batch(self, live: list[_Entry]) -> None:
        if not live:
            return
        if len(live) == 1:
            await self._commit_one(live[0])
            return
        live.sort(key=lambda entry: entry[0][_OPERATION_ID])
        try:
            rows = await self.pool.fetch(RECORD_DECIDED_MANY_SQL, *_columns(live))
        except Exception as exc:
            log.warning(
                "order_batch_failed orders=%d error=%s: recording them one by one",
                len(live),
                type(exc).__name__,
            )
            await asyncio.gather(*(self._commit_one(entry) for entry in live))
            return
        by_operation = {row["operation_id"]: row for row in rows}
        for params, future in live:
            if not future.done():
                future.set_result(by_operation.get(params[_OPERATION_ID]))

    async def _commit_one(self, entry: _Entry) -> None:
        params, future = entry
        try:
            row = await self.pool.fetchrow(RECORD_DECIDED_SQL, *params)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(row)


def _columns(batch: list[_Entry]) -> list[list[Any]]:
    """The batch's parameters as ``RECORD_DECIDED_MANY_SQL``'s arrays (one per column);
    the event logs as JSON text."""
    columns = [list(column) for column in zip(*(params for params, _ in batch), strict=True)]
    columns[_EVENTS] = [json_dumps(log) for log in columns[_EVENTS]]
    return columns


__all__ = ["OrderInsertBatcher"]
