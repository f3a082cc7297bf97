"""The paper gateway's requests: our orders checked and turned into Nautilus orders, and
cancels.

:class:`OrderRequests` is a base class of :class:`~live_daemon.venues.paper.PaperVenueGateway`
(its attributes are set by the gateway); its methods run on the gateway's loop. A request
the venue cannot take becomes a ``rejected`` event (:class:`_Rejected` carries the reason
from the checks), never an exception. Quantities arrive in venue units and are converted to
the node's base units with ``quantity_scale(spec)``; algorithm parameters are checked with
our own parser, so that a bad request is rejected here and not inside the algorithm.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import ExecAlgorithmId, InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.orders import Order

from execution_core.algorithms.params import (
    parse_algorithm,
    parse_algorithm_name,
    validate_for_order,
)
from execution_core.errors import ExecutionServicesError
from execution_core.instruments.reference import InstrumentSpec
from execution_core.nautilus.instruments import quantity_scale
from execution_core.signals.schema import ExecAlgorithm as AlgorithmName
from live_daemon.venues.gateway import VenueEvent
from live_daemon.venues.paper_events import (
    ORDER_ID_TAG,
    _Tracked,
    client_order_id_for,
)
from live_daemon.venues.paper_tracking import OrderTracking

log = logging.getLogger("live_daemon.venues.paper")


class _Rejected(Exception):
    pass


class OrderRequests(OrderTracking):
    """Submitting and canceling our orders (module docstring)."""

    instrument_keys: list[str]
    _running: bool
    _specs: dict[str, InstrumentSpec]
    _instrument_ids: dict[str, InstrumentId]

    def _submit(
        self,
        order_id: str,
        venue_key: str,
        side: str,
        quantity: Decimal,
        order_type: str,
        price: Decimal | None,
        exec_algorithm: str,
        params: dict[str, Any],
    ) -> None:
        if order_id in self._orders:
            log.warning("paper_venue_duplicate_submit order_id=%s ignored", order_id)
            return
        try:
            order, tracked = self._build_order(
                order_id, venue_key, side, quantity, order_type, price, exec_algorithm, params
            )
        except Exception as exc:  # _Rejected, or anything unforeseen: never raise
            if not isinstance(exc, _Rejected):
                log.exception("paper_venue_invalid_order order_id=%s", order_id)
            self._orders[order_id] = _Tracked(
                order_id, venue_key, client_order_id_for(order_id), None, Decimal(0), None,
                time.time_ns(), final=True,
            )  # fmt: skip
            reason = str(exc) if isinstance(exc, _Rejected) else f"invalid order: {exc}"
            log.info("paper_venue_rejected order_id=%s reason=%s", order_id, reason)
            self._emit(VenueEvent("rejected", order_id, venue_key, {"reason": reason}))
            return
        assert self._strategy is not None
        self._orders[order_id] = tracked
        self._by_client_id[tracked.client_order_id.value] = order_id
        try:
            self._strategy.submit_order(order)
        except Exception as exc:  # e.g. an algorithm failing on its primary
            log.exception("paper_venue_submit_failed order_id=%s", order_id)
            tracked.final = True
            self._emit(VenueEvent("rejected", order_id, venue_key, {"reason": f"venue: {exc}"}))
            return
        if tracked.algorithm is not None and not tracked.final:
            tracked.accepted = True
            detail = {
                "client_order_id": tracked.client_order_id.value,
                "exec_algorithm": tracked.algorithm,
            }
            self._emit(VenueEvent("accepted", order_id, venue_key, detail))

    def _build_order(
        self,
        order_id: str,
        venue_key: str,
        side: str,
        quantity: Decimal,
        order_type: str,
        price: Decimal | None,
        exec_algorithm: str,
        params: dict[str, Any],
    ) -> tuple[Order, _Tracked]:
        """The Nautilus order for a request; raises :class:`_Rejected` with the reason."""
        if not self._running or self._strategy is None or self._node is None:
            raise _Rejected("paper venue is not running")
        spec = self._specs.get(venue_key)
        instrument: Instrument | None = None
        if spec is not None:
            instrument = self._node.cache.instrument(self._instrument_ids[venue_key])
        if spec is None or instrument is None:
            raise _Rejected(
                f"instrument {venue_key} is not traded on this paper venue "
                f"(instruments: {', '.join(self.instrument_keys)})"
            )
        side_text = str(side).upper()
        if side_text not in ("BUY", "SELL"):
            raise _Rejected(f"side must be BUY or SELL, got {side!r}")
        kind = str(order_type).upper()
        if kind not in ("MARKET", "LIMIT"):
            raise _Rejected(f"order_type must be MARKET or LIMIT, got {order_type!r}")
        scale = quantity_scale(spec)
        try:
            venue_qty = Decimal(quantity)
        except (InvalidOperation, TypeError, ValueError):
            raise _Rejected(f"quantity {quantity!r} is not a decimal number") from None
        base_qty = venue_qty * scale
        if not base_qty > 0:
            raise _Rejected(f"quantity must be > 0, got {quantity}")
        try:
            qty = instrument.make_qty(base_qty)
        except ValueError:  # rounds to zero
            qty = None
        if qty is None or qty.as_decimal() != base_qty:
            raise _Rejected(
                f"quantity {quantity} is not a multiple of the size increment "
                f"{spec.size_increment} of {venue_key}"
            )
        limit_price = None
        if kind == "LIMIT":
            if price is None:
                raise _Rejected("a LIMIT order needs a price")
            try:
                wanted = Decimal(price)
                limit_price = instrument.make_price(wanted)
            except (InvalidOperation, TypeError, ValueError) as exc:
                raise _Rejected(f"price {price!r} is invalid: {exc}") from None
            if not wanted > 0 or limit_price.as_decimal() != wanted:
                raise _Rejected(
                    f"price {price} is not a positive multiple of the tick size "
                    f"{spec.price_increment} of {venue_key}"
                )
        algorithm_id, algorithm_params = self._algorithm(
            exec_algorithm, params, scale, base_qty, instrument
        )
        cid = client_order_id_for(order_id)
        if self._node.cache.order(cid) is not None:
            raise _Rejected(f"client order id {cid} is already used on this venue")
        factory = self._strategy.order_factory
        common: dict[str, Any] = dict(
            instrument_id=instrument.id,
            order_side=OrderSide.BUY if side_text == "BUY" else OrderSide.SELL,
            quantity=qty,
            time_in_force=TimeInForce.GTC,
            exec_algorithm_id=algorithm_id,
            exec_algorithm_params=algorithm_params,
            tags=[f"{ORDER_ID_TAG}{order_id}"],
            client_order_id=cid,
        )
        order: Order = (
            factory.market(**common)
            if kind == "MARKET"
            else factory.limit(price=limit_price, **common)
        )
        tracked = _Tracked(
            order_id=order_id,
            venue_key=venue_key,
            client_order_id=cid,
            algorithm=None if algorithm_id is None else algorithm_id.value,
            quantity=venue_qty,
            spec=spec,
            submitted_ns=time.time_ns(),
        )
        return order, tracked

    @staticmethod
    def _algorithm(
        name: str,
        params: dict[str, Any],
        scale: Decimal,
        base_qty: Decimal,
        instrument: Instrument,
    ) -> tuple[ExecAlgorithmId | None, dict[str, Any] | None]:
        """The exec algorithm id and its Nautilus params (``{"params": json}``), checked
        with our own parser so that a bad request is rejected here and not inside the
        algorithm. ``display_quantity`` is converted from venue to node units."""
        try:
            algorithm = parse_algorithm_name(name)
            if algorithm is AlgorithmName.NORMAL:
                if params:
                    raise _Rejected(f"NORMAL takes no exec_algorithm_params, got {sorted(params)}")
                return None, None
            node_params = dict(params)
            if "display_quantity" in node_params:
                with contextlib.suppress(InvalidOperation, TypeError, ValueError):
                    display = Decimal(str(node_params["display_quantity"])) * scale
                    node_params["display_quantity"] = float(display)
            _, parsed = parse_algorithm(algorithm.value, node_params)
            validate_for_order(algorithm, parsed, float(base_qty), float(instrument.size_increment))
        except ExecutionServicesError as exc:
            raise _Rejected(str(exc)) from None
        return ExecAlgorithmId(algorithm.value), {"params": json.dumps(node_params)}

    def _cancel(self, order_id: str) -> None:
        tracked = self._orders.get(order_id)
        if tracked is None:
            log.warning("paper_venue_cancel_unknown order_id=%s", order_id)
            return
        if tracked.final or self._node is None:
            return
        tracked.cancel_requested = True
        self._stop_family(tracked)
        self._maybe_finish(tracked)
