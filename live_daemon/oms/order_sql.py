"""The SQL text of the order store (:mod:`live_daemon.oms.orders`), kept apart from the code.

Each change to an order is one statement (data-modifying CTEs): one round trip, one atomic
commit. Statements returning orders select :data:`COLUMNS` plus a ``fills`` array
(:func:`fills_of`, or :data:`NO_FILLS` when the caller does not want them), which
:func:`~live_daemon.oms.order_rows.record_from_row` turns into an ``OrderRecord``.

Every value is a ``$n`` parameter; only these constants are formatted into statements.
"""

from __future__ import annotations

from live_daemon.domain import OrderStatus
from live_daemon.operations import ALL_TERM_FIELDS

FINAL_STATUSES: tuple[OrderStatus, ...] = tuple(s for s in OrderStatus if s.is_final)
"""Statuses a transition never leaves (a fill may still be recorded on them)."""

COLUMNS = (
    "order_id",
    "operation_id",
    "strategy_id",
    "instrument_key",
    "venue_key",
    "side",
    "order_type",
    "quantity",
    "price",
    "exec_algorithm",
    "exec_algorithm_params",
    "payload_hash",
    "status",
    "rejection_reason",
    "filled_quantity",
    "avg_fill_price",
    "venue_order_id",
    "created_at",
    "updated_at",
    *ALL_TERM_FIELDS,  # operation, venue type, the operations' fields (0004_unified_orders)
)
COLS = ", ".join(COLUMNS)
O_COLS = ", ".join(f"o.{c}" for c in COLUMNS)  # the same, of the order aliased ``o``


def fills_of(alias: str) -> str:
    """The ``fills`` column: the fills of the order aliased ``alias``, oldest first."""
    return (
        "ARRAY(SELECT f FROM fills f WHERE f.order_id = "
        f"{alias}.order_id ORDER BY f.ts, f.fill_id) AS fills"
    )


NO_FILLS = "NULL::fills[] AS fills"

# An order's terms (``OrderTerms.as_row()``, one jsonb parameter) as a unified_orders
# record ``t``, whose fields are the term columns' values: a column added later needs no
# new parameter. Every key is present (an absent one would be NULL, not the default).
TERM_COLS = ", ".join(ALL_TERM_FIELDS)
T_COLS = ", ".join(f"t.{c}" for c in ALL_TERM_FIELDS)


def terms_of(param: str) -> str:
    """The ``FROM`` item turning the jsonb ``param`` into the record ``t``."""
    return f"jsonb_populate_record(NULL::unified_orders, {param}) AS t"


FINAL_SQL = ", ".join(f"'{s.value}'" for s in FINAL_STATUSES)

RECORD_SQL = f"""
WITH ins AS (
    INSERT INTO unified_orders (
        order_id, operation_id, strategy_id, instrument_key, side, order_type, quantity,
        price, exec_algorithm, exec_algorithm_params, payload_hash, status, {TERM_COLS}
    )
    SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::numeric,
        $8::numeric, $9::text, $10::jsonb, $11::text, 'RECEIVED', {T_COLS}
    FROM {terms_of("$13::jsonb")}
    ON CONFLICT (operation_id) DO NOTHING
    RETURNING {COLS}
), ev AS (
    INSERT INTO order_events (order_id, kind, detail)
    SELECT order_id, 'submitted', $12 FROM ins
)
SELECT true AS created, {COLS}, {NO_FILLS} FROM ins
UNION ALL
SELECT false AS created, {O_COLS}, {fills_of("o")}
FROM unified_orders o
WHERE o.operation_id = $2 AND NOT EXISTS (SELECT 1 FROM ins)
"""

# The columns an order is recorded with in its decided state ($1..$14 of RECORD_DECIDED_SQL,
# the arrays of RECORD_DECIDED_MANY_SQL), in that order; then its events ($15) and its
# terms ($16, the term columns).
_DECIDED_COLUMNS = (
    "order_id, operation_id, strategy_id, instrument_key, side, order_type, quantity, price, "
    "exec_algorithm, exec_algorithm_params, payload_hash, status, venue_key, rejection_reason"
)

# The order in its decided state (risk and routing already ran in memory) and its events,
# in one statement: one commit per order on the hot path, still before any venue sees it.
RECORD_DECIDED_SQL = f"""
WITH ins AS (
    INSERT INTO unified_orders ({_DECIDED_COLUMNS}, {TERM_COLS})
    SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::numeric,
        $8::numeric, $9::text, $10::jsonb, $11::text, $12::text, $13::text, $14::text,
        {T_COLS}
    FROM {terms_of("$16::jsonb")}
    ON CONFLICT (operation_id) DO NOTHING
    RETURNING {COLS}
), ev AS (
    INSERT INTO order_events (order_id, kind, detail)
    SELECT ins.order_id, e.value->>'kind', e.value->'detail'
    FROM ins, jsonb_array_elements($15::jsonb) WITH ORDINALITY AS e(value, n)
    ORDER BY e.n
)
SELECT true AS created, {COLS}, {NO_FILLS} FROM ins
UNION ALL
SELECT false AS created, {O_COLS}, {fills_of("o")}
FROM unified_orders o
WHERE o.operation_id = $2 AND NOT EXISTS (SELECT 1 FROM ins)
"""

# RECORD_DECIDED_SQL for many orders at once (group commit, :mod:`~live_daemon.oms.
# order_batch`): $1..$16 are arrays, one element per order, in RECORD_DECIDED_SQL's order;
# each order's event log ($15) is JSON text (a list of lists would be a 2-D array).
# Rows come back for every order: created ones from ``ins``, the others as stored (an
# order inserted meanwhile by another transaction is in neither: the caller reads it).
RECORD_DECIDED_MANY_SQL = f"""
WITH input AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::numeric[], $8::numeric[], $9::text[], $10::jsonb[], $11::text[], $12::text[],
        $13::text[], $14::text[], $15::text[], $16::jsonb[]
    ) WITH ORDINALITY AS i({_DECIDED_COLUMNS}, events, terms, n)
), ins AS (
    INSERT INTO unified_orders ({_DECIDED_COLUMNS}, {TERM_COLS})
    SELECT {", ".join(f"i.{c.strip()}" for c in _DECIDED_COLUMNS.split(","))}, {T_COLS}
    FROM input i CROSS JOIN LATERAL {terms_of("i.terms")} ORDER BY i.n
    ON CONFLICT (operation_id) DO NOTHING
    RETURNING {COLS}
), ev AS (
    INSERT INTO order_events (order_id, kind, detail)
    SELECT ins.order_id, e.value->>'kind', e.value->'detail'
    FROM ins JOIN input i ON i.order_id = ins.order_id,
        jsonb_array_elements(i.events::jsonb) WITH ORDINALITY AS e(value, k)
    ORDER BY i.n, e.k
)
SELECT true AS created, {COLS}, {NO_FILLS} FROM ins
UNION ALL
SELECT false AS created, {O_COLS}, {fills_of("o")}
FROM unified_orders o JOIN input i ON o.operation_id = i.operation_id
WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.operation_id = i.operation_id)
"""

TRANSITION_SQL = f"""
WITH upd AS (
    UPDATE unified_orders
    SET status = $2,
        venue_key = coalesce($3, venue_key),
        rejection_reason = coalesce($4, rejection_reason),
        venue_order_id = coalesce($5, venue_order_id),
        updated_at = now()
    WHERE order_id = $1 AND status NOT IN ({FINAL_SQL})
    RETURNING {COLS}
), ev AS (
    INSERT INTO order_events (order_id, kind, detail)
    SELECT order_id, $6, $7 FROM upd
)
SELECT {O_COLS}, {fills_of("o")} FROM upd o
"""

# The fill, the order's totals and the event in one statement. Under concurrent fills of
# one order the UPDATE re-reads the latest row version (READ COMMITTED), so totals add up.
# How a new fill ``f`` (venue_key, order_id, quantity, price) moves its order ``o``: the
# body of the UPDATE in ADD_FILLS_SQL. The order keeps the exact sum of
# its fills' quantity × price, so the average is one division of exact sums (no error
# carried from fill to fill).
_FILL_MOVES_ORDER = """    UPDATE unified_orders o
    SET filled_quantity = o.filled_quantity + f.quantity,
        filled_notional = o.filled_notional + f.quantity * f.price,
        avg_fill_price = trim_scale(
            (o.filled_notional + f.quantity * f.price) / (o.filled_quantity + f.quantity)
        ),
        status = CASE
            WHEN o.filled_quantity + f.quantity >= o.quantity THEN 'FILLED'
            WHEN o.status = 'FILLED' THEN 'FILLED'  -- the venue said it is over (completed)
            WHEN o.status = 'CANCELED' THEN 'CANCELED'
            ELSE 'PARTIALLY_FILLED'
        END,
        venue_key = coalesce(o.venue_key, f.venue_key),
        updated_at = now()
    FROM f
    WHERE o.order_id = f.order_id"""


def _filled_totals(alias: str) -> str:
    """What a ``filled`` event adds to the fill: the order ``alias``'s totals after it."""
    return (
        f"jsonb_build_object('filled_quantity', {alias}.filled_quantity::text, "
        f"'avg_fill_price', {alias}.avg_fill_price::text, 'status', {alias}.status)"
    )


# A fill is a fact: it is recorded even on a CANCELED/REJECTED order (the venue filled it
# before the cancel landed); the order becomes FILLED when complete, otherwise a CANCELED
# order stays CANCELED and anything else becomes PARTIALLY_FILLED.
# Fills, many at once: $1..$10 are arrays, one element per fill, in fill_params' order
# (fill id, venue, order, quantity, price, fee…, event detail). At most one fill per order: an
# UPDATE applies one joined row per order, so two fills of one order would count as one
# (the caller splits them into separate statements). Returns one row per *new* fill.
ADD_FILLS_SQL = f"""
WITH input AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],
        $7::text[], $8::text[], $9::timestamptz[], $10::jsonb[]
    ) WITH ORDINALITY AS i(
        venue_key, fill_id, order_id, quantity, price, fee, fee_currency, liquidity_side, ts,
        detail, n
    )
), f AS (
    INSERT INTO fills (
        venue_key, fill_id, order_id, quantity, price, fee, fee_currency, liquidity_side, ts
    )
    SELECT venue_key, fill_id, order_id, quantity, price, fee, fee_currency, liquidity_side, ts
    FROM input ORDER BY n
    ON CONFLICT (venue_key, fill_id) DO NOTHING
    RETURNING venue_key, fill_id, order_id, quantity, price
), upd AS (
{_FILL_MOVES_ORDER}
    RETURNING o.order_id, o.side, o.strategy_id, o.instrument_key, o.filled_quantity,
        o.avg_fill_price, o.status
), ev AS (
    INSERT INTO order_events (order_id, kind, detail)
    SELECT upd.order_id, 'filled', i.detail || {_filled_totals("upd")}
    FROM upd JOIN input i ON i.order_id = upd.order_id
        JOIN f ON f.venue_key = i.venue_key AND f.fill_id = i.fill_id
    ORDER BY i.n
)
SELECT f.venue_key, f.fill_id, upd.order_id, upd.side, upd.strategy_id, upd.instrument_key
FROM f JOIN upd ON upd.order_id = f.order_id
"""

# ``{fills}``: fills_of("o") or NO_FILLS, filled in by the caller
GET_BY_OPERATION_SQL = f"SELECT {O_COLS}, {{fills}} FROM unified_orders o WHERE o.operation_id = $1"
GET_BY_ORDER_SQL = f"SELECT {O_COLS}, {{fills}} FROM unified_orders o WHERE o.order_id = $1"
STATUS_SQL = "SELECT status FROM unified_orders WHERE order_id = $1"
IN_FLIGHT_SQL = (
    f"SELECT {O_COLS}, {fills_of('o')} FROM unified_orders o "
    "WHERE o.status = ANY($1::text[]) ORDER BY o.created_at, o.order_id"
)
ACKNOWLEDGED_SQL = (
    "SELECT DISTINCT order_id FROM order_events "
    "WHERE kind = 'acknowledged' AND order_id = ANY($1::text[])"
)
EXTERNAL_ORDERS_SQL = (
    "SELECT order_id, status FROM unified_orders WHERE venue_type = 'EXTERNAL_SDK' "
    "ORDER BY created_at DESC LIMIT $1"
)
APPEND_EVENT_SQL = "INSERT INTO order_events (order_id, kind, detail) VALUES ($1, $2, $3)"
EVENTS_SQL = (
    "SELECT event_id, order_id, ts, kind, detail FROM order_events "
    "WHERE order_id = $1 ORDER BY event_id"
)
COUNT_SQL = "SELECT count(*) FROM unified_orders"
COUNTS_SQL = (
    "SELECT (SELECT count(*) FROM unified_orders) AS orders, (SELECT count(*) FROM fills) AS fills"
)


def list_sql(where: list[str], with_fills: bool, limit_param: int) -> str:
    """Orders matching every ``where`` fragment, newest first, at most ``$limit_param``."""
    return (
        f"SELECT {O_COLS}, {fills_of('o') if with_fills else NO_FILLS} "
        "FROM unified_orders o"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY o.created_at DESC, o.order_id DESC LIMIT ${limit_param}"
    )
