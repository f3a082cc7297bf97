"""Configuration of the demo data generator: assets, instrument-venues and strategies.

Everything here is plain data with defaults that describe one realistic crypto day:
BTC and ETH linear perpetuals on Binance Futures, Bybit and OKX, about 3.8 million ticks
in total (trades + quotes), and two strategies with sparse signals.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def decimals_of(increment: float) -> int:
    """Number of decimal places of a price or size increment (0.1 -> 1, 0.001 -> 3)."""
    exponent = Decimal(repr(increment)).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


class DemoAsset(BaseModel):
    """The common ("fair") price process of one underlying, shared by all its venues."""

    model_config = _FROZEN

    name: str = Field(min_length=1)
    start_price: float = Field(gt=0, description="price level at 00:00 UTC (before noise)")
    daily_vol: float = Field(gt=0, lt=1, description="standard deviation of the daily log return")


class DemoInstrument(BaseModel):
    """One instrument on one venue, with its microstructure parameters."""

    model_config = _FROZEN

    key: str = Field(description="canonical ID, e.g. BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN")
    asset: str = Field(min_length=1, description="underlying, a key of DemoConfig.assets")
    price_increment: float = Field(gt=0)
    size_increment: float = Field(gt=0)
    trades_per_day: int = Field(ge=0, description="mean trades per day (before ticks_scale)")
    quotes_per_day: int = Field(ge=0, description="mean quote updates per day (ditto)")
    spread_ticks: float = Field(ge=1, description="typical (calm) spread in ticks")
    max_spread_ticks: int = Field(ge=1, description="widest spread, reached in bursts")
    venue_offset_bps: float = Field(description="mean premium of this venue over fair, bps")
    offset_wander_bps: float = Field(default=1.0, ge=0, description="stdev of the OU offset")
    latency_ms: float = Field(default=0.0, ge=0, description="lag of this venue behind fair")
    median_trade_size: float = Field(
        gt=0, description="median trade size (venue units: base, USD for inverse contracts)"
    )
    median_touch_size: float = Field(gt=0, description="median size at the best bid/ask (ditto)")

    @model_validator(mode="after")
    def _check(self) -> DemoInstrument:
        parts = self.key.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"instrument key {self.key!r} is not VENUE:INSTRUMENT_TYPE:PAYLOAD")
        if parts[0] == "ANY":
            raise ValueError(f"instrument key {self.key!r}: a demo instrument needs a venue")
        if self.max_spread_ticks < self.spread_ticks:
            raise ValueError(f"{self.key}: max_spread_ticks < spread_ticks")
        return self

    @property
    def venue(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def open_key(self) -> str:
        """The venue-open form of the key (``ANY:PERPETUAL:BTC-USDT@LIN``)."""
        return "ANY:" + self.key.split(":", 1)[1]

    @property
    def is_inverse(self) -> bool:
        """Sized in USD contracts (``…@INV``): sizes are USD, signals still base units."""
        return self.key.endswith("@INV")

    @property
    def price_decimals(self) -> int:
        return decimals_of(self.price_increment)

    @property
    def size_decimals(self) -> int:
        return decimals_of(self.size_increment)


class DemoStrategy(BaseModel):
    """A strategy writing sparse target positions for a few instrument keys."""

    model_config = _FROZEN

    strategy_id: str = Field(min_length=1, max_length=128)
    instrument_keys: tuple[str, ...] = Field(
        min_length=1,
        description="keys the strategy targets; the venue may be ANY (the router chooses). "
        "Each instrument appears under one key only within a strategy.",
    )
    changes_per_instrument_day: tuple[int, int] = Field(
        default=(10, 30), description="inclusive range of target changes per key and day"
    )
    max_abs_target: dict[str, float] = Field(
        default_factory=lambda: {"BTC": 2.0, "ETH": 30.0},
        description="largest |target position| per asset",
    )
    repeat_probability: float = Field(
        default=0.15, ge=0, lt=1, description="share of rows that repeat the previous target"
    )

    @model_validator(mode="after")
    def _check(self) -> DemoStrategy:
        lo, hi = self.changes_per_instrument_day
        if not 1 <= lo <= hi:
            raise ValueError(
                f"{self.strategy_id}: changes_per_instrument_day must be 1 <= lo <= hi"
            )
        tails = [key.split(":", 1)[-1] for key in self.instrument_keys]
        if len(set(tails)) != len(tails):
            raise ValueError(
                f"{self.strategy_id}: an instrument appears under more than one key "
                f"({list(self.instrument_keys)})"
            )
        return self


DEFAULT_ASSETS: dict[str, DemoAsset] = {
    "BTC": DemoAsset(name="BTC", start_price=43_000.0, daily_vol=0.025),
    "ETH": DemoAsset(name="ETH", start_price=2_300.0, daily_vol=0.032),
}

# (venue, activity share, spread ticks, max spread, offset bps, latency ms)
_VENUES = (
    ("BINANCE-FUTURES", 1.00, 1.1, 6, 0.0, 0.0),
    ("BYBIT", 0.36, 1.4, 8, 1.5, 40.0),
    ("OKX", 0.26, 1.5, 8, -2.0, 60.0),
)


def _default_instruments() -> list[DemoInstrument]:
    # Binance busiest. Totals: BTC 1.458M trades + 1.08M quotes, ETH 0.68M + 0.594M,
    # i.e. about 3.81M ticks for the day.
    out: list[DemoInstrument] = []
    for asset, increments, trades, quotes, trade_size, touch_size in (
        ("BTC", (0.1, 0.001), 900_000, 600_000, 0.008, 2.5),
        ("ETH", (0.01, 0.01), 420_000, 330_000, 0.15, 40.0),
    ):
        for venue, share, spread, max_spread, offset, latency in _VENUES:
            out.append(
                DemoInstrument(
                    key=f"{venue}:PERPETUAL:{asset}-USDT@LIN",
                    asset=asset,
                    price_increment=increments[0],
                    size_increment=increments[1],
                    trades_per_day=int(round(trades * share, -3)),
                    quotes_per_day=int(round(quotes * max(share, 0.4), -3)),
                    spread_ticks=spread,
                    max_spread_ticks=max_spread,
                    venue_offset_bps=offset,
                    latency_ms=latency,
                    median_trade_size=trade_size,
                    median_touch_size=touch_size * share,
                )
            )
    return out


# Deribit's inverse perpetuals (tick sizes and the 10 USD contract from the instrument
# reference). Sizes are in Deribit's unit, USD: a median trade of 400 USD (~0.01 BTC), a
# touch of 60,000 USD. In the default day, for the local Deribit venue of paper mode;
# default_instruments(deribit=False) leaves it out.
DERIBIT_BTC = DemoInstrument(
    key="DERIBIT:PERPETUAL:BTC-USD@INV",
    asset="BTC",
    price_increment=0.5,
    size_increment=10.0,
    trades_per_day=180_000,
    quotes_per_day=240_000,
    spread_ticks=1.2,
    max_spread_ticks=8,
    venue_offset_bps=-1.0,
    latency_ms=40.0,
    median_trade_size=400.0,
    median_touch_size=60_000.0,
)


def default_instruments(*, deribit: bool = True) -> list[DemoInstrument]:
    """The default day's instruments: the USDT perpetuals and (``deribit``) Deribit's
    BTC-PERPETUAL (on BTC's fair path; its own ticks derive from its key, so the others
    are the same with or without it)."""
    return _default_instruments() + ([DERIBIT_BTC] if deribit else [])


def _default_strategies() -> list[DemoStrategy]:
    return [
        DemoStrategy(
            strategy_id="momentum-btc-v1",
            instrument_keys=("ANY:PERPETUAL:BTC-USDT@LIN",),
        ),
        DemoStrategy(
            strategy_id="meanrev-eth-v2",
            instrument_keys=(
                "ANY:PERPETUAL:ETH-USDT@LIN",
                "BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN",
            ),
        ),
    ]


class DemoConfig(BaseModel):
    """What ``generate_demo_day`` produces."""

    model_config = _FROZEN

    date: dt.date
    seed: int = 7
    ticks_scale: float = Field(default=1.0, gt=0, description="multiplies all event counts")
    assets: dict[str, DemoAsset] = Field(default_factory=lambda: dict(DEFAULT_ASSETS))
    instruments: list[DemoInstrument] = Field(default_factory=default_instruments)
    strategies: list[DemoStrategy] = Field(default_factory=_default_strategies)

    @model_validator(mode="after")
    def _check(self) -> DemoConfig:
        keys = [i.key for i in self.instruments]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate instrument keys in the demo config")
        for inst in self.instruments:
            if inst.asset not in self.assets:
                raise ValueError(f"{inst.key}: unknown asset {inst.asset!r}")
        tails = {k.split(":", 1)[1] for k in keys}
        ids = [s.strategy_id for s in self.strategies]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate strategy ids in the demo config")
        for strategy in self.strategies:
            for key in strategy.instrument_keys:
                if key.split(":", 1)[-1] not in tails or (
                    not key.startswith("ANY:") and key not in keys
                ):
                    raise ValueError(f"{strategy.strategy_id}: {key} is not a demo instrument")
        return self

    def scaled_counts(self, instrument: DemoInstrument) -> tuple[int, int]:
        """(n_trades, n_quotes) of an instrument for this config's ``ticks_scale``."""
        return (
            round(instrument.trades_per_day * self.ticks_scale),
            round(instrument.quotes_per_day * self.ticks_scale),
        )

    def listing(self, key: str) -> list[DemoInstrument]:
        """The demo instruments a (possibly venue-open) key can trade on."""
        venue, tail = key.split(":", 1)
        return [
            inst
            for inst in self.instruments
            if inst.key.split(":", 1)[1] == tail and venue in ("ANY", inst.venue)
        ]
