"""Persistent netting positions (``unified_positions``), one row per strategy and concrete
instrument (which fixes the venue).

The accounting is :func:`execution_core.accounting.settlement.apply_fill_for`, the rule the
backtest ledger uses, chosen by the position's concrete instrument key:

* linear (``…@LIN``, every other key): :func:`~execution_core.accounting.positions.
  apply_fill`, run on ``Decimal`` values (it is written with plain arithmetic, so it works
  on Decimals unchanged, and no float enters a linear position). Quantity in base units,
  PnL and fees in the quote currency.
* inverse (``…@INV``, Deribit's ``BTC-PERPETUAL``): :func:`~execution_core.accounting.
  positions.apply_inverse_fill`. The position's quantity is kept in USD contracts (the
  venue's and the backtest ledger's unit; what reconciliation reads from the venue), its
  average entry is the harmonic mean, realized PnL and fees are in the coin (BTC). The OMS
  hands fills over in base units (BTC), so :meth:`PositionBatch.add` takes a fill back to
  USD at its own price (``base × price``, the USD the venue traded). That rule is
  written with float literals (``1.0 / avg``), so it runs on floats, and its results are
  stored as the shortest decimal of each float (which reads back as the same float): a
  live inverse position is bit-for-bit what ``apply_fill_for`` gives on the same fills.

Every change goes through :meth:`PositionStore.apply_batch` (one fill is a batch of one):
the rows are locked under ``SELECT ... FOR UPDATE`` in the fill's transaction, moved in
memory and written once, so concurrent fills on one position serialise.

:meth:`PositionStore.by_instrument` aggregates across venues per instrument family (the
venue-free key of :func:`~execution_core.instruments.ids.instrument_family`, kept in the
``canonical_key`` column): ``BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN`` and
``OKX:PERPETUAL:BTC-USDT@LIN`` both count under ``PERPETUAL:BTC-USDT@LIN``.
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import asyncpg

from execution_core.accounting.positions import Position
from execution_core.accounting.positions import apply_fill as core_apply_fill
from execution_core.accounting.settlement import apply_fill_for, is_inverse
from execution_core.instruments.ids import CanonicalId, instrument_family

ZERO = Decimal(0)

_COLUMNS = (
    "strategy_id, instrument_key, venue_key, canonical_key, quantity, avg_entry_price, "
    "realized_pnl, fees, updated_at"
)

# apply_batch's rows, locked in key order, the missing ones created flat, in one round
# trip. The statement's snapshot cannot see a row another transaction commits while it
# runs: such a row is neither locked nor created here (ON CONFLICT waits for it, then does
# nothing), and apply_batch locks it with _LOCK_SQL.
_STATE_COLUMNS = "quantity, avg_entry_price, realized_pnl, fees"  # what a fill moves
_LOCK_OR_CREATE_SQL = f"""
WITH keys AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
        AS k(strategy_id, instrument_key, venue_key, canonical_key)
), locked AS (
    SELECT strategy_id, instrument_key, {_STATE_COLUMNS}
    FROM unified_positions p JOIN keys k USING (strategy_id, instrument_key)
    ORDER BY strategy_id, instrument_key
    FOR UPDATE OF p
), created AS (
    INSERT INTO unified_positions (strategy_id, instrument_key, venue_key, canonical_key)
    SELECT * FROM keys ORDER BY strategy_id, instrument_key
    ON CONFLICT DO NOTHING
    RETURNING strategy_id, instrument_key, {_STATE_COLUMNS}
)
SELECT * FROM locked UNION ALL SELECT * FROM created
"""
_LOCK_SQL = (
    f"SELECT strategy_id, instrument_key, {_STATE_COLUMNS} "
    "FROM unified_positions WHERE (strategy_id, instrument_key) IN "
    "(SELECT * FROM unnest($1::text[], $2::text[])) "
    "ORDER BY strategy_id, instrument_key FOR UPDATE"
)
_UPDATE_SQL = (
    "UPDATE unified_positions SET quantity = $3, avg_entry_price = $4, realized_pnl = $5, "
    "fees = $6, updated_at = now() WHERE strategy_id = $1 AND instrument_key = $2"
)


_ONE_SQL = (
    f"SELECT {_COLUMNS} FROM unified_positions WHERE strategy_id = $1 AND instrument_key = $2"
)


def resolve_instrument(instrument_key: str, venue_key: str | None = None) -> CanonicalId:
    """The concrete instrument a fill happened on.

    ``venue_key`` may be the concrete key (``OKX:PERPETUAL:BTC-USDT@LIN``, as stored on
    orders and fills; then ``instrument_key`` may be the requested ``ANY:…`` key) or just
    the venue (``OKX``; then ``instrument_key`` must be concrete on that venue).
    """
    if venue_key is not None and ":" in venue_key:
        concrete = CanonicalId.parse(venue_key)
    else:
        concrete = CanonicalId.parse(instrument_key)
        if venue_key is not None and venue_key != concrete.venue:
            raise ValueError(f"instrument {instrument_key} is not on venue {venue_key}")
    if concrete.is_any_venue:
        raise ValueError(
            f"a position needs a concrete venue, got {instrument_key!r} / {venue_key!r}"
        )
    return concrete


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def apply_fill_decimal(
    quantity: Decimal,
    avg_entry_price: Decimal,
    realized_pnl: Decimal,
    fees: Decimal,
    signed_qty: Decimal,
    price: Decimal,
    fee: Decimal,
    *,
    instrument_key: str | None = None,
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """``execution_core``'s netting accounting on Decimals: ``(quantity, avg_entry_price,
    realized_pnl, fees)`` after the fill (ValueError on a zero quantity or price ≤ 0).

    ``instrument_key`` chooses the rule (:func:`~execution_core.accounting.settlement.
    apply_fill_for`); without it the linear rule. Quantities are in the position's unit:
    USD contracts for an inverse key (see the module docstring)."""
    if instrument_key is not None and is_inverse(instrument_key):
        # the inverse rule mixes float literals into its arithmetic: floats in, and each
        # float out as its shortest decimal (which reads back as the same float)
        inverse = apply_fill_for(
            instrument_key,
            Position(float(quantity), float(avg_entry_price), float(realized_pnl), float(fees)),
            float(signed_qty),
            float(price),
            float(fee),
        )
        return (
            _dec(inverse.quantity),
            _dec(inverse.avg_entry_price),
            _dec(inverse.realized_pnl),
            _dec(inverse.fees),
        )
    before = Position(
        quantity=cast(float, quantity),
        avg_entry_price=cast(float, avg_entry_price),
        realized_pnl=cast(float, realized_pnl),
        fees=cast(float, fees),
    )
    after = core_apply_fill(before, cast(float, signed_qty), cast(float, price), cast(float, fee))
    return (
        _dec(after.quantity),
        _dec(after.avg_entry_price),
        _dec(after.realized_pnl),
        _dec(after.fees),
    )


def position_quantity(
    instrument: CanonicalId | str, signed_base: Decimal, price: Decimal
) -> Decimal:
    """A fill's signed quantity in the unit its position is kept in: base units (as the OMS
    has it) for a linear instrument, USD contracts (``base × price``) for an inverse one."""
    if is_inverse(str(instrument)):
        return signed_base * price
    return signed_base


def _average_entry(
    instrument_key: str, legs: builtins.list[dict[str, Any]], weight: Decimal
) -> Decimal:
    """The average entry of ``legs`` (all on one side, ``weight`` their summed |quantity|):
    weighted by quantity; for an inverse family, USD over the coins the legs were entered
    for (the harmonic mean)."""
    if not weight:
        return ZERO
    if is_inverse(instrument_key):
        coins = sum((abs(leg["quantity"]) / leg["avg_entry_price"] for leg in legs), ZERO)
        return weight / coins
    return sum((abs(leg["quantity"]) * leg["avg_entry_price"] for leg in legs), ZERO) / weight


def _row_key(key: tuple[str, CanonicalId]) -> tuple[str, str]:
    return key[0], str(key[1])


@dataclass(frozen=True)
class _PendingFill:
    strategy_id: str
    instrument: CanonicalId
    signed_qty: Decimal  # in the position's unit (USD contracts for an inverse instrument)
    price: Decimal
    fee: Decimal


@dataclass
class PositionBatch:
    """Fills collected during one transaction, applied to the positions together by
    :meth:`PositionStore.apply_batch`: each row is locked and read once, moved in memory
    fill by fill (in the order added), and written once."""

    fills: builtins.list[_PendingFill] = field(default_factory=builtins.list)

    def add(
        self,
        strategy_id: str,
        instrument_key: str,
        venue_key: str | None,
        signed_qty: Decimal,
        price: Decimal,
        fee: Decimal = ZERO,
    ) -> None:
        """As :meth:`PositionStore.apply_fill`'s arguments (``signed_qty`` in base units;
        kept in USD contracts for an inverse instrument, see :func:`position_quantity`)."""
        concrete = resolve_instrument(instrument_key, venue_key)
        price = _dec(price)
        quantity = position_quantity(concrete, _dec(signed_qty), price)
        self.fills.append(_PendingFill(strategy_id, concrete, quantity, price, _dec(fee)))


class PositionStore:
    """Positions in PostgreSQL (see the module docstring)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def apply_fill(
        self,
        strategy_id: str,
        instrument_key: str,
        venue_key: str | None,
        signed_qty: Decimal,
        price: Decimal,
        fee: Decimal = ZERO,
        *,
        conn: asyncpg.Connection | None = None,
    ) -> dict[str, Any]:
        """Apply a fill (``signed_qty`` > 0 buys, < 0 sells, in base units as the OMS keeps
        fills; ``fee`` in the settlement currency) and return the new position:
        :meth:`apply_batch` with one fill (one arithmetic path for every position change).

        See :func:`resolve_instrument` for ``instrument_key`` / ``venue_key``. With
        ``conn`` (inside the caller's transaction, e.g. the fill's) the update joins that
        transaction; without, it runs in its own.
        """
        batch = PositionBatch()
        batch.add(strategy_id, instrument_key, venue_key, signed_qty, price, fee)
        concrete = str(batch.fills[0].instrument)
        if conn is not None:
            if not conn.is_in_transaction():
                raise ValueError("apply_fill(conn=...) must run inside a transaction")
            return await self._apply_one(conn, batch, strategy_id, concrete)
        async with self.pool.acquire() as own, own.transaction():
            return await self._apply_one(own, batch, strategy_id, concrete)

    async def _apply_one(
        self, conn: asyncpg.Connection, batch: PositionBatch, strategy_id: str, instrument: str
    ) -> dict[str, Any]:
        await self.apply_batch(conn, batch)
        row = await conn.fetchrow(_ONE_SQL, strategy_id, instrument)
        return dict(row)

    async def apply_batch(self, conn: asyncpg.Connection, batch: PositionBatch) -> int:
        """Apply every fill of ``batch`` in ``conn``'s transaction, with two round trips
        whatever the batch's size (rows are locked in key order). Returns the number of
        positions changed; the result is the same as :meth:`apply_fill` fill by fill."""
        if not batch.fills:
            return 0
        if not conn.is_in_transaction():
            raise ValueError("apply_batch must run inside a transaction")
        keys = sorted({(f.strategy_id, f.instrument) for f in batch.fills}, key=_row_key)
        strategies, instruments = [s for s, _ in keys], [str(i) for _, i in keys]
        rows = await conn.fetch(
            _LOCK_OR_CREATE_SQL,
            strategies,
            instruments,
            [i.venue for _, i in keys],
            [instrument_family(i) for _, i in keys],  # the canonical_key column
        )
        if len(rows) < len(keys):  # created by another transaction meanwhile (see the SQL)
            rows = await conn.fetch(_LOCK_SQL, strategies, instruments)
        state = {
            (r["strategy_id"], r["instrument_key"]): (
                r["quantity"], r["avg_entry_price"], r["realized_pnl"], r["fees"]
            )
            for r in rows
        }  # fmt: skip
        for fill in batch.fills:
            key = (fill.strategy_id, str(fill.instrument))
            state[key] = apply_fill_decimal(
                *state[key], fill.signed_qty, fill.price, fill.fee, instrument_key=key[1]
            )
        await conn.executemany(_UPDATE_SQL, [(s, i, *values) for (s, i), values in state.items()])
        return len(state)

    async def get(self, strategy_id: str, instrument_key: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(_ONE_SQL, strategy_id, instrument_key)
        return None if row is None else dict(row)

    async def all(
        self, *, strategy: str | None = None, open_only: bool = False
    ) -> builtins.list[dict[str, Any]]:
        """Every position row (closed ones too, they carry realized PnL unless
        ``open_only``), ordered by strategy and instrument."""
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM unified_positions "
            "WHERE ($1::text IS NULL OR strategy_id = $1) AND (NOT $2 OR quantity <> 0) "
            "ORDER BY strategy_id, instrument_key",
            strategy,
            open_only,
        )
        return [dict(row) for row in rows]

    async def by_instrument(self, *, strategy: str | None = None) -> builtins.list[dict[str, Any]]:
        """Positions summed across venues (and strategies, unless ``strategy`` is given)
        per canonical, venue-less instrument.

        Each item: ``canonical_key``, ``quantity`` (net), ``avg_entry_price`` (weighted
        over the legs on the net side: by quantity, or for an inverse instrument the
        harmonic mean, as :func:`~execution_core.accounting.positions.apply_inverse_fill`
        averages; 0 when flat), ``realized_pnl``, ``fees``,
        ``venues`` ``{venue: quantity}``, ``strategies`` ``{strategy_id: quantity}``,
        ``instruments`` (the concrete keys).
        """
        groups: dict[str, builtins.list[dict[str, Any]]] = defaultdict(list)
        for row in await self.all(strategy=strategy):
            groups[row["canonical_key"]].append(row)
        result = []
        for key in sorted(groups):
            legs = groups[key]
            net = sum((leg["quantity"] for leg in legs), ZERO)
            same_side = [leg for leg in legs if net and leg["quantity"] * net > 0]
            weight = sum((abs(leg["quantity"]) for leg in same_side), ZERO)
            avg = _average_entry(legs[0]["instrument_key"], same_side, weight)
            venues: dict[str, Decimal] = defaultdict(lambda: ZERO)
            strategies: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for leg in legs:
                venues[leg["venue_key"]] += leg["quantity"]
                strategies[leg["strategy_id"]] += leg["quantity"]
            result.append(
                {
                    "canonical_key": key,
                    "quantity": net,
                    "avg_entry_price": avg,
                    "realized_pnl": sum((leg["realized_pnl"] for leg in legs), ZERO),
                    "fees": sum((leg["fees"] for leg in legs), ZERO),
                    "venues": dict(venues),
                    "strategies": dict(strategies),
                    "instruments": sorted({leg["instrument_key"] for leg in legs}),
                    "updated_at": max(leg["updated_at"] for leg in legs),
                }
            )
        return result
