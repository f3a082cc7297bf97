"""Instrument reference: tick/lot sizes, limits, fees and latency per venue listing.

The packaged reference (``execution_core/instruments/data/instruments.json``) covers the
demo venues BINANCE-SPOT, BINANCE-FUTURES, BYBIT, OKX and DERIBIT with public
regular-tier values. Its layout::

    {"version": 1, "description": "...", "instruments": [{"key": "...", ...}, ...]}

Units: quantities are in the venue's own size unit — base currency on Binance and Bybit,
contracts of ``multiplier`` base units on OKX swaps (BTC-USDT-SWAP: 0.01 BTC), USD on
Deribit inverse perpetuals (size increment 10 USD for BTC, 1 USD for ETH).
:meth:`InstrumentSpec.base_quantity` and :meth:`InstrumentSpec.notional` convert. Fees are
fractions of notional (a negative maker fee is a rebate), plus ``fee_per_unit`` in the
quote currency per venue unit (Interactive Brokers' per-share commission); ``latency_ms``
is a typical order round trip, used by the router.

``backtest`` says whether the backtest has a market for the listing. The demo data and the
backtest engine cover the crypto venues; an ``IB:`` stock listing (``backtest: false``) is
routable by the live daemon only, and the backtest neither opens an account at its venue
nor reads its ticks.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from execution_core.errors import DataError, UnknownInstrumentError
from execution_core.instruments.ids import INVERSE, CanonicalId

PACKAGED_REFERENCE = "data/instruments.json"
_MAX_FEE = Decimal("0.01")
_MIN_MAKER_FEE = Decimal("-0.001")


def _decimals(value: Decimal) -> int:
    """Number of decimal places of ``value`` once trailing zeros are dropped."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


class InstrumentSpec(BaseModel):
    """One instrument as listed by one venue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    base: str = Field(min_length=1)
    quote: str = Field(min_length=1)
    settlement: str = Field(min_length=1)
    price_precision: int = Field(ge=0, le=16)
    size_precision: int = Field(ge=0, le=16)
    price_increment: Decimal = Field(gt=0)
    size_increment: Decimal = Field(gt=0)
    lot_size: Decimal = Field(gt=0)
    min_quantity: Decimal = Field(gt=0)
    max_quantity: Decimal | None = Field(default=None, gt=0)
    min_notional: Decimal | None = Field(default=None, gt=0)
    maker_fee: Decimal
    taker_fee: Decimal
    multiplier: Decimal = Field(default=Decimal(1), gt=0)
    is_inverse: bool = False
    latency_ms: float = Field(gt=0)
    fee_per_unit: Decimal = Field(default=Decimal(0), ge=0, le=1)
    backtest: bool = True

    @field_validator("key")
    @classmethod
    def _key_parses(cls, key: str) -> str:
        cid = CanonicalId.parse(key)
        if cid.is_any_venue:
            raise ValueError(f"{key!r}: a reference listing needs a concrete venue, not ANY")
        return key

    @model_validator(mode="after")
    def _consistent(self) -> InstrumentSpec:
        cid = self.instrument_id
        problems: list[str] = []
        if (self.base, self.quote) != (cid.base, cid.quote):
            problems.append(
                f"base/quote {self.base}/{self.quote} differ from the key's {cid.base}/{cid.quote}"
            )
        if self.is_inverse != (cid.suffix == INVERSE):
            problems.append(f"is_inverse={self.is_inverse} contradicts the key's suffix")
        settlement = self.base if self.is_inverse else self.quote
        if self.settlement != settlement:
            problems.append(f"settlement {self.settlement} should be {settlement}")
        for name in ("price", "size"):
            precision = getattr(self, f"{name}_precision")
            increment = getattr(self, f"{name}_increment")
            if _decimals(increment) != precision:
                problems.append(
                    f"{name}_increment {increment} has {_decimals(increment)} decimals, "
                    f"but {name}_precision is {precision}"
                )
        for name in ("lot_size", "min_quantity"):
            if getattr(self, name) % self.size_increment != 0:
                problems.append(
                    f"{name} {getattr(self, name)} is not a multiple of "
                    f"size_increment {self.size_increment}"
                )
        if self.max_quantity is not None and self.max_quantity < self.min_quantity:
            problems.append(f"max_quantity {self.max_quantity} < min_quantity {self.min_quantity}")
        if not _MIN_MAKER_FEE < self.maker_fee < _MAX_FEE:
            problems.append(f"maker_fee {self.maker_fee} outside ({_MIN_MAKER_FEE}, {_MAX_FEE})")
        if not 0 <= self.taker_fee < _MAX_FEE:
            problems.append(f"taker_fee {self.taker_fee} outside [0, {_MAX_FEE})")
        if self.maker_fee > self.taker_fee:
            problems.append(f"maker_fee {self.maker_fee} > taker_fee {self.taker_fee}")
        if problems:
            raise ValueError(f"instrument {self.key}: " + "; ".join(problems))
        return self

    @property
    def instrument_id(self) -> CanonicalId:
        return CanonicalId.parse(self.key)

    @property
    def venue(self) -> str:
        return self.instrument_id.venue

    def notional(self, quantity: Decimal, price: Decimal) -> Decimal:
        """Notional value in the quote currency of ``quantity`` venue units at ``price``."""
        if self.is_inverse:
            return quantity * self.multiplier
        return quantity * self.multiplier * price

    def base_quantity(self, quantity: Decimal, price: Decimal) -> Decimal:
        """``quantity`` venue units expressed in the base currency at ``price``."""
        if self.is_inverse:
            return quantity * self.multiplier / price
        return quantity * self.multiplier


class InstrumentReference:
    """An immutable lookup of :class:`InstrumentSpec` by canonical key."""

    def __init__(self, specs: Iterable[InstrumentSpec], source: str = "<memory>") -> None:
        self.source = source
        self._specs: dict[str, InstrumentSpec] = {}
        self._listings: dict[tuple[str, str, str | None], list[InstrumentSpec]] = {}
        for spec in specs:
            if spec.key in self._specs:
                raise DataError(f"{source}: instrument {spec.key} is listed twice")
            self._specs[spec.key] = spec
            cid = spec.instrument_id
            group = (cid.instrument_type.value, cid.payload, cid.suffix)
            self._listings.setdefault(group, []).append(spec)
        for listing in self._listings.values():
            listing.sort(key=lambda spec: spec.venue)

    def get(self, key: str | CanonicalId) -> InstrumentSpec:
        """The spec for ``key``; :class:`UnknownInstrumentError` lists close matches."""
        text = str(key)
        spec = self._specs.get(text)
        if spec is None:
            close = difflib.get_close_matches(text, list(self._specs), n=3, cutoff=0.5)
            hint = (
                f"close matches: {', '.join(close)}"
                if close
                else f"known venues: {', '.join(self.venues())}"
            )
            raise UnknownInstrumentError(
                f"unknown instrument {text!r} in instrument reference {self.source}; " + hint
            )
        return spec

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str | CanonicalId) and str(key) in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def keys(self) -> list[str]:
        return list(self._specs)

    def specs(self) -> list[InstrumentSpec]:
        return list(self._specs.values())

    def venues(self) -> list[str]:
        return sorted({spec.venue for spec in self._specs.values()})

    def backtest_venues(self) -> list[str]:
        """The venues the backtest has a market at (one account each)."""
        return sorted({spec.venue for spec in self._specs.values() if spec.backtest})

    def venues_listing(self, cid: CanonicalId) -> list[InstrumentSpec]:
        """Every venue's listing of an ``ANY:`` ID (sorted by venue, maybe empty);
        for a concrete ID just its own spec (unknown → :class:`UnknownInstrumentError`)."""
        if not cid.is_any_venue:
            return [self.get(cid)]
        return list(self._listings.get((cid.instrument_type.value, cid.payload, cid.suffix), []))

    def backtest_listing(self, cid: CanonicalId) -> list[InstrumentSpec]:
        """:meth:`venues_listing` without the listings the backtest has no market for."""
        return [spec for spec in self.venues_listing(cid) if spec.backtest]


PACKAGED_REFERENCE_SOURCE = f"execution_core/instruments/{PACKAGED_REFERENCE} (packaged)"


def packaged_reference_text() -> str:
    """The JSON text of the reference packaged with execution_core."""
    resource = resources.files("execution_core.instruments").joinpath(PACKAGED_REFERENCE)
    return resource.read_text(encoding="utf-8")


def parse_reference(raw: str, source: str) -> InstrumentReference:
    """Parse reference JSON text; errors name ``source``, the entry index and its key."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("instruments"), list):
        raise DataError(f"{source}: expected an object with an 'instruments' list")
    return InstrumentReference(
        (_spec(source, index, item) for index, item in enumerate(document["instruments"])),
        source=source,
    )


def load_reference(path: str | Path | None = None) -> InstrumentReference:
    """Load an instrument reference JSON file; ``None`` loads the packaged one."""
    if path is None:
        return parse_reference(packaged_reference_text(), PACKAGED_REFERENCE_SOURCE)
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read instrument reference {path}: {exc}") from exc
    return parse_reference(raw, str(path))


def _spec(source: str, index: int, item: Any) -> InstrumentSpec:
    key = item.get("key", "?") if isinstance(item, dict) else "?"
    try:
        return InstrumentSpec.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or '(instrument)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise DataError(f"{source}: instruments[{index}] ({key}): {problems}") from exc
