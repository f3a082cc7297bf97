-- OMS schema v3: supervision. The daemon's heartbeat (read by the Dagster sensor that
-- restarts it) and the daemon's own event log (starts, venue connections), whose ids are
-- the cursor of the sensor that triggers reconciliation runs.

CREATE TABLE daemon_heartbeat (
    instance_id text        PRIMARY KEY,                -- one per daemon start
    pid         integer     NOT NULL,
    host        text        NOT NULL,
    version     text        NOT NULL,
    api_url     text,                                   -- where its REST API listens
    started_at  timestamptz NOT NULL,
    last_beat   timestamptz NOT NULL,
    stopped_at  timestamptz,                            -- a clean stop; NULL while running or after a crash
    venues      jsonb       NOT NULL DEFAULT '{}'::jsonb -- each venue connection's state
);

CREATE INDEX daemon_heartbeat_started_idx ON daemon_heartbeat (started_at DESC);


CREATE TABLE daemon_events (
    event_id    bigserial   PRIMARY KEY,
    ts          timestamptz NOT NULL DEFAULT clock_timestamp(),
    instance_id text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN (
        'daemon_started', 'daemon_stopped', 'venue_connected', 'venue_disconnected',
        'reconciled'
    )),
    venue       text,                                   -- the venue connection, if any
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX daemon_events_kind_idx ON daemon_events (kind, event_id);
