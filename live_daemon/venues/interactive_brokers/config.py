"""The Interactive Brokers adapter's settings: :class:`IBAdapterConfig`.

Where TWS or IB Gateway listens (``host``, ``port``; 7497 is TWS paper, 4002 the Gateway's
paper port), the API client id of this adapter (one connection per id: TWS refuses a
second one with error 326), the account to trade and report (empty: the only account the
login manages), and the instruments, each a canonical id with the IB fields it needs beyond
the id (exchange, multiplier…: :mod:`.contracts`). Every wait has its own timeout.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from execution_core.instruments.ids import CanonicalId

VENUE = "IB"
"""The venue's name in canonical instrument ids (``IB:SPOT_PAIR:AAPL-USD``)."""


class IBInstrument(BaseModel):
    """One tradable instrument: its canonical ``key`` and the contract fields IB needs
    that the key does not carry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    exchange: str = "SMART"  # a future names its exchange (CME, EUREX…)
    primary_exchange: str = ""  # disambiguates a SMART-routed stock (NASDAQ, NYSE…)
    multiplier: str = ""  # "100" for US equity options, "50" for ES…
    trading_class: str = ""
    option_sec_type: Literal["OPT", "FOP"] = "OPT"  # an option on a stock or on a future
    con_id: int = Field(default=0, ge=0)  # IB's contract id, when known

    @field_validator("key")
    @classmethod
    def _key_is_ib(cls, key: str) -> str:
        cid = CanonicalId.parse(key)  # raises naming the id and the problem
        if cid.venue != VENUE:
            raise ValueError(f"instrument key {key!r}: venue must be {VENUE}, got {cid.venue}")
        return key


class IBAdapterConfig(BaseModel):
    """Settings of one :class:`~.adapter.InteractiveBrokersAdapter` (module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=7497, ge=1, le=65535)
    client_id: int = Field(default=1, ge=0)
    account: str = ""
    instruments: list[IBInstrument] = Field(default_factory=list)
    market_data: bool = True  # quotes of every instrument with a con_id, from connection on
    connect_timeout_s: float = Field(default=10.0, gt=0)  # one connection attempt + sync
    start_timeout_s: float = Field(default=30.0, gt=0)  # connect() gives up (retrying on)
    request_timeout_s: float = Field(default=10.0, gt=0)  # a request's answer
    submit_timeout_s: float = Field(default=10.0, gt=0)  # an order's acknowledgement
    reconnect_initial_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)

    @field_validator("instruments")
    @classmethod
    def _unique(cls, instruments: list[IBInstrument]) -> list[IBInstrument]:
        keys = [i.key for i in instruments]
        if dupes := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"instruments: duplicate keys {dupes}")
        return instruments
