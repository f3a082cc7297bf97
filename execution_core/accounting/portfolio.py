"""The portfolio a backtest day opens with and closes with (pure, deterministic).

One account per venue, each opened once with the configured starting cash; the positions
held (netting, per venue instrument, since the first day) and the last price of each. Day
D opens with the portfolio day D-1 closed with, so a position held overnight is held,
marked and valued across days, and nothing is charged twice: a fee or a realized PnL
belongs to the day of its fill. In the reporting currency (USDT, at par with USD):

    cash   = Σ accounts' starting cash + realized PnL − fees        (since the first day)
    equity = cash + Σ unrealized PnL at the last prices

Linear instruments settle in USDT: their PnL and fees add up as they are. Inverse
contracts (Deribit ``BTC-USD@INV``) settle in their coin (``accounting/settlement.py``):
their realized PnL, fees and unrealized PnL are BTC, converted at the instrument's last
price each time the portfolio is valued. Every account's starting cash is configured in
the reporting currency; a coin-settled account keeps that collateral at its value (a
desk hedges its coin collateral), so its equity moves with the coin price only through
what trading settled in the coin: ``cash = starting + (realized − fees) × price``.

Serialized as ``portfolio.json`` next to a day's backtest results; its SHA-256 is the
day's data version, so the next day's results depend on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from execution_core.accounting.positions import Position
from execution_core.accounting.settlement import (
    is_inverse,
    settlement_currency,
    to_reporting,
    unrealized_pnl,
)


def venue_of(instrument_key: str) -> str:
    """The venue of a venue instrument key (``BYBIT:PERPETUAL:BTC-USDT@LIN`` → ``BYBIT``)."""
    return instrument_key.split(":", 1)[0]


@dataclass(frozen=True)
class Portfolio:
    """Accounts, positions and last prices at one instant (a day's open or close)."""

    accounts: dict[str, float] = field(default_factory=dict)  # venue → its starting cash
    positions: dict[str, Position] = field(default_factory=dict)  # venue instrument key →
    marks: dict[str, float] = field(default_factory=dict)  # venue instrument key → last price
    peak_equity: float = 0.0  # the equity curve's high-water mark, for the drawdown

    @property
    def starting_cash(self) -> float:
        return sum(self.accounts.values())

    # Sums in the reporting currency; a linear term is the position's own figure, so
    # linear-only portfolios add up exactly as before inverse contracts were accounted.
    @property
    def cash(self) -> float:
        return self.starting_cash + self.realized_pnl - self.fees

    @property
    def realized_pnl(self) -> float:
        return sum(self._reporting(k, p.realized_pnl) for k, p in self.positions.items())

    def _reporting(self, key: str, amount: float) -> float:
        """``amount`` of ``key``'s settlement currency in the reporting currency."""
        return to_reporting(key, amount, self.marks[key]) if is_inverse(key) else amount

    @property
    def fees(self) -> float:
        return sum(self._reporting(k, p.fees) for k, p in self.positions.items())

    @property
    def unrealized_pnl(self) -> float:
        return sum(
            self._reporting(k, unrealized_pnl(k, p, self.marks[k]))
            for k, p in self.positions.items()
        )

    @property
    def equity(self) -> float:
        return self.cash + self.unrealized_pnl

    def with_accounts(self, venues: Iterable[str], starting_cash: float) -> Portfolio:
        """This portfolio with an account opened for each venue that has none yet."""
        new = {v: starting_cash for v in sorted(set(venues)) if v not in self.accounts}
        if not new:
            return self
        opened = replace(self, accounts={**self.accounts, **new})
        return replace(opened, peak_equity=max(self.peak_equity, opened.equity))

    def account_report(self) -> dict[str, dict[str, Any]]:
        """Per venue: starting cash, cash, unrealized PnL and equity (reporting currency);
        a venue with inverse positions also gets ``coins``: per settlement coin, the cash
        trading settled in it (realized − fees), its unrealized PnL and the price used."""
        report: dict[str, dict[str, Any]] = {}
        for venue, starting in sorted(self.accounts.items()):
            held = {k: p for k, p in self.positions.items() if venue_of(k) == venue}
            cash = starting + sum(
                self._reporting(k, p.realized_pnl - p.fees) for k, p in held.items()
            )
            unrealized = sum(
                self._reporting(k, unrealized_pnl(k, p, self.marks[k])) for k, p in held.items()
            )
            report[venue] = {
                "starting_cash": starting,
                "cash": round(cash, 8),
                "unrealized_pnl": round(unrealized, 8),
                "equity": round(cash + unrealized, 8),
            }
            coins = self._coin_report(held)
            if coins:
                report[venue]["coins"] = coins
        return report

    def _coin_report(self, held: dict[str, Position]) -> dict[str, dict[str, Any]]:
        coins: dict[str, dict[str, Any]] = {}
        for key, p in sorted(held.items()):
            if not is_inverse(key):
                continue
            coin = coins.setdefault(
                settlement_currency(key), {"cash": 0.0, "unrealized_pnl": 0.0, "prices": {}}
            )
            coin["cash"] = round(coin["cash"] + p.realized_pnl - p.fees, 12)
            unrealized = unrealized_pnl(key, p, self.marks[key])
            coin["unrealized_pnl"] = round(coin["unrealized_pnl"] + unrealized, 12)
            coin["prices"][key] = self.marks[key]
        return coins

    def open_quantities(self) -> dict[str, float]:
        """Instrument key → quantity of the open positions (rounded for reading: 12
        decimals, finer than any lot, so 0.02 does not print as 0.019999999999999997)."""
        return {k: round(p.quantity, 12) for k, p in sorted(self.positions.items()) if p.quantity}

    def to_json(self) -> bytes:
        payload = {
            "accounts": dict(sorted(self.accounts.items())),
            "positions": {
                k: {
                    "quantity": p.quantity,
                    "avg_entry_price": p.avg_entry_price,
                    "realized_pnl": p.realized_pnl,
                    "fees": p.fees,
                }
                for k, p in sorted(self.positions.items())
            },
            "marks": dict(sorted(self.marks.items())),
            "peak_equity": self.peak_equity,
        }
        return json.dumps(payload, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Portfolio:
        raw: dict[str, Any] = json.loads(data)
        positions = {k: Position(**v) for k, v in raw["positions"].items()}
        marks = {k: float(v) for k, v in raw["marks"].items()}
        missing = sorted(set(positions) - set(marks))
        if missing:
            raise ValueError(f"portfolio positions without a last price: {missing}")
        return cls(
            accounts={k: float(v) for k, v in raw["accounts"].items()},
            positions=positions,
            marks=marks,
            peak_equity=float(raw["peak_equity"]),
        )

    def sha256(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()
