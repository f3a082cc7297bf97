"""The execution window: how long a signal change's execution may run, in backtests and
live alike. Each target change opens ``[ts, ts + EXECUTION_WINDOW)``; only those windows'
ticks are loaded, an algorithm's horizon must fit in one (a longer ``duration_sec`` is
rejected when the signal is validated), and whatever is still open when it ends is
cancelled and reported as unfilled.

One definition, three units: the ``timedelta``, and the derived nanoseconds (timestamps
are ns) and seconds (algorithm parameters are seconds).
"""

from __future__ import annotations

import datetime as dt

EXECUTION_WINDOW = dt.timedelta(minutes=5)
EXECUTION_WINDOW_NS = EXECUTION_WINDOW // dt.timedelta(microseconds=1) * 1_000
EXECUTION_WINDOW_SECONDS = int(EXECUTION_WINDOW.total_seconds())
