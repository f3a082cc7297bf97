"""Take a test's own embedded PostgreSQL down and bring it back, as a crash would: an
immediate shutdown (no checkpoint; crash recovery at the next start), then a start on the
same data directory and socket."""

from __future__ import annotations

from execution_core.database import EmbeddedPostgres


def stop_immediately(server: EmbeddedPostgres) -> None:
    from pgserver._commands import pg_ctl

    pg = server._server
    assert pg is not None, "start the server first"
    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=pg.pgdata, user=pg.system_user)


def start_again(server: EmbeddedPostgres) -> None:
    pg = server._server
    assert pg is not None, "start the server first"
    pg.ensure_postgres_running()
