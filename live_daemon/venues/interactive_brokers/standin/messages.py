"""The TWS API socket protocol, as ib_async 2.1's client and decoder speak it, for the
stand-in's subset (server side).

Framing: the client opens with ``API\\0`` and a length-prefixed ``v<min>..<max>`` version
range; the server answers with its version and connection time; after that every message
either way is a 4-byte big-endian length and ``\\0``-terminated text fields, the first
being the message id. The client's first message is ``startApi`` (71); the server then
sends ``nextValidId`` (9) and ``managedAccounts`` (15), which ib_async waits for.

The layouts below are those ib_async's ``Decoder`` reads at :data:`SERVER_VERSION` (176:
``error`` carries the advanced-reject JSON (>=166); ``openOrder``/``completedOrder`` carry
``faProfile`` (<177) and the PEG fields (>=170); ``execDetails`` has no
``pendingPriceRevision`` (>=178)). Long layouts are written as lists of field names in the
decoder's order, so that a reader can hold them against ``ib_async/decoder.py``; a name
not given a value is sent empty (the decoder's default), the counters zero.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

SERVER_VERSION = 176
"""Within ib_async 2.1's client range (157..178)."""
API_PREFIX = b"API\0"
MAX_MESSAGE = 1 << 24


class ProtocolError(Exception):
    """The peer broke the protocol (the message says how)."""


# ---- framing -----------------------------------------------------------------------------


def frame(fields: Sequence[object]) -> bytes:
    """One message: the length prefix and the ``\\0``-terminated fields."""
    body = "".join(f"{_text(f)}\0" for f in fields).encode()
    return struct.pack(">I", len(body)) + body


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return str(value)


async def read_message(reader: asyncio.StreamReader) -> list[str]:
    """The next message's fields (``IncompleteReadError`` at the end of the stream)."""
    (size,) = struct.unpack(">I", await reader.readexactly(4))
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message of {size} bytes is over the limit {MAX_MESSAGE}")
    text = (await reader.readexactly(size)).decode(errors="replace")
    fields = text.split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


async def read_handshake(reader: asyncio.StreamReader) -> tuple[int, int]:
    """The client's ``API\\0`` + ``v<min>..<max>[ options]``: its version range."""
    if await reader.readexactly(4) != API_PREFIX:
        raise ProtocolError("the connection did not start with API\\0")
    (size,) = struct.unpack(">I", await reader.readexactly(4))
    if size > 1024:
        raise ProtocolError(f"version message of {size} bytes")
    text = (await reader.readexactly(size)).decode(errors="replace")
    versions = text.split(" ", 1)[0]
    try:
        low, high = versions.removeprefix("v").split("..")
        return int(low), int(high)
    except ValueError:
        raise ProtocolError(f"bad version range {text!r}") from None


def server_hello(now: dt.datetime) -> bytes:
    """The reply to the handshake: server version and connection time."""
    return frame([SERVER_VERSION, now.strftime("%Y%m%d %H:%M:%S UTC")])


def ib_time(ts: dt.datetime) -> str:
    """An execution time as TWS writes it (``YYYYMMDD HH:MM:SS <zone>``)."""
    return ts.astimezone(dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")


# ---- what the client sends ---------------------------------------------------------------

CONTRACT_FIELDS = (
    "conId",
    "symbol",
    "secType",
    "lastTradeDateOrContractMonth",
    "strike",
    "right",
    "multiplier",
    "exchange",
    "primaryExchange",
    "currency",
    "localSymbol",
    "tradingClass",
)
"""A contract as ``client.send`` writes it (placeOrder)."""


@dataclass(frozen=True)
class PlacedOrder:
    """The fields of a ``placeOrder`` (3) the stand-in acts on."""

    order_id: int
    contract: dict[str, str]
    action: str
    quantity: Decimal
    order_type: str
    lmt_price: Decimal | None
    tif: str
    account: str
    order_ref: str


def parse_place_order(fields: list[str]) -> PlacedOrder:
    """``placeOrder``: id, orderId, contract (12), secIdType, secId, action, totalQuantity,
    orderType, lmtPrice, auxPrice, tif, ocaGroup, account, openClose, origin, orderRef…"""
    if len(fields) < 27:
        raise ProtocolError(f"placeOrder with {len(fields)} fields, expected at least 27")
    contract = dict(zip(CONTRACT_FIELDS, fields[2:14], strict=True))
    action, quantity, order_type, lmt_price = fields[16:20]
    try:
        return PlacedOrder(
            order_id=int(fields[1]),
            contract=contract,
            action=action,
            quantity=Decimal(quantity),
            order_type=order_type,
            lmt_price=Decimal(lmt_price) if lmt_price else None,
            tif=fields[21],
            account=fields[23],
            order_ref=fields[26],
        )
    except ArithmeticError:
        raise ProtocolError(f"placeOrder: bad number in {fields[1:27]}") from None


# ---- what the server sends ---------------------------------------------------------------

_COUNTERS = ("numLegs", "numOrderLegs", "numParams", "dncPresent", "numConditions")


def _layout(names: Sequence[str], values: Mapping[str, object]) -> list[object]:
    return [values.get(n, 0 if n in _COUNTERS else "") for n in names]


_ORDER_CONTRACT = (
    "conId",
    "symbol",
    "secType",
    "lastTradeDateOrContractMonth",
    "strike",
    "right",
    "multiplier",
    "exchange",
    "currency",
    "localSymbol",
    "tradingClass",
)

OPEN_ORDER = (
    "orderId",
    *_ORDER_CONTRACT,
    "action", "totalQuantity", "orderType", "lmtPrice", "auxPrice", "tif", "ocaGroup",
    "account", "openClose", "origin", "orderRef", "clientId", "permId", "outsideRth",
    "hidden", "discretionaryAmt", "goodAfterTime", "sharesAllocation", "faGroup",
    "faMethod", "faPercentage", "faProfile",
    "modelCode", "goodTillDate", "rule80A", "percentOffset", "settlingFirm",
    "shortSaleSlot", "designatedLocation", "exemptCode", "auctionStrategy",
    "startingPrice", "stockRefPrice", "delta", "stockRangeLower", "stockRangeUpper",
    "displaySize", "blockOrder", "sweepToFill", "allOrNone", "minQty", "ocaType",
    "eTradeOnly", "firmQuoteOnly", "nbboPriceCap", "parentId", "triggerMethod",
    "volatility", "volatilityType", "deltaNeutralOrderType", "deltaNeutralAuxPrice",
    "continuousUpdate", "referencePriceType", "trailStopPrice", "trailingPercent",
    "basisPoints", "basisPointsType", "comboLegsDescrip", "numLegs", "numOrderLegs",
    "numParams", "scaleInitLevelSize", "scaleSubsLevelSize", "scalePriceIncrement",
    "hedgeType", "optOutSmartRouting", "clearingAccount", "clearingIntent", "notHeld",
    "dncPresent", "algoStrategy", "solicited", "whatIf", "status",
    "initMarginBefore", "maintMarginBefore", "equityWithLoanBefore", "initMarginChange",
    "maintMarginChange", "equityWithLoanChange", "initMarginAfter", "maintMarginAfter",
    "equityWithLoanAfter", "commission", "minCommission", "maxCommission",
    "commissionCurrency", "warningText", "randomizeSize", "randomizePrice",
    "numConditions", "adjustedOrderType", "triggerPrice", "trailStopPrice",
    "lmtPriceOffset", "adjustedStopPrice", "adjustedStopLimitPrice",
    "adjustedTrailingAmount", "adjustableTrailingUnit", "softDollarTierName",
    "softDollarTierVal", "softDollarTierDisplayName", "cashQty",
    "dontUseAutoPriceForHedge", "isOmsContainer", "discretionaryUpToLimitPrice",
    "usePriceMgmtAlgo", "duration", "postToAts", "autoCancelParent", "minTradeQty",
    "minCompeteSize", "competeAgainstBestOffset", "midOffsetAtWhole", "midOffsetAtHalf",
)  # fmt: skip
"""``openOrder`` (5) after the message id, as ``Decoder.openOrder`` reads it at 176."""

COMPLETED_ORDER = (
    *_ORDER_CONTRACT,
    "action", "totalQuantity", "orderType", "lmtPrice", "auxPrice", "tif", "ocaGroup",
    "account", "openClose", "origin", "orderRef", "permId", "outsideRth", "hidden",
    "discretionaryAmt", "goodAfterTime", "faGroup", "faMethod", "faPercentage",
    "faProfile",
    "modelCode", "goodTillDate", "rule80A", "percentOffset", "settlingFirm",
    "shortSaleSlot", "designatedLocation", "exemptCode", "startingPrice",
    "stockRefPrice", "delta", "stockRangeLower", "stockRangeUpper", "displaySize",
    "sweepToFill", "allOrNone", "minQty", "ocaType", "triggerMethod", "volatility",
    "volatilityType", "deltaNeutralOrderType", "deltaNeutralAuxPrice",
    "continuousUpdate", "referencePriceType", "trailStopPrice", "trailingPercent",
    "comboLegsDescrip", "numLegs", "numOrderLegs", "numParams", "scaleInitLevelSize",
    "scaleSubsLevelSize", "scalePriceIncrement", "hedgeType", "clearingAccount",
    "clearingIntent", "notHeld", "dncPresent", "algoStrategy", "solicited", "status",
    "randomizeSize", "randomizePrice", "numConditions", "trailStopPrice",
    "lmtPriceOffset", "cashQty", "dontUseAutoPriceForHedge", "isOmsContainer",
    "autoCancelDate", "filledQuantity", "refFuturesConId", "autoCancelParent",
    "shareholder", "imbalanceOnly", "routeMarketableToBbo", "parentPermId",
    "completedTime", "completedStatus", "minTradeQty", "minCompeteSize",
    "competeAgainstBestOffset", "midOffsetAtWhole", "midOffsetAtHalf",
)  # fmt: skip
"""``completedOrder`` (101) after the message id, as ``Decoder.completedOrder`` reads it."""

EXEC_DETAILS = (
    "reqId", "orderId", "conId", "symbol", "secType", "lastTradeDateOrContractMonth",
    "strike", "right", "multiplier", "exchange", "currency", "localSymbol",
    "tradingClass", "execId", "time", "acctNumber", "execExchange", "side", "shares",
    "price", "permId", "clientId", "liquidation", "cumQty", "avgPrice", "orderRef",
    "evRule", "evMultiplier", "modelCode", "lastLiquidity",
)  # fmt: skip
"""``execDetails`` (11) after the message id (no version field in ib_async's reading)."""

POSITION = (
    "account", "conId", "symbol", "secType", "lastTradeDateOrContractMonth", "strike",
    "right", "multiplier", "exchange", "currency", "localSymbol", "tradingClass",
    "position", "avgCost",
)  # fmt: skip
"""``position`` (61) after the message id and its version."""


def open_order(values: Mapping[str, object]) -> bytes:
    return frame([5, *_layout(OPEN_ORDER, values)])


def completed_order(values: Mapping[str, object]) -> bytes:
    return frame([101, *_layout(COMPLETED_ORDER, values)])


def exec_details(values: Mapping[str, object]) -> bytes:
    return frame([11, *_layout(EXEC_DETAILS, values)])


def position(values: Mapping[str, object]) -> bytes:
    return frame([61, 3, *_layout(POSITION, values)])


def order_status(
    order_id: int,
    status: str,
    filled: Decimal,
    remaining: Decimal,
    avg_fill_price: Decimal,
    perm_id: int,
    last_fill_price: Decimal,
    client_id: int,
) -> bytes:
    """``orderStatus`` (3): no version field, as ib_async reads it (``skip=1``)."""
    return frame(
        [3, order_id, status, filled, remaining, avg_fill_price, perm_id, 0,
         last_fill_price, client_id, "", 0]
    )  # fmt: skip


def commission_report(execution_id: str, commission: Decimal, currency: str) -> bytes:
    """``commissionReport`` (59): execId, commission, currency, realizedPNL, yield,
    yieldRedemptionDate (the last three unset)."""
    return frame([59, 1, execution_id, commission, currency, "", "", ""])


def error(req_id: int, code: int, message: str) -> bytes:
    """``errorMsg`` (4): reqId (the order id, or -1), code, text, advanced-reject JSON."""
    return frame([4, 2, req_id, code, message, ""])


def next_valid_id(order_id: int) -> bytes:
    return frame([9, 1, order_id])


def managed_accounts(accounts: Sequence[str]) -> bytes:
    return frame([15, 1, ",".join(accounts)])


def open_order_end() -> bytes:
    return frame([53, 1])


def completed_orders_end() -> bytes:
    return frame([102])


def exec_details_end(req_id: int) -> bytes:
    return frame([55, 1, req_id])


def position_end() -> bytes:
    return frame([62, 1])


def account_download_end(account: str) -> bytes:
    return frame([54, 1, account])


def account_update_multi_end(req_id: int) -> bytes:
    return frame([74, 1, req_id])


BID, ASK = 1, 2
"""Tick types of ``tickPrice`` (1): bid and ask, each with its size."""


def tick_price(req_id: int, tick_type: int, price: Decimal, size: Decimal) -> bytes:
    """``tickPrice`` (1): version, reqId, tickType, price, size, attribute mask."""
    return frame([1, 6, req_id, tick_type, price, size, 0])


def parse_market_data_request(fields: list[str]) -> tuple[int, dict[str, str]]:
    """``reqMktData`` (1): version, reqId, the contract (12 fields), …"""
    if len(fields) < 15:
        raise ProtocolError(f"reqMktData with {len(fields)} fields, expected at least 15")
    return int(fields[2]), dict(zip(CONTRACT_FIELDS, fields[3:15], strict=True))
