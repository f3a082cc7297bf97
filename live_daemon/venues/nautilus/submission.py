"""Orders into the paper node: :class:`OrderSubmitter` checks our requests, turns them into
Nautilus orders and submits them, and cancels.

A request the venue cannot take becomes a ``rejected`` event (:class:`_Rejected` carries the
reason from the checks), never an exception. Quantities arrive in venue units and are
converted to the node's base units with ``quantity_scale(spec)``; algorithm parameters are
checked with our own parser, so that a bad request is rejected here and not inside the
algorithm.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from nautilus_trader.cache.base import CacheFacade
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
from execution_core.orders import OrderType, Side
from execution_core.signals.schema import ExecAlgorithm as AlgorithmName
from live_daemon.venues.gateway import VenueEvent, VenueEventKind, VenueOrder
from live_daemon.venues.nautilus.execution import GatewayStrategy
from live_daemon.venues.nautilus.orders import (
    ORDER_ID_TAG,
    TrackedOrder,
    TrackedOrders,
    client_order_id_for,
)
from live_daemon.venues.nautilus.tracking import OrderTracker

log = logging.getLogger(__name__)


class _Rejected(Exception):
    pass


@dataclass(frozen=True)
class _RunningNode:
    """What orders go to while the node runs."""

    cache: CacheFacade
    strategy: GatewayStrategy
    tracker: OrderTracker


class OrderSubmitter:
    """Submitting and canceling our orders (module docstring).

    It lives as long as the gateway, since requests come whether a node runs or not: made
    with the gateway's ``orders``, ``emit`` (hands an event to the daemon: queued on the
    loop) and the instruments traded (``specs`` and Nautilus ``instrument_ids`` by
    canonical key); :meth:`open` once the node is ready gives it the node's cache, the
    strategy orders go through and the node's tracker, :meth:`close` takes them back when
    the node stops. While closed, every order is refused ("paper venue is not running").
    Its methods run on the gateway's loop."""

    def __init__(
        self,
        orders: TrackedOrders,
        emit: Callable[[VenueEvent], None],
        specs: Mapping[str, InstrumentSpec],
        instrument_ids: Mapping[str, InstrumentId],
    ) -> None:
        self._orders = orders
        self._emit = emit
        self._specs = dict(specs)
        self._instrument_ids = dict(instrument_ids)
        self._node: _RunningNode | None = None

    def open(self, cache: CacheFacade, strategy: GatewayStrategy, tracker: OrderTracker) -> None:
        """The node is ready: orders go to it from now on."""
        self._node = _RunningNode(cache, strategy, tracker)

    def close(self) -> None:
        """The node is stopping: orders are refused from now on."""
        self._node = None

    def submit(self, request: VenueOrder) -> None:
        order_id, venue_key = request.order_id, request.venue_key
        if order_id in self._orders:
            log.warning("paper_venue_duplicate_submit order_id=%s ignored", order_id)
            return
        try:
            order, tracked = self._build_order(request)
        except Exception as exc:  # _Rejected, or anything unforeseen: never raise
            if not isinstance(exc, _Rejected):
                log.exception("paper_venue_invalid_order order_id=%s", order_id)
            self._orders.add_refused(order_id, venue_key)
            reason = str(exc) if isinstance(exc, _Rejected) else f"invalid order: {exc}"
            log.info("paper_venue_rejected order_id=%s reason=%s", order_id, reason)
            self._emit(VenueEvent(VenueEventKind.REJECTED, order_id, venue_key, {"reason": reason}))
            return
        assert self._node is not None
        self._orders.add(tracked)
        try:
            self._node.strategy.submit_order(order)
        except Exception as exc:  # e.g. an algorithm failing on its primary
            log.exception("paper_venue_submit_failed order_id=%s", order_id)
            tracked.final = True
            self._emit(
                VenueEvent(
                    VenueEventKind.REJECTED, order_id, venue_key, {"reason": f"venue: {exc}"}
                )
            )
            return
        if tracked.algorithm is not None and not tracked.final:
            tracked.accepted = True
            detail = {
                "client_order_id": tracked.client_order_id.value,
                "exec_algorithm": tracked.algorithm,
            }
            self._emit(VenueEvent(VenueEventKind.ACCEPTED, order_id, venue_key, detail))

    def cancel(self, order_id: str) -> None:
        tracked = self._orders.get(order_id)
        if tracked is None:
            log.warning("paper_venue_cancel_unknown order_id=%s", order_id)
            return
        if tracked.final or self._node is None:
            return
        self._node.tracker.cancel(tracked)

    def _build_order(self, request: VenueOrder) -> tuple[Order, TrackedOrder]:
        """The Nautilus order for a request; raises :class:`_Rejected` with the reason."""
        order_id, venue_key, side = request.order_id, request.venue_key, request.side
        quantity, order_type, price = request.quantity, request.order_type, request.price
        exec_algorithm = request.exec_algorithm
        params = dict(request.exec_algorithm_params or {})
        node = self._node
        if node is None:
            raise _Rejected("paper venue is not running")
        spec = self._specs.get(venue_key)
        instrument: Instrument | None = None
        if spec is not None:
            instrument = node.cache.instrument(self._instrument_ids[venue_key])
        if spec is None or instrument is None:
            raise _Rejected(
                f"instrument {venue_key} is not traded on this paper venue "
                f"(instruments: {', '.join(self._specs)})"
            )
        try:
            order_side = Side(str(side).upper())
        except ValueError:
            raise _Rejected(f"side must be BUY or SELL, got {side!r}") from None
        try:
            kind = OrderType(str(order_type).upper())
        except ValueError:
            raise _Rejected(f"order_type must be MARKET or LIMIT, got {order_type!r}") from None
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
        if kind == OrderType.LIMIT:
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
        if node.cache.order(cid) is not None:
            raise _Rejected(f"client order id {cid} is already used on this venue")
        factory = node.strategy.order_factory
        common: dict[str, Any] = dict(
            instrument_id=instrument.id,
            order_side=OrderSide.BUY if order_side == Side.BUY else OrderSide.SELL,
            quantity=qty,
            time_in_force=TimeInForce.GTC,
            exec_algorithm_id=algorithm_id,
            exec_algorithm_params=algorithm_params,
            tags=[f"{ORDER_ID_TAG}{order_id}"],
            client_order_id=cid,
        )
        order: Order = (
            factory.market(**common)
            if kind == OrderType.MARKET
            else factory.limit(price=limit_price, **common)
        )
        tracked = TrackedOrder(
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
