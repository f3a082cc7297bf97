"""Order ids: ``ORD-`` + a ULID, so that sorting ids sorts orders by creation time.

The OMS mints one per recorded order (:class:`~live_daemon.oms.orders.UnifiedOrderManager`);
its queries break ties of ``created_at`` on ``order_id``, which this keeps meaningful.
"""

from __future__ import annotations

import os
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_id_lock = threading.Lock()
_last_id = 0


def new_order_id() -> str:
    """``ORD-`` + a ULID (26 Crockford base32 chars: 48-bit ms timestamp + 80 random bits).

    Lexicographic order is creation order, also within a millisecond in one process.
    """
    global _last_id
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    with _id_lock:
        if value <= _last_id:
            value = _last_id + 1
        _last_id = value
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "ORD-" + "".join(reversed(chars))
