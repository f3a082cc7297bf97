"""Pre-trade risk limits: a frozen pydantic model, loadable from a JSON config file.

Load a file holding just the limits with
``load_config(path, RiskLimits)`` (:func:`execution_core.config.loader.load_config`), or
nest a ``RiskLimits`` field in a larger config model. Decimals may be given as JSON
numbers or, better, as decimal strings (``"0.1"``)::

    {"max_order_quantity": "10", "max_position_per_instrument": "25",
     "per_instrument_max_position": {"PERPETUAL:ETH-USDT@LIN": "400"}}

Units: quantities and positions are **base units** (BTC for ``BTC-USDT``, for inverse
contracts too); notionals and balances are in the quote currency (USDT/USD); the price
tolerance is in basis points. What each limit measures is defined in
:mod:`execution_core.risk.rules`.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from execution_core.errors import InvalidInstrumentIdError
from execution_core.instruments.ids import instrument_family


class RiskLimits(BaseModel):
    """Every pre-trade limit; the defaults suit the demo venues (BTC/ETH perpetuals)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_orders_per_second: int = Field(default=20, ge=1)
    """Orders a strategy may submit in any 1-second window, this one included."""
    max_orders_per_minute: int = Field(default=600, ge=1)
    """Orders a strategy may submit in any 60-second window, this one included."""

    min_order_quantity: Decimal | None = Field(default=None, gt=0)
    """Smallest order (base units), besides the instrument listing's own minimum."""
    max_order_quantity: Decimal = Field(default=Decimal("100"), gt=0)
    """Largest order (base units)."""
    max_order_notional: Decimal = Field(default=Decimal("1000000"), gt=0)
    """Largest order notional (quote): quantity × limit price, or × last price."""

    max_position_per_instrument: Decimal = Field(default=Decimal("50"), gt=0)
    """Largest |position| of one strategy in one instrument family (all venues together)."""
    per_instrument_max_position: dict[str, Decimal] = Field(default_factory=dict)
    """Overrides of ``max_position_per_instrument`` by instrument. Keys may be any canonical
    form (with a venue, ``ANY:`` or the family itself); they are stored as families."""
    max_position_per_strategy: Decimal = Field(default=Decimal("100"), gt=0)
    """Largest sum over instrument families of a strategy's |position| (base units)."""
    max_gross_position: Decimal = Field(default=Decimal("500"), gt=0)
    """Largest sum of |position| over every strategy and instrument family (base units)."""
    max_notional_exposure: Decimal = Field(default=Decimal("5000000"), gt=0)
    """Largest sum of |position| × last price over every strategy and family (quote)."""

    limit_price_tolerance_bps: Decimal = Field(default=Decimal("500"), ge=0)
    """Largest |limit price − last price| / last price of a priced order, in bps."""

    margin_rate: Decimal = Field(default=Decimal("0.1"), gt=0, le=1)
    """Initial margin as a fraction of notional for derivatives (0.1 = 10x leverage);
    spot orders always need their whole notional."""

    require_last_price: bool = True
    """When a rule needs a last price that is missing: reject (True) or skip (False)."""
    require_balance: bool = True
    """When the balance is unknown (``None``): reject increasing orders (True) or skip."""

    @field_validator("per_instrument_max_position")
    @classmethod
    def _families(cls, overrides: dict[str, Decimal]) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for key, value in overrides.items():
            try:
                family = instrument_family(key)
            except InvalidInstrumentIdError as exc:
                raise ValueError(f"key {key!r}: {exc}") from None
            if value <= 0:
                raise ValueError(f"key {key!r}: the limit must be positive, got {value}")
            if family in out:
                raise ValueError(f"key {key!r}: instrument {family} is given twice")
            out[family] = value
        return out

    @model_validator(mode="after")
    def _consistent(self) -> RiskLimits:
        if self.max_orders_per_minute < self.max_orders_per_second:
            raise ValueError(
                f"max_orders_per_minute {self.max_orders_per_minute} < "
                f"max_orders_per_second {self.max_orders_per_second}"
            )
        if self.min_order_quantity is not None and self.min_order_quantity > (
            self.max_order_quantity
        ):
            raise ValueError(
                f"min_order_quantity {self.min_order_quantity} > "
                f"max_order_quantity {self.max_order_quantity}"
            )
        return self

    def max_position_for(self, instrument: str) -> Decimal:
        """The per-instrument position limit of ``instrument`` (any canonical form)."""
        return self.per_instrument_max_position.get(
            instrument_family(instrument), self.max_position_per_instrument
        )
