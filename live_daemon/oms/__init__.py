"""The OMS: every order is recorded in PostgreSQL before any venue sees it.

* :mod:`~live_daemon.oms.database` — embedded PostgreSQL (pgserver, ``runtime/pg``) or
  ``DATABASE_URL``; the asyncpg pool.
* :mod:`~live_daemon.oms.migrations` — versioned plain-SQL schema migrations.
* :mod:`~live_daemon.oms.orders` — :class:`UnifiedOrderManager`, the write-ahead order store.
* :mod:`~live_daemon.oms.positions` — :class:`PositionStore`, persistent netting positions.

Typical start-up::

    url, embedded = resolve_database_url()
    pool = await create_pool(url)
    await migrate(pool)
    positions = PositionStore(pool)
    oms = UnifiedOrderManager(pool, positions=positions)
"""

from live_daemon.oms.database import (
    EmbeddedPostgres,
    check_durability,
    create_pool,
    resolve_database_url,
)
from live_daemon.oms.migrations import MigrationError, load_migrations, migrate
from live_daemon.oms.orders import (
    IdempotencyConflict,
    InvalidTransition,
    OrderNotFound,
    UnifiedOrderManager,
    new_order_id,
)
from live_daemon.oms.positions import PositionStore

__all__ = [
    "EmbeddedPostgres",
    "IdempotencyConflict",
    "InvalidTransition",
    "MigrationError",
    "OrderNotFound",
    "PositionStore",
    "UnifiedOrderManager",
    "check_durability",
    "create_pool",
    "load_migrations",
    "migrate",
    "new_order_id",
    "resolve_database_url",
]
