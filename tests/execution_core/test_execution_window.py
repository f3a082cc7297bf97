"""The execution window has one definition; every unit of it is derived from it."""

from __future__ import annotations

import datetime as dt

from execution_core.algorithms.params import MAX_HORIZON_SEC
from execution_core.execution_window import (
    EXECUTION_WINDOW,
    EXECUTION_WINDOW_NS,
    EXECUTION_WINDOW_SECONDS,
)


def test_one_window_in_every_unit() -> None:
    assert dt.timedelta(minutes=5) == EXECUTION_WINDOW
    assert EXECUTION_WINDOW_NS == 300_000_000_000
    assert EXECUTION_WINDOW_SECONDS == 300
    assert MAX_HORIZON_SEC == EXECUTION_WINDOW_SECONDS  # an algorithm's horizon fits in one
