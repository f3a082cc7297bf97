"""Parameters of the execution algorithms, parsed from signals and live orders.

A signal row carries ``exec_algorithm`` (``NORMAL``/``TWAP``/``VWAP``/``ICEBERG``, null
meaning ``NORMAL``) and ``exec_algorithm_params`` (a JSON object as a string); a live order
carries the same name and the params as a JSON object. :func:`parse_algorithm` turns
either into an :class:`~execution_core.signals.schema.ExecAlgorithm` and a frozen params
model, and :func:`validate_for_order` checks the params against one order's quantity and
lot size. Every error is an :class:`AlgorithmParamsError` whose message names the
algorithm, the field and the problem; the caller adds *where* (signal file and row, or
operation id).

Quantities are unsigned (the side travels separately) and are handled in integer lots:
:func:`quantity_to_lots` rounds a quantity *down* onto the lot grid, tolerating the float
noise of values that are meant to be on it (``0.3 / 0.1``).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from execution_core.errors import ExecutionServicesError
from execution_core.execution_window import EXECUTION_WINDOW_SECONDS
from execution_core.signals.schema import ExecAlgorithm

MAX_HORIZON_SEC = EXECUTION_WINDOW_SECONDS  # an algorithm's horizon fits in its window
"""An execution window is 5 minutes: no algorithm may run longer than that."""

MAX_SLICES = 1000
_HORIZON_HINT = "an algorithm's horizon must fit in its 5-minute execution window"
_LOT_TOLERANCE = Decimal("1e-9")  # relative: 0.3/0.1 is 3 lots, not 2


class AlgorithmParamsError(ExecutionServicesError, ValueError):
    """An execution algorithm's name or params are invalid (for an order)."""


def _no_bool(value: Any) -> Any:
    # pydantic's lax mode would read true/false as 1/0
    if isinstance(value, bool):
        raise PydanticCustomError("not_a_number", "must be a number, not a boolean")
    return value


_Duration = Annotated[float, BeforeValidator(_no_bool), Field(gt=0, le=MAX_HORIZON_SEC)]
_MaxSlices = Annotated[int, BeforeValidator(_no_bool), Field(ge=1, le=MAX_SLICES)]
_CONFIG = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class NormalParams(BaseModel):
    """NORMAL: the whole quantity as one order at once. Takes no params."""

    model_config = _CONFIG


class TwapParams(BaseModel):
    """TWAP: equal slices at even intervals over ``duration_sec``."""

    model_config = _CONFIG

    duration_sec: _Duration = 120.0
    max_slices: _MaxSlices = 10


Profile = Literal["u_shape", "flat"] | list[float]
_PROFILE_HINT = "must be 'u_shape', 'flat' or a list of non-negative weights, one per slice bucket"


class VwapParams(BaseModel):
    """VWAP: slices sized by a volume profile over ``max_slices`` equal time buckets.

    ``profile`` is ``"u_shape"`` (heavier at both ends of the horizon, like intraday
    volume), ``"flat"`` (equal; then VWAP slices exactly like TWAP) or an explicit list of
    non-negative weights, one per bucket. When a list is given without ``max_slices``,
    ``max_slices`` defaults to its length; given both, they must agree.
    """

    model_config = _CONFIG

    duration_sec: _Duration = 120.0
    max_slices: _MaxSlices = 10
    profile: Profile = "u_shape"

    @model_validator(mode="before")
    @classmethod
    def _slices_from_profile(cls, data: Any) -> Any:
        if (
            isinstance(data, Mapping)
            and isinstance(data.get("profile"), list | tuple)
            and "max_slices" not in data
            and 1 <= len(data["profile"]) <= MAX_SLICES
        ):
            return {**data, "max_slices": len(data["profile"])}
        return data

    @field_validator("profile", mode="before")
    @classmethod
    def _check_profile(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in ("u_shape", "flat"):
                raise PydanticCustomError("profile", _PROFILE_HINT)
            return value
        if not isinstance(value, list | tuple):
            raise PydanticCustomError("profile", _PROFILE_HINT)
        if not 1 <= len(value) <= MAX_SLICES:
            raise PydanticCustomError(
                "profile_detail",
                f"must hold between 1 and {MAX_SLICES} weights, got {len(value)}",
            )
        weights: list[float] = []
        for i, w in enumerate(value):
            if (
                isinstance(w, bool)
                or not isinstance(w, int | float)
                or not math.isfinite(w)
                or w < 0
            ):
                raise PydanticCustomError(
                    "profile_detail", f"weight {i} must be a finite number >= 0, got {_show(w)}"
                )
            weights.append(float(w))
        if not sum(weights) > 0:
            raise PydanticCustomError("profile", "weights must not all be 0")
        return weights

    @model_validator(mode="after")
    def _profile_matches_slices(self) -> VwapParams:
        if isinstance(self.profile, list) and len(self.profile) != self.max_slices:
            raise PydanticCustomError(
                "profile_length",
                "profile: has {n} weights but max_slices is {m} (one weight per slice bucket)",
                {"n": len(self.profile), "m": self.max_slices},
            )
        return self


class IcebergParams(BaseModel):
    """ICEBERG: limit children of at most ``display_quantity``, replenished as they fill.

    ``limit_offset_bps`` places each child's limit that far from the own-side touch
    towards (and through) the other side: 0 joins the best bid (buy) / ask (sell). After
    ``duration_sec`` the working child and the remainder are cancelled.
    """

    model_config = _CONFIG

    display_quantity: Annotated[float, BeforeValidator(_no_bool), Field(gt=0)]
    limit_offset_bps: Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=100)] = 0.0
    duration_sec: _Duration = float(MAX_HORIZON_SEC)


AlgorithmParams = NormalParams | TwapParams | VwapParams | IcebergParams

PARAMS_MODELS: dict[ExecAlgorithm, type[BaseModel]] = {
    ExecAlgorithm.NORMAL: NormalParams,
    ExecAlgorithm.TWAP: TwapParams,
    ExecAlgorithm.VWAP: VwapParams,
    ExecAlgorithm.ICEBERG: IcebergParams,
}
_EXPECTED = ", ".join(a.value for a in ExecAlgorithm)


def parse_algorithm(
    name: str | None, params: str | Mapping[str, Any] | None
) -> tuple[ExecAlgorithm, AlgorithmParams]:
    """Parse an algorithm name and its params (a JSON object string, a mapping or None).

    ``None`` or ``""`` as name means NORMAL; ``None``, ``""`` or ``"null"`` as params means
    the algorithm's defaults. Raises :class:`AlgorithmParamsError`.
    """
    algorithm = parse_algorithm_name(name)
    raw = _params_mapping(algorithm, params)
    if algorithm is ExecAlgorithm.NORMAL:
        if raw:
            raise AlgorithmParamsError(
                f"NORMAL params: NORMAL takes no params, got {', '.join(map(str, raw))}; "
                f"choose TWAP, VWAP or ICEBERG to use them"
            )
        return algorithm, NormalParams()
    try:
        model = PARAMS_MODELS[algorithm].model_validate(raw)
    except ValidationError as exc:
        fields = list(PARAMS_MODELS[algorithm].model_fields)
        problems = "; ".join(_format_error(err, fields) for err in exc.errors())
        raise AlgorithmParamsError(f"{algorithm.value} params: {problems}") from None
    assert isinstance(model, TwapParams | VwapParams | IcebergParams)
    return algorithm, model


def parse_algorithm_name(name: str | None) -> ExecAlgorithm:
    """``NORMAL`` for None/blank; otherwise the (case-insensitive) algorithm name."""
    if name is None or (isinstance(name, str) and not name.strip()):
        return ExecAlgorithm.NORMAL
    if not isinstance(name, str):
        raise AlgorithmParamsError(
            f"execution algorithm must be a string, got {_show(name)}: expected one of {_EXPECTED}"
        )
    try:
        return ExecAlgorithm(name.strip().upper())
    except ValueError:
        raise AlgorithmParamsError(
            f"unknown execution algorithm {name!r}: expected one of {_EXPECTED}"
        ) from None


def _params_mapping(
    algorithm: ExecAlgorithm, params: str | Mapping[str, Any] | None
) -> dict[str, Any]:
    where = f"{algorithm.value} params"
    if params is None:
        return {}
    if isinstance(params, str):
        if not params.strip():
            return {}
        try:
            parsed = json.loads(params)
        except json.JSONDecodeError as exc:
            raise AlgorithmParamsError(f"{where}: not valid JSON ({exc}): {params!r}") from None
        if parsed is None:
            return {}
        if not isinstance(parsed, dict):
            raise AlgorithmParamsError(
                f"{where}: must be a JSON object, got {type(parsed).__name__}: {params!r}"
            )
        return parsed
    if isinstance(params, Mapping):
        return dict(params)
    raise AlgorithmParamsError(
        f"{where}: must be a JSON object (string) or a mapping, got {type(params).__name__}"
    )


_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


def _format_error(err: ErrorDetails, fields: list[str]) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        problem = f"unknown field (expected {', '.join(fields) or 'no fields'})"
    elif kind == "missing":
        return f"{loc}: is required"
    elif kind in _BOUNDS:
        op, key = _BOUNDS[kind]
        problem = f"must be {op} {_show(ctx[key])}"
        if err["loc"] == ("duration_sec",) and op == "<=":
            problem += f" ({_HORIZON_HINT})"
    elif kind == "finite_number":
        problem = "must be finite"
    elif kind.startswith("int_"):
        problem = "must be an integer"
    elif kind.startswith("float_"):
        problem = "must be a number"
    elif kind == "profile_detail":
        return f"{loc}: {err['msg']}"
    elif kind in ("not_a_number", "profile", "profile_length"):
        problem = err["msg"]
    else:
        problem = err["msg"][:1].lower() + err["msg"][1:]
    if not loc:  # a model-level check: the message names its field
        return problem
    return f"{loc}: {problem}, got {_show(err['input'])}"


def _show(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


# --- lots ------------------------------------------------------------------------------


def _decimal(value: float, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise AlgorithmParamsError(f"{what}: must be a number, got {_show(value)}")
    if not math.isfinite(value):
        raise AlgorithmParamsError(f"{what}: must be finite, got {value}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    return Decimal(repr(float(value)))


def lot_decimal(lot_size: float) -> Decimal:
    """The lot size as the decimal it was written as (``0.001``, not its binary float)."""
    lot = _decimal(lot_size, "lot_size")
    if lot <= 0:
        raise AlgorithmParamsError(f"lot_size: must be > 0, got {_show(lot_size)}")
    return lot


def quantity_to_lots(quantity: float, lot_size: float, what: str = "quantity") -> int:
    """Whole lots in ``quantity``, rounded down onto the grid (0 if below one lot).

    ``quantity`` must be finite and >= 0; values within a relative 1e-9 of a grid point
    count as on it, so float noise (``0.30000000000000004``, ``0.29999999999999999``)
    never loses a lot.
    """
    qty = _decimal(quantity, what)
    if qty < 0:
        raise AlgorithmParamsError(
            f"{what}: must be >= 0 (unsigned; the side is separate), got {_show(quantity)}"
        )
    ratio = qty / lot_decimal(lot_size)
    nearest = ratio.to_integral_value()
    if abs(ratio - nearest) <= _LOT_TOLERANCE * max(Decimal(1), nearest):
        return int(nearest)
    return int(ratio.to_integral_value(rounding=ROUND_FLOOR))


def lots_to_quantity(lots: int, lot_size: float) -> float:
    """``lots`` lots as a float quantity, without binary noise (167 x 0.001 -> 0.167)."""
    return float(lots * lot_decimal(lot_size))


def order_lots(algorithm: ExecAlgorithm | str, quantity: float, lot_size: float) -> int:
    """An order's quantity in whole lots (rounded down); raises unless it is >= one lot."""
    name = ExecAlgorithm(algorithm).value
    try:
        if _decimal(quantity, "quantity") <= 0:
            raise AlgorithmParamsError(
                f"quantity: must be > 0 (unsigned; the side is separate), got {_show(quantity)}"
            )
        lots = quantity_to_lots(quantity, lot_size)
    except AlgorithmParamsError as exc:
        raise AlgorithmParamsError(f"{name}: {exc}") from None
    if lots == 0:
        raise AlgorithmParamsError(
            f"{name}: quantity: {_show(quantity)} is below one lot ({_show(lot_size)}), "
            f"nothing to execute"
        )
    return lots


def validate_for_order(
    algorithm: ExecAlgorithm | str, params: AlgorithmParams, quantity: float, lot_size: float
) -> None:
    """Check that ``params`` can execute an order of ``quantity`` (unsigned) at ``lot_size``.

    The quantity must hold at least one lot (it is rounded down onto the lot grid when
    sliced); an ICEBERG's ``display_quantity`` must hold at least one lot (a display above
    the quantity simply shows it all at once). Raises :class:`AlgorithmParamsError`.
    """
    algo = ExecAlgorithm(algorithm)
    expected = PARAMS_MODELS[algo]
    if not isinstance(params, expected):
        raise AlgorithmParamsError(
            f"{algo.value}: params must be {expected.__name__}, got {type(params).__name__}"
        )
    order_lots(algo, quantity, lot_size)
    if isinstance(params, IcebergParams) and (
        quantity_to_lots(params.display_quantity, lot_size, "display_quantity") == 0
    ):
        raise AlgorithmParamsError(
            f"ICEBERG params: display_quantity: must be >= the lot size "
            f"{_show(lot_size)}, got {_show(params.display_quantity)}"
        )
