"""The order vocabulary shared by the backtest and the live daemon: sides and order types.

Both are :class:`~enum.StrEnum`, so a member *is* its string: ``Side.BUY == "BUY"``, and
it is written as ``"BUY"`` on the wire (JSON, the venue connection), in the OMS database
and in parquet. Code that still holds a plain string (a database row, a parquet column)
compares equal to the members; :meth:`Side.parse` / :meth:`OrderType.parse` turn outside
text into a member or raise ``ValueError``.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OrderType", "Side"]


class Side(StrEnum):
    """The side of an order: ``BUY`` (its fills count + in a signed position) or ``SELL`` (−)."""

    BUY = "BUY"
    SELL = "SELL"

    @classmethod
    def parse(cls, value: str) -> Side:
        """``value`` as a side (exactly ``"BUY"`` or ``"SELL"``); ``ValueError`` otherwise."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"side must be 'BUY' or 'SELL', got {value!r}") from None


class OrderType(StrEnum):
    """``MARKET`` takes what the book offers now; ``LIMIT`` carries a limit price."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"

    @classmethod
    def parse(cls, value: str) -> OrderType:
        """``value`` as an order type (exactly ``"MARKET"`` or ``"LIMIT"``); ``ValueError``
        otherwise."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"order_type must be 'MARKET' or 'LIMIT', got {value!r}") from None
