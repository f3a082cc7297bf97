"""The portfolio a backtest day opens with and closes with (pure, deterministic).

One account per venue, each opened once with the configured starting cash; the positions
held (netting, per venue instrument, since the first day) and the last price of each. Day
D opens with the portfolio day D-1 closed with, so a position held overnight is held,
marked and valued across days, and nothing is charged twice: a fee or a realized PnL
belongs to the day of its fill. In the base currency (all instruments are linear):

    cash   = Σ accounts' starting cash + realized PnL − fees        (since the first day)
    equity = cash + Σ quantity × (last price − average entry price)

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

    @property
    def cash(self) -> float:
        return self.starting_cash + self.realized_pnl - sum(p.fees for p in self.positions.values())

    @property
    def realized_pnl(self) -> float:
        return sum(p.realized_pnl for p in self.positions.values())

    @property
    def unrealized_pnl(self) -> float:
        return sum(p.unrealized_pnl(self.marks[k]) for k, p in self.positions.items())

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

    def account_report(self) -> dict[str, dict[str, float]]:
        """Per venue: starting cash, cash, unrealized PnL and equity."""
        report = {}
        for venue, starting in sorted(self.accounts.items()):
            held = {k: p for k, p in self.positions.items() if venue_of(k) == venue}
            cash = starting + sum(p.realized_pnl - p.fees for p in held.values())
            unrealized = sum(p.unrealized_pnl(self.marks[k]) for k, p in held.items())
            report[venue] = {
                "starting_cash": starting,
                "cash": round(cash, 8),
                "unrealized_pnl": round(unrealized, 8),
                "equity": round(cash + unrealized, 8),
            }
        return report

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
