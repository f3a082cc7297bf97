"""Vectorised simulation of one day of crypto perpetual microstructure.

The model, per asset (shared by all venues listing it, so venues track each other):

* an intraday activity profile: U-shaped over the UTC day, a hump at the US session and
  short spikes at the 00/08/16 UTC funding times;
* stochastic volatility: a slow Ornstein-Uhlenbeck log-volatility (hours);
* bursts: shot noise ``A·exp(-(t-s)/tau)`` started at Poisson times, so some minutes carry
  ten times the usual event rate; each common burst also starts with a price jump;
* a "fair" log-price on a 100 ms grid whose local variance follows volatility x activity.

Per venue: its own (smaller) bursts on top of the common ones, a premium over fair in bps
that wanders as an OU process around ``venue_offset_bps``, and a latency behind fair.
Quote updates arrive as a Poisson process with that intensity; each quotes a spread of
1..max_spread_ticks ticks around the venue mid (wider in bursts) with lognormal sizes.
Trades arrive in clusters (one taker order filled against several makers, same
timestamp), at the prevailing ask (aggressor BUY) or bid (SELL), with heavy-tailed sizes;
aggressors lean towards the direction of the next second's price move.

Timestamps have millisecond resolution (as venues publish them), so ties occur. Nothing
loops over events in Python: per-second and per-event numpy arrays only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from execution_core.demo.config import DEFAULT_ASSETS, DemoAsset, DemoInstrument
from execution_core.ticks.schema import QUOTE_COLUMNS, TRADE_COLUMNS, TS_TYPE

NS_PER_SEC = 1_000_000_000
NS_PER_MS = 1_000_000
SECONDS_PER_DAY = 86_400
FAIR_STEPS_PER_SEC = 10
FAIR_STEP_NS = NS_PER_SEC // FAIR_STEPS_PER_SEC
FAIR_STEPS = SECONDS_PER_DAY * FAIR_STEPS_PER_SEC

_MEAN_CLUSTER = 1.6  # trades per taker order
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

FloatArray = np.ndarray[tuple[int], np.dtype[np.float64]]
IntArray = np.ndarray[tuple[int], np.dtype[np.int64]]


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 64-bit seed from a base seed and labels (blake2b, not Python's ``hash``)."""
    text = "|".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def day_start_ns(date: dt.date) -> int:
    """Nanoseconds since the epoch of ``date`` 00:00 UTC."""
    start = dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    return (start - _EPOCH) // dt.timedelta(microseconds=1) * 1_000


def _ar1(eps: FloatArray, a: float, x0: float) -> FloatArray:
    """``x[t] = a·x[t-1] + eps[t]`` with ``x[-1] = x0``, vectorised in stable chunks."""
    n = len(eps)
    out = np.empty(n)
    chunk = n if a >= 1.0 else max(1, int(20.0 / -math.log(a)))
    prev = x0
    for start in range(0, n, chunk):
        e = eps[start : start + chunk]
        powers = a ** np.arange(1, len(e) + 1, dtype=np.float64)
        out[start : start + len(e)] = powers * (prev + np.cumsum(e / powers))
        prev = float(out[start + len(e) - 1])
    return out


def _ou(rng: np.random.Generator, n: int, tau: float, sigma: float) -> FloatArray:
    """Stationary OU path (unit steps) with relaxation time ``tau`` and stdev ``sigma``."""
    a = math.exp(-1.0 / tau)
    eps = rng.standard_normal(n) * (sigma * math.sqrt(1.0 - a * a))
    return _ar1(eps, a, float(rng.normal(0.0, sigma)))


def _shot_noise(
    rng: np.random.Generator,
    *,
    per_hour: float,
    amp_median: float,
    amp_sigma: float,
    amp_max: float,
    tau_median: float,
    tau_sigma: float,
) -> tuple[FloatArray, IntArray, FloatArray]:
    """Per-second burst excess ``sum A·exp(-(t-s)/tau)``; also the start seconds and As."""
    n = int(rng.poisson(per_hour * 24))
    starts = np.sort(rng.integers(0, SECONDS_PER_DAY, n))
    amps = np.minimum(amp_median * np.exp(amp_sigma * rng.standard_normal(n)), amp_max)
    taus = np.clip(tau_median * np.exp(tau_sigma * rng.standard_normal(n)), 5.0, 900.0)
    out = np.zeros(SECONDS_PER_DAY)
    for s, amp, tau in zip(starts.tolist(), amps.tolist(), taus.tolist(), strict=True):
        length = min(SECONDS_PER_DAY - s, int(8 * tau) + 1)
        out[s : s + length] += amp * np.exp(-np.arange(length) / tau)
    return out, starts, amps


def _diurnal_profile() -> FloatArray:
    """Mean-one activity over the UTC day (per second)."""
    t = np.arange(SECONDS_PER_DAY, dtype=np.float64)
    h = t / 3600.0
    profile = 0.75 + 0.9 * ((h - 12.0) / 12.0) ** 2
    profile += 0.6 * np.exp(-0.5 * ((h - 14.5) / 1.2) ** 2)  # US session
    for funding_h in (0, 8, 16, 24):
        profile += 0.8 * np.exp(-np.abs(t - funding_h * 3600.0) / 180.0)
    return profile / profile.mean()


@dataclass(frozen=True, slots=True)
class AssetDay:
    """The common part of one asset's day, shared by every venue listing it."""

    asset: DemoAsset
    date: dt.date
    fair_log: FloatArray  # log fair price per 100 ms step, FAIR_STEPS values
    activity: FloatArray  # per second: diurnal x stochastic vol (no bursts), mean ~1
    burst: FloatArray  # per second: common burst excess (0 when calm)

    @property
    def fair_price_per_second(self) -> FloatArray:
        return np.exp(self.fair_log[::FAIR_STEPS_PER_SEC])


def simulate_asset_day(asset: DemoAsset, date: dt.date, seed: int) -> AssetDay:
    """The fair price path and common activity of ``asset`` on ``date``."""
    rng = np.random.default_rng(derive_seed(seed, date.isoformat(), "asset", asset.name))
    diurnal = _diurnal_profile()
    log_vol = _ou(rng, SECONDS_PER_DAY, tau=3 * 3600.0, sigma=0.3)
    vol = np.exp(log_vol)
    burst, starts, amps = _shot_noise(
        rng,
        per_hour=3.0,
        amp_median=8.0,
        amp_sigma=0.6,
        amp_max=40.0,
        tau_median=40.0,
        tau_sigma=0.8,
    )
    # Local variance follows volatility and (sub-linearly) trading activity.
    variance = vol**2 * (diurnal * (1.0 + burst)) ** 0.6
    day_vol = asset.daily_vol * math.exp(rng.normal(0.0, 0.2))
    variance *= day_vol**2 / variance.sum()
    step_sigma = np.repeat(np.sqrt(variance / FAIR_STEPS_PER_SEC), FAIR_STEPS_PER_SEC)
    increments = rng.standard_normal(FAIR_STEPS) * step_sigma
    del step_sigma
    jumps = rng.standard_normal(len(starts)) * 8e-4 * np.sqrt(amps / 8.0)
    np.add.at(increments, starts * FAIR_STEPS_PER_SEC, jumps)
    start_log = math.log(asset.start_price) + rng.normal(0.0, 0.005)
    fair_log = start_log + np.cumsum(increments)
    return AssetDay(asset=asset, date=date, fair_log=fair_log, activity=diurnal * vol, burst=burst)


def _event_times(rng: np.random.Generator, intensity: FloatArray, n: int) -> IntArray:
    """``n`` sorted event times (ns since midnight, ms resolution) with per-second weights."""
    counts = rng.multinomial(n, intensity / intensity.sum())
    seconds = np.repeat(np.arange(SECONDS_PER_DAY, dtype=np.int64), counts)
    del counts
    times = seconds * NS_PER_SEC
    del seconds
    times += rng.integers(0, 1000, n, dtype=np.int64) * NS_PER_MS
    times.sort()
    return times


@dataclass(frozen=True, slots=True)
class _Venue:
    """Per-venue state: the venue's mid and burst level, per second / per fair step."""

    instrument: DemoInstrument
    asset_day: AssetDay
    offset_bps: FloatArray  # per second
    burst: FloatArray  # per second, common + venue excess
    intensity: FloatArray  # per second, relative event rate

    def book(self, rng: np.random.Generator, times: IntArray) -> tuple[IntArray, IntArray]:
        """Best bid and ask, in ticks, at ``times`` (ns since midnight)."""
        inst = self.instrument
        seconds = times // NS_PER_SEC
        lag_ns = round(inst.latency_ms * NS_PER_MS)
        steps = np.maximum(times - lag_ns, 0) // FAIR_STEP_NS
        mid_ticks = np.exp(self.asset_day.fair_log[steps]) / inst.price_increment
        del steps
        mid_ticks *= 1.0 + self.offset_bps[seconds] * 1e-4
        # Spread: 1 tick plus a geometric excess whose mean grows with the burst level.
        extra_mean = (inst.spread_ticks - 1.0 + 0.05) * (1.0 + np.log1p(self.burst[seconds]))
        spread = rng.geometric(1.0 / (1.0 + extra_mean)).astype(np.int64)
        del extra_mean
        np.minimum(spread, inst.max_spread_ticks, out=spread)
        bid = np.rint(mid_ticks - spread / 2.0).astype(np.int64)
        return bid, bid + spread


def _venue(instrument: DemoInstrument, asset_day: AssetDay, rng: np.random.Generator) -> _Venue:
    venue_burst, _, _ = _shot_noise(
        rng,
        per_hour=1.5,
        amp_median=3.0,
        amp_sigma=0.5,
        amp_max=15.0,
        tau_median=20.0,
        tau_sigma=0.6,
    )
    burst = asset_day.burst + venue_burst
    offset = instrument.venue_offset_bps + _ou(
        rng, SECONDS_PER_DAY, tau=1800.0, sigma=instrument.offset_wander_bps
    )
    intensity = asset_day.activity * (1.0 + burst)
    return _Venue(instrument, asset_day, offset, burst, intensity)


def _lots(
    rng: np.random.Generator, n: int, median_lots: FloatArray | float, sigma: float
) -> FloatArray:
    """Lognormal sizes in whole lots (>= 1), as floats; computed in place."""
    lots = rng.standard_normal(n)
    lots *= sigma
    np.exp(lots, out=lots)
    lots *= median_lots
    np.rint(lots, out=lots)
    np.maximum(lots, 1.0, out=lots)
    return lots


def _on_grid(units: np.ndarray, increment: float, decimals: int) -> FloatArray:
    """``units × increment`` rounded to the increment's decimals (the nearest double)."""
    values = units.astype(np.float64, copy=True)
    values *= increment
    np.round(values, decimals, out=values)
    return values


def _timestamps(day_ns: int, times: IntArray) -> pl.Series:
    """ns since midnight -> the ts_event column (shifts ``times`` in place)."""
    times += day_ns
    return pl.Series("ts_event", times, dtype=pl.Int64).cast(TS_TYPE)


def _quotes(
    venue: _Venue, rng: np.random.Generator, n: int
) -> tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray]:
    """Quote times, bid/ask ticks, bid/ask sizes (in base units, on the lot grid)."""
    inst = venue.instrument
    times = _event_times(rng, venue.intensity**0.8, n)
    times[0] = 0  # the book is known from midnight on
    bid, ask = venue.book(rng, times)
    lot = inst.size_increment
    median_lots = (inst.median_touch_size / lot) / np.sqrt(1.0 + venue.burst[times // NS_PER_SEC])
    bid_size = _on_grid(_lots(rng, n, median_lots, 1.0), lot, inst.size_decimals)
    ask_size = _on_grid(_lots(rng, n, median_lots, 1.0), lot, inst.size_decimals)
    return times, bid, ask, bid_size, ask_size


def _cluster_sizes(rng: np.random.Generator, n_trades: int) -> IntArray:
    """Trades per taker order (>= 1), summing to exactly ``n_trades``."""
    sizes = np.empty(0, dtype=np.int64)
    total = 0
    while total < n_trades:
        more = rng.geometric(1.0 / _MEAN_CLUSTER, int(n_trades / _MEAN_CLUSTER * 1.1) + 64)
        sizes = np.concatenate([sizes, more.astype(np.int64)])
        total = int(sizes.sum())
    cumulative = np.cumsum(sizes)
    n_orders = int(np.searchsorted(cumulative, n_trades)) + 1
    sizes = sizes[:n_orders]
    sizes[-1] -= int(cumulative[n_orders - 1]) - n_trades
    return sizes


def _trades(
    venue: _Venue,
    rng: np.random.Generator,
    n: int,
    quotes: tuple[IntArray, IntArray, IntArray] | None,
) -> tuple[IntArray, IntArray, np.ndarray, FloatArray]:
    """Trade times, price ticks, BUY flags and size lots."""
    inst = venue.instrument
    clusters = _cluster_sizes(rng, n)
    times = _event_times(rng, venue.intensity, len(clusters))
    if quotes is not None:
        q_times, q_bid, q_ask = quotes
        prevailing = np.searchsorted(q_times, times, side="right") - 1
        bid, ask = q_bid[prevailing], q_ask[prevailing]
        del prevailing
    else:
        bid, ask = venue.book(rng, times)
    # Takers lean towards the direction of the next second's move.
    fair_log = venue.asset_day.fair_log
    steps = times // FAIR_STEP_NS
    ahead = np.minimum(steps + FAIR_STEPS_PER_SEC, FAIR_STEPS - 1)
    p_buy = 0.5 + 0.12 * np.sign(fair_log[ahead] - fair_log[steps])
    del steps, ahead
    buy = rng.random(len(clusters)) < p_buy
    price = np.where(buy, ask, bid)
    del bid, ask
    times = np.repeat(times, clusters)
    price = np.repeat(price, clusters)
    buy = np.repeat(buy, clusters)
    # Heavy tails: lognormal body, a Pareto multiplier on 1% of trades.
    lots = _lots(rng, n, inst.median_trade_size / inst.size_increment, 1.25)
    tail = rng.random(n) < 0.01
    factor = 1.0 + rng.pareto(1.3, int(tail.sum()))
    cap = 5000.0 * inst.median_trade_size / inst.size_increment
    lots[tail] = np.minimum(np.rint(lots[tail] * factor), cap)
    return times, price, buy, lots


def simulate_instrument_day(
    instrument: DemoInstrument,
    date: dt.date,
    seed: int,
    *,
    n_trades: int | None = None,
    n_quotes: int | None = None,
    asset: DemoAsset | None = None,
    asset_day: AssetDay | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One instrument-venue day: ``(trades, quotes)`` frames in the tick-store contract.

    ``seed`` is the day's base seed: the asset's fair path derives from (seed, date, asset)
    and is the same for every venue; the venue's own randomness derives from
    (seed, date, instrument key). ``n_trades``/``n_quotes`` default to the instrument's
    daily means; ``n_quotes=0`` skips the quote frame (trades then take their prices from
    the book model at their own times). ``asset`` defaults to the demo asset of that name;
    pass ``asset_day`` (from ``simulate_asset_day``) to reuse the fair path across venues.
    """
    n_trades = instrument.trades_per_day if n_trades is None else n_trades
    n_quotes = instrument.quotes_per_day if n_quotes is None else n_quotes
    if n_trades < 0 or n_quotes < 0:
        raise ValueError(f"{instrument.key}: negative event count")
    if asset_day is None:
        asset = asset or DEFAULT_ASSETS[instrument.asset]
        asset_day = simulate_asset_day(asset, date, seed)
    elif asset_day.date != date or asset_day.asset.name != instrument.asset:
        raise ValueError(f"{instrument.key}: asset_day is for another asset or date")
    rng = np.random.default_rng(derive_seed(seed, date.isoformat(), "venue", instrument.key))
    venue = _venue(instrument, asset_day, rng)
    quote_rng = np.random.default_rng(rng.integers(2**63))
    trade_rng = np.random.default_rng(rng.integers(2**63))
    first_trade_id = int(rng.integers(1_000_000_000, 4_000_000_000))
    day_ns = day_start_ns(date)
    tick, price_dp = instrument.price_increment, instrument.price_decimals
    lot = instrument.size_increment

    if n_quotes > 0:
        q_times, q_bid, q_ask, bid_size, ask_size = _quotes(venue, quote_rng, n_quotes)
        quotes = pl.DataFrame(
            [
                pl.Series("bid_price", _on_grid(q_bid, tick, price_dp)),
                pl.Series("bid_size", bid_size),
                pl.Series("ask_price", _on_grid(q_ask, tick, price_dp)),
                pl.Series("ask_size", ask_size),
            ]
        )
        del bid_size, ask_size
        book: tuple[IntArray, IntArray, IntArray] | None = (q_times.copy(), q_bid, q_ask)
        quotes.insert_column(0, _timestamps(day_ns, q_times))
        del q_times, q_bid, q_ask
    else:
        quotes = pl.DataFrame(schema=QUOTE_COLUMNS)
        book = None

    if n_trades > 0:
        t_times, ticks, buy, lots = _trades(venue, trade_rng, n_trades, book)
        del book
        columns = [_timestamps(day_ns, t_times)]
        del t_times
        columns.append(pl.Series("price", _on_grid(ticks, tick, price_dp)))
        del ticks
        columns.append(pl.Series("size", _on_grid(lots, lot, instrument.size_decimals)))
        del lots
        sides = pl.Series("aggressor_side", ["SELL", "BUY"], dtype=pl.String)
        columns.append(sides.gather(buy.view(np.uint8).astype(np.uint32)))
        del buy
        columns.append(
            pl.int_range(first_trade_id, first_trade_id + n_trades, eager=True)
            .cast(pl.String)
            .alias("trade_id")
        )
        trades = pl.DataFrame(columns)
    else:
        trades = pl.DataFrame(schema=TRADE_COLUMNS)
    return trades, quotes
