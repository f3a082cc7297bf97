"""The stand-in's order book and matching (deterministic; no I/O but the journal callback).

- A market order fills at once, whole, at the contract's configured price (taker);
- a limit order fills at once at the configured price when marketable (BUY limit at or
  above it, SELL at or below), else rests (an ``IOC``/``FOK`` one is canceled instead) and
  fills at its limit price, as maker, when :meth:`Book.set_price` moves the price through it;
- a contract with no configured price, an order type other than MKT/LMT, a limit order
  without a price, a quantity that is not positive, or an order id the client already used:
  rejected with IB's error 201 (103 for the duplicate id), naming the problem;
- commission per execution: ``commission_per_unit`` × shares, at least
  ``min_commission``, in the contract's currency (IB's fixed pricing shape).

Prices are keyed by :func:`price_key`: ``AAPL`` (stock), ``ES:20250321`` (future),
``AAPL:20250117:150:C`` (option). Contracts get a stable ``conId`` from their description
when the client sends none. Every change goes to the journal before it is returned.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

from live_daemon.venues.interactive_brokers.standin.messages import PlacedOrder

FIRST_PERM_ID = 1_000_001
REJECTED = 201
DUPLICATE_ID = 103

Record = Callable[[dict[str, Any]], None]


class Rejection(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class BookOrder:
    perm_id: int
    order_id: int
    client_id: int
    contract: dict[str, str]
    action: str
    quantity: Decimal
    order_type: str
    lmt_price: Decimal | None
    tif: str
    account: str
    order_ref: str
    status: str = "Submitted"  # Submitted | Filled | Cancelled
    filled: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)
    last_price: Decimal = Decimal(0)
    reason: str = ""
    completed_time: str = ""

    @property
    def is_open(self) -> bool:
        return self.status == "Submitted"

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled if self.status == "Submitted" else Decimal(0)


@dataclass
class BookExecution:
    exec_id: str
    perm_id: int
    order_id: int
    client_id: int
    contract: dict[str, str]
    side: str  # BOT | SLD
    shares: Decimal
    price: Decimal
    time: dt.datetime
    cum_qty: Decimal
    avg_price: Decimal
    order_ref: str
    liquidity: int  # 1 added (maker), 2 removed (taker)
    commission: Decimal
    currency: str
    account: str


@dataclass
class Fees:
    commission_per_unit: Decimal = Decimal("0.005")
    min_commission: Decimal = Decimal("1")

    def of(self, shares: Decimal) -> Decimal:
        return max(self.commission_per_unit * shares, self.min_commission)


def price_key(contract: dict[str, str]) -> str:
    """The key of a contract's price (module docstring)."""
    symbol, sec_type = contract["symbol"], contract["secType"]
    if sec_type == "STK":
        return symbol
    expiry = contract["lastTradeDateOrContractMonth"]
    if sec_type == "FUT":
        return f"{symbol}:{expiry}"
    strike = format(Decimal(contract["strike"] or "0").normalize(), "f")
    return f"{symbol}:{expiry}:{strike}:{contract['right']}"


def con_id(contract: dict[str, str]) -> int:
    """The contract's id: the client's, else a stable one from its description."""
    given = int(contract.get("conId") or 0)
    if given:
        return given
    text = "|".join(contract.get(f, "") for f in ("secType", "symbol", "currency"))
    return zlib.crc32(f"{text}|{price_key(contract)}".encode()) & 0x7FFFFFFF or 1


@dataclass
class Book:
    """Orders by permId and executions in order, rebuilt from the journal at start."""

    prices: dict[str, Decimal]
    fees: Fees = field(default_factory=Fees)
    record: Record = field(default=lambda r: None)  # the journal's append
    orders: dict[int, BookOrder] = field(default_factory=dict)
    executions: list[BookExecution] = field(default_factory=list)

    # -- restart -------------------------------------------------------------------------------

    def restore(self, records: Iterable[dict[str, Any]]) -> None:
        for rec in records:
            body = {k: v for k, v in rec.items() if k != "kind"}
            if rec["kind"] == "order":
                order = _load(BookOrder, body)
                self.orders[order.perm_id] = order
            elif rec["kind"] == "execution":
                self.executions.append(_load(BookExecution, body))

    def next_order_id(self) -> int:
        return max((o.order_id for o in self.orders.values()), default=0) + 1

    def find(self, client_id: int, order_id: int) -> BookOrder | None:
        for order in self.orders.values():
            if order.client_id == client_id and order.order_id == order_id:
                return order
        return None

    # -- trading -------------------------------------------------------------------------------

    def place(
        self, placed: PlacedOrder, client_id: int, now: dt.datetime
    ) -> tuple[BookOrder, list[BookExecution]]:
        """Take, fill or rest a new order; :class:`Rejection` if refused (recorded too: the
        refused order is a completed order of the venue, as at IB)."""
        contract = dict(placed.contract)
        contract["conId"] = str(con_id(contract))
        if self.find(client_id, placed.order_id) is not None:
            raise Rejection(
                DUPLICATE_ID, f"Duplicate order id {placed.order_id} (modifying is not supported)"
            )
        perm_id = max(self.orders, default=FIRST_PERM_ID - 1) + 1
        order = BookOrder(
            perm_id=perm_id,
            order_id=placed.order_id,
            client_id=client_id,
            contract=contract,
            action=placed.action,
            quantity=placed.quantity,
            order_type=placed.order_type,
            lmt_price=placed.lmt_price,
            tif=placed.tif or "DAY",
            account=placed.account,
            order_ref=placed.order_ref,
        )
        self.orders[perm_id] = order
        if problem := self._refusal(order):
            self._close(order, "Cancelled", f"Order rejected - reason: {problem}", now)
            raise Rejection(REJECTED, order.reason)
        price = self.prices[price_key(contract)]
        if order.order_type == "MKT" or _marketable(order, price):
            return order, [self._fill(order, price, now, liquidity=2)]
        if order.tif in ("IOC", "FOK"):
            self._close(order, "Cancelled", f"{order.tif} order was not marketable", now)
        else:
            self._save(order)
        return order, []

    def cancel(self, client_id: int, order_id: int, now: dt.datetime) -> BookOrder | None:
        """Cancel an open order; ``None`` if the client has no such open order."""
        order = self.find(client_id, order_id)
        if order is None or not order.is_open:
            return None
        self._close(order, "Cancelled", "canceled by the client", now)
        return order

    def set_price(
        self, key: str, price: Decimal, now: dt.datetime
    ) -> list[tuple[BookOrder, BookExecution]]:
        """Move ``key``'s price; resting limit orders it crosses fill at their limit."""
        self.prices[key] = price
        done = []
        for order in list(self.orders.values()):
            if order.is_open and price_key(order.contract) == key and _marketable(order, price):
                assert order.lmt_price is not None
                done.append((order, self._fill(order, order.lmt_price, now, liquidity=1)))
        return done

    def positions(self) -> list[tuple[str, dict[str, str], Decimal, Decimal]]:
        """``(account, contract, signed position, average cost)`` per account and conId."""
        totals: dict[tuple[str, str], list[Any]] = {}
        for ex in self.executions:
            key = (ex.account, ex.contract["conId"])
            entry = totals.setdefault(key, [ex.contract, Decimal(0), Decimal(0)])
            signed = ex.shares if ex.side == "BOT" else -ex.shares
            entry[1] += signed
            entry[2] += signed * ex.price
        return [
            (account, contract, qty, (cost / qty) if qty else Decimal(0))
            for (account, _), (contract, qty, cost) in totals.items()
        ]

    # -- inside --------------------------------------------------------------------------------

    def _refusal(self, order: BookOrder) -> str | None:
        if order.order_type not in ("MKT", "LMT"):
            return f"order type {order.order_type!r} is not supported (MKT, LMT)"
        if order.action not in ("BUY", "SELL"):
            return f"action {order.action!r} must be BUY or SELL"
        if order.quantity <= 0:
            return f"totalQuantity {order.quantity} must be positive"
        if order.order_type == "LMT" and (order.lmt_price is None or order.lmt_price <= 0):
            return "a LMT order needs a positive lmtPrice"
        if price_key(order.contract) not in self.prices:
            return f"no market price for {price_key(order.contract)}"
        return None

    def _fill(
        self, order: BookOrder, price: Decimal, now: dt.datetime, liquidity: int
    ) -> BookExecution:
        shares = order.quantity - order.filled
        cost = order.avg_price * order.filled + price * shares
        order.filled = order.quantity
        order.avg_price = cost / order.filled
        order.last_price = price
        execution = BookExecution(
            exec_id=f"{order.perm_id:08x}.{len(self.executions) + 1:06d}.01",
            perm_id=order.perm_id,
            order_id=order.order_id,
            client_id=order.client_id,
            contract=order.contract,
            side="BOT" if order.action == "BUY" else "SLD",
            shares=shares,
            price=price,
            time=now,
            cum_qty=order.filled,
            avg_price=order.avg_price,
            order_ref=order.order_ref,
            liquidity=liquidity,
            commission=self.fees.of(shares),
            currency=order.contract.get("currency", ""),
            account=order.account,
        )
        self.executions.append(execution)
        self.record({"kind": "execution", **asdict(execution)})
        self._close(order, "Filled", "", now)
        return execution

    def _close(self, order: BookOrder, status: str, reason: str, now: dt.datetime) -> None:
        order.status, order.reason = status, reason
        order.completed_time = now.strftime("%Y%m%d %H:%M:%S UTC")
        self._save(order)

    def _save(self, order: BookOrder) -> None:
        self.record({"kind": "order", **asdict(order)})


def _marketable(order: BookOrder, price: Decimal) -> bool:
    if order.lmt_price is None:
        return False
    return order.lmt_price >= price if order.action == "BUY" else order.lmt_price <= price


_DECIMALS = {"quantity", "filled", "avg_price", "last_price", "shares", "price", "cum_qty",
             "commission", "lmt_price"}  # fmt: skip


def _load(cls: Any, body: dict[str, Any]) -> Any:
    values: dict[str, Any] = {}
    for f in fields(cls):
        value = body[f.name]
        if f.name in _DECIMALS and value is not None:
            value = Decimal(value)
        elif f.name == "time":
            value = dt.datetime.fromisoformat(value)
        values[f.name] = value
    return cls(**values)
