-- OMS schema v4: unified_orders speaks for every kind of venue (live_daemon/operations.py).
-- An order is a `trade` or a DeFi, transfer or betting operation; its venue is reached
-- through NautilusTrader or an external SDK adapter. Existing rows keep their data: they
-- are GTC trades, and those already routed went to NautilusTrader paper venues.

ALTER TABLE unified_orders
    ADD COLUMN operation         text    NOT NULL DEFAULT 'trade' CHECK (operation IN (
        'trade', 'supply', 'borrow', 'stake', 'withdraw', 'swap', 'transfer', 'bet'
    )),
    -- set when routed (NULL on an order rejected before a venue was chosen)
    ADD COLUMN venue_type        text    CHECK (venue_type IN ('NAUTILUS', 'EXTERNAL_SDK')),
    ADD COLUMN time_in_force     text    NOT NULL DEFAULT 'GTC'
        CHECK (time_in_force IN ('GTC', 'IOC', 'FOK')),
    ADD COLUMN expected_deltas   jsonb   NOT NULL DEFAULT '{}'::jsonb,  -- asset -> signed amount
    -- atomic groups: orders that succeed or fail together, in sequence
    ADD COLUMN atomic_group_id   text,
    ADD COLUMN sequence_in_group integer CHECK (sequence_in_group >= 0),
    -- DeFi
    ADD COLUMN tx_hash           text,
    ADD COLUMN gas_used          numeric CHECK (gas_used >= 0),
    ADD COLUMN gas_price_gwei    numeric CHECK (gas_price_gwei >= 0),
    ADD COLUMN contract_address  text,
    ADD COLUMN source_token      text,
    ADD COLUMN target_token      text,
    ADD COLUMN max_slippage      numeric CHECK (max_slippage > 0 AND max_slippage < 1),
    -- betting
    ADD COLUMN odds              numeric CHECK (odds > 1),
    ADD COLUMN selection         text,
    ADD COLUMN potential_payout  numeric CHECK (potential_payout >= 0),
    -- transfers
    ADD COLUMN source_venue      text,
    ADD COLUMN target_venue      text,
    ADD COLUMN error_message     text,
    ADD COLUMN metadata          jsonb   NOT NULL DEFAULT '{}'::jsonb,
    ADD CONSTRAINT atomic_group_has_sequence
        CHECK ((atomic_group_id IS NULL) = (sequence_in_group IS NULL)),
    ADD CONSTRAINT bet_has_odds_and_selection
        CHECK (operation <> 'bet' OR (odds IS NOT NULL AND selection IS NOT NULL)),
    ADD CONSTRAINT transfer_has_two_venues CHECK (operation <> 'transfer' OR (
        source_venue IS NOT NULL AND target_venue IS NOT NULL AND source_venue <> target_venue
    )),
    ADD CONSTRAINT swap_has_two_tokens CHECK (operation <> 'swap' OR (
        source_token IS NOT NULL AND target_token IS NOT NULL AND source_token <> target_token
    ));

UPDATE unified_orders SET venue_type = 'NAUTILUS' WHERE venue_key IS NOT NULL;

CREATE INDEX unified_orders_operation_idx ON unified_orders (operation);
CREATE INDEX unified_orders_atomic_group_idx ON unified_orders (atomic_group_id, sequence_in_group)
    WHERE atomic_group_id IS NOT NULL;
CREATE INDEX unified_orders_tx_hash_idx ON unified_orders (tx_hash) WHERE tx_hash IS NOT NULL;
CREATE INDEX unified_orders_operation_status_idx ON unified_orders (operation, status);
CREATE INDEX unified_orders_status_strategy_idx ON unified_orders (status, strategy_id);
-- the design's created_at index: 0001 already made it (kept, named as there)
CREATE INDEX IF NOT EXISTS unified_orders_created_idx ON unified_orders (created_at);
