-- OMS schema v1: orders, the append-only order-event log, fills, positions.
-- Quantities and prices are numeric (exact decimals; asyncpg maps them to Decimal).

CREATE TABLE unified_orders (
    order_id              text        PRIMARY KEY,
    operation_id          text        NOT NULL UNIQUE,           -- the idempotency key
    strategy_id           text        NOT NULL,
    instrument_key        text        NOT NULL,                  -- as requested; venue may be ANY
    venue_key             text,                                  -- concrete key chosen by the router
    -- the venue the order is (or will be) on: venue_key's venue, else the requested one
    -- (ANY until routed). Canonical IDs are [ASSET_CLASS:]VENUE:TYPE:PAYLOAD[@SUFFIX] and
    -- a payload has no ':', so 3 colons mean an asset class comes first.
    venue                 text        GENERATED ALWAYS AS (
        CASE
            WHEN array_length(string_to_array(coalesce(venue_key, instrument_key), ':'), 1) >= 4
                THEN split_part(coalesce(venue_key, instrument_key), ':', 2)
            ELSE split_part(coalesce(venue_key, instrument_key), ':', 1)
        END
    ) STORED,
    side                  text        NOT NULL CHECK (side IN ('BUY', 'SELL')),
    order_type            text        NOT NULL CHECK (order_type IN ('MARKET', 'LIMIT')),
    quantity              numeric     NOT NULL CHECK (quantity > 0),
    price                 numeric,
    exec_algorithm        text        NOT NULL DEFAULT 'NORMAL',
    exec_algorithm_params jsonb       NOT NULL DEFAULT '{}'::jsonb,
    payload_hash          text        NOT NULL,
    status                text        NOT NULL CHECK (status IN (
        'RECEIVED', 'REJECTED', 'ACCEPTED', 'SUBMITTED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED'
    )),
    rejection_reason      text,
    filled_quantity       numeric     NOT NULL DEFAULT 0 CHECK (filled_quantity >= 0),
    avg_fill_price        numeric,
    venue_order_id        text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT limit_order_has_price CHECK (order_type <> 'LIMIT' OR price IS NOT NULL)
);

CREATE INDEX unified_orders_status_idx ON unified_orders (status);
CREATE INDEX unified_orders_strategy_idx ON unified_orders (strategy_id, created_at);
CREATE INDEX unified_orders_instrument_idx ON unified_orders (instrument_key, created_at);
CREATE INDEX unified_orders_venue_key_idx ON unified_orders (venue_key, created_at);
CREATE INDEX unified_orders_venue_idx ON unified_orders (venue, created_at);
CREATE INDEX unified_orders_created_idx ON unified_orders (created_at);


CREATE TABLE order_events (
    event_id bigserial   PRIMARY KEY,
    order_id text        NOT NULL REFERENCES unified_orders (order_id),
    ts       timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind     text        NOT NULL CHECK (kind IN (
        'submitted', 'risk', 'routed', 'acknowledged', 'filled', 'cancelled', 'rejected',
        'recovered'
    )),
    detail   jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX order_events_order_idx ON order_events (order_id, event_id);

-- The event log is append-only: history is never rewritten, not even by an operator.
CREATE FUNCTION order_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER order_events_no_update_delete
    BEFORE UPDATE OR DELETE ON order_events
    FOR EACH ROW EXECUTE FUNCTION order_events_append_only();

CREATE TRIGGER order_events_no_truncate
    BEFORE TRUNCATE ON order_events
    FOR EACH STATEMENT EXECUTE FUNCTION order_events_append_only();


-- A fill is identified by the venue's trade id on the concrete instrument: a fill reported
-- twice (websocket + REST poll, or after a restart) is stored once.
CREATE TABLE fills (
    venue_key      text        NOT NULL,
    fill_id        text        NOT NULL,
    order_id       text        NOT NULL REFERENCES unified_orders (order_id),
    quantity       numeric     NOT NULL CHECK (quantity > 0),
    price          numeric     NOT NULL CHECK (price > 0),
    fee            numeric     NOT NULL DEFAULT 0,
    fee_currency   text,
    liquidity_side text,
    ts             timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (venue_key, fill_id)
);

CREATE INDEX fills_order_idx ON fills (order_id, ts);


-- Netting positions per strategy and concrete instrument (one venue each).
CREATE TABLE unified_positions (
    strategy_id     text        NOT NULL,
    instrument_key  text        NOT NULL,                        -- concrete (venue) key
    venue_key       text        NOT NULL,                        -- its venue, e.g. OKX
    canonical_key   text        NOT NULL,                        -- venue-less, e.g. PERPETUAL:BTC-USDT@LIN
    quantity        numeric     NOT NULL DEFAULT 0,              -- signed
    avg_entry_price numeric     NOT NULL DEFAULT 0,
    realized_pnl    numeric     NOT NULL DEFAULT 0,
    fees            numeric     NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (strategy_id, instrument_key)
);

CREATE INDEX unified_positions_canonical_idx ON unified_positions (canonical_key);
