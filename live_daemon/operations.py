"""What an order does beyond a trade: the design's ``unified_orders`` vocabulary.

An order is a ``trade`` on a venue's book, or one of the operations of other kinds of
venue: DeFi (``supply``, ``borrow``, ``stake``, ``withdraw``, ``swap``), a ``transfer``
between two venues, or a ``bet`` at an exchange of odds. :class:`OrderTerms` holds the
fields those operations add (odds and selection of a bet, the venues of a transfer, the
tokens of a swap…) and what a venue reports back (transaction hash, gas…); every one is a
column of ``unified_orders`` (migration ``0004_unified_orders.sql``), so a new kind of
venue needs no schema change.

:func:`term_problem` is the per-operation rule of one field (which operation needs it,
which forbids it), shared by the API (a 422 naming the field) and tests.
:class:`VenueCapabilities` is what a venue declares it supports; the orchestrator sends
an operation only to a venue that declares it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

__all__ = [
    "ALL_TERM_FIELDS",
    "DEFI_OPERATIONS",
    "NAUTILUS_CAPABILITIES",
    "OUTCOME_FIELDS",
    "TERM_FIELDS",
    "Operation",
    "OrderTerms",
    "TimeInForce",
    "VenueCapabilities",
    "VenueType",
    "term_problem",
]


class Operation(StrEnum):
    """What an order does (``unified_orders.operation``); ``trade`` is a venue-book order."""

    TRADE = "trade"
    SUPPLY = "supply"
    BORROW = "borrow"
    STAKE = "stake"
    WITHDRAW = "withdraw"
    SWAP = "swap"
    TRANSFER = "transfer"
    BET = "bet"


class VenueType(StrEnum):
    """How the daemon reaches a venue: through NautilusTrader, or an external SDK adapter."""

    NAUTILUS = "NAUTILUS"
    EXTERNAL_SDK = "EXTERNAL_SDK"


class TimeInForce(StrEnum):
    """``GTC`` rests until filled or canceled; ``IOC`` fills what it can at once, the rest
    is canceled; ``FOK`` fills completely at once or not at all."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


DEFI_OPERATIONS = frozenset(
    {Operation.SUPPLY, Operation.BORROW, Operation.STAKE, Operation.WITHDRAW, Operation.SWAP}
)

# The operations each operation-specific field belongs to (forbidden on every other one),
# and the fields an operation requires.
_ALLOWED: dict[str, frozenset[Operation]] = {
    "odds": frozenset({Operation.BET}),
    "selection": frozenset({Operation.BET}),
    "source_venue": frozenset({Operation.TRANSFER}),
    "target_venue": frozenset({Operation.TRANSFER}),
    "source_token": DEFI_OPERATIONS,
    "target_token": DEFI_OPERATIONS,
    "contract_address": DEFI_OPERATIONS,
    "max_slippage": DEFI_OPERATIONS,
}
_REQUIRED: dict[Operation, tuple[str, ...]] = {
    Operation.BET: ("odds", "selection"),
    Operation.TRANSFER: ("source_venue", "target_venue"),
    Operation.SWAP: ("source_token", "target_token"),
}
# field -> the field it must differ from
_DIFFERENT = {"target_venue": "source_venue", "target_token": "source_token"}


def term_problem(operation: Operation, name: str, value: Any, others: dict[str, Any]) -> str | None:
    """Why ``value`` of field ``name`` is wrong on an ``operation`` order, or ``None``.

    ``others``: the fields validated before it (a ``target_*`` is compared with its
    ``source_*``)."""
    if value is None:
        if name in _REQUIRED.get(operation, ()):
            return f"is required for a {operation.value!r} order"
        return None
    allowed = _ALLOWED.get(name)
    if allowed is not None and operation not in allowed:
        kinds = ", ".join(repr(o.value) for o in sorted(allowed))
        return f"is only for {kinds} orders, not {operation.value!r}; send null or omit it"
    if name == "odds" and value <= 1:
        return f"must be decimal odds > 1, got {value!r}"
    if name == "max_slippage" and not 0 < value < 1:
        return f'must be a fraction in (0, 1), e.g. "0.005" for 0.5%, got {value!r}'
    other = _DIFFERENT.get(name)
    if other is not None and value == others.get(other):
        return f"must differ from {other} ({value!r})"
    return None


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """The ``unified_orders`` fields beyond a trade's. The caller sets the first group
    (the order's terms); the venue side sets ``venue_type`` (at routing) and the outcome
    group (``tx_hash`` … ``error_message``)."""

    operation: Operation = Operation.TRADE
    time_in_force: TimeInForce = TimeInForce.GTC
    expected_deltas: dict[str, str] = field(default_factory=dict)  # asset -> signed decimal
    atomic_group_id: str | None = None
    sequence_in_group: int | None = None
    contract_address: str | None = None
    source_token: str | None = None
    target_token: str | None = None
    max_slippage: Decimal | None = None
    odds: Decimal | None = None
    selection: str | None = None
    source_venue: str | None = None
    target_venue: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # set by the venue side
    venue_type: VenueType | None = None
    tx_hash: str | None = None
    gas_used: Decimal | None = None
    gas_price_gwei: Decimal | None = None
    potential_payout: Decimal | None = None
    error_message: str | None = None

    def as_row(self) -> dict[str, Any]:
        """Every field, JSON-ready (decimals as strings), as the OMS stores it."""
        row = asdict(self)
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()}

    def identity(self) -> dict[str, Any]:
        """The caller's fields that differ from a plain GTC trade's (decimals normalized):
        what they add to an order's payload hash, so a plain trade keeps its old hash."""
        default = OrderTerms()
        return {
            name: str(value.normalize()) if isinstance(value, Decimal) else value
            for name in TERM_FIELDS
            if (value := getattr(self, name)) != getattr(default, name)
        }

    @classmethod
    def from_row(cls, row: Any) -> OrderTerms:
        """The fields of a ``unified_orders`` row (asyncpg record or mapping)."""
        values = {name: row[name] for name in ALL_TERM_FIELDS}
        values["operation"] = Operation(values["operation"])
        values["time_in_force"] = TimeInForce(values["time_in_force"])
        if values["venue_type"] is not None:
            values["venue_type"] = VenueType(values["venue_type"])
        return cls(**values)


ALL_TERM_FIELDS: tuple[str, ...] = tuple(OrderTerms.__dataclass_fields__)
"""Every field of :class:`OrderTerms`: each is a ``unified_orders`` column of that name."""
TERM_FIELDS: tuple[str, ...] = ALL_TERM_FIELDS[: ALL_TERM_FIELDS.index("metadata") + 1]
"""The fields the caller sets (the rest are set by the venue side)."""
OUTCOME_FIELDS: tuple[str, ...] = ALL_TERM_FIELDS[len(TERM_FIELDS) :]


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """What a venue connection declares: how it is reached, the operations and
    times in force it takes. The orchestrator sends it nothing else."""

    venue_type: VenueType
    operations: frozenset[Operation]
    time_in_force: frozenset[TimeInForce]

    def refusal(self, terms: OrderTerms) -> str | None:
        """Why this venue cannot take an order with ``terms``, or ``None``."""
        if terms.operation not in self.operations:
            return f"operation {terms.operation.value!r}"
        if terms.time_in_force not in self.time_in_force:
            return f"time_in_force {terms.time_in_force.value!r}"
        return None


NAUTILUS_CAPABILITIES = VenueCapabilities(
    VenueType.NAUTILUS, frozenset({Operation.TRADE}), frozenset({TimeInForce.GTC})
)
"""The paper NautilusTrader venues: trades, good till canceled (what the node submits)."""
