"""Parsing and validation of exec_algorithm / exec_algorithm_params."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from execution_core.algorithms import (
    MAX_HORIZON_SEC,
    AlgorithmParamsError,
    IcebergParams,
    NormalParams,
    TwapParams,
    VwapParams,
    lots_to_quantity,
    parse_algorithm,
    quantity_to_lots,
    validate_for_order,
)
from execution_core.errors import ExecutionServicesError
from execution_core.signals.schema import ExecAlgorithm


def _error(name: str | None, params: object) -> str:
    with pytest.raises(AlgorithmParamsError) as info:
        parse_algorithm(name, params)  # type: ignore[arg-type]
    return str(info.value)


def test_no_nautilus_trader() -> None:
    import execution_core.algorithms as package

    for source in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.startswith("nautilus") for n in names), (source, names)


def test_error_type() -> None:
    assert issubclass(AlgorithmParamsError, ExecutionServicesError)
    assert issubclass(AlgorithmParamsError, ValueError)


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "", "  "])
def test_missing_name_is_normal(name: str | None) -> None:
    assert parse_algorithm(name, None) == (ExecAlgorithm.NORMAL, NormalParams())


@pytest.mark.parametrize("name", ["TWAP", "twap", " Twap ", ExecAlgorithm.TWAP])
def test_names(name: str) -> None:
    assert parse_algorithm(name, None) == (ExecAlgorithm.TWAP, TwapParams())


def test_unknown_name() -> None:
    assert _error("FOO", None) == (
        "unknown execution algorithm 'FOO': expected one of NORMAL, TWAP, VWAP, ICEBERG"
    )


# --- defaults and signal-file JSON --------------------------------------------------------


def test_defaults() -> None:
    assert parse_algorithm("TWAP", None)[1] == TwapParams(duration_sec=120, max_slices=10)
    vwap = parse_algorithm("VWAP", "")[1]
    assert vwap == VwapParams(duration_sec=120, max_slices=10, profile="u_shape")
    iceberg = IcebergParams(display_quantity=0.05)
    assert (iceberg.limit_offset_bps, iceberg.duration_sec) == (0.0, MAX_HORIZON_SEC)
    assert parse_algorithm("NORMAL", "{}") == (ExecAlgorithm.NORMAL, NormalParams())
    assert parse_algorithm("TWAP", "null")[1] == TwapParams()


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("TWAP", '{"duration_sec": 120, "max_slices": 6}', TwapParams(max_slices=6)),
        ("TWAP", '{"duration_sec": 300, "max_slices": 10}', TwapParams(duration_sec=300)),
        ("TWAP", '{"duration_sec": 45.5}', TwapParams(duration_sec=45.5)),
        (
            "VWAP",
            '{"duration_sec": 180, "profile": "flat"}',
            VwapParams(duration_sec=180, profile="flat"),
        ),
        ("ICEBERG", '{"display_quantity": 0.05}', IcebergParams(display_quantity=0.05)),
        (
            "ICEBERG",
            '{"display_quantity": 0.1, "limit_offset_bps": 2.5, "duration_sec": 240}',
            IcebergParams(display_quantity=0.1, limit_offset_bps=2.5, duration_sec=240),
        ),
    ],
)
def test_json_strings(name: str, text: str, expected: object) -> None:
    algorithm, params = parse_algorithm(name, text)
    assert algorithm == ExecAlgorithm(name)
    assert params == expected
    # the same params as a mapping (the live API's JSON object)
    assert parse_algorithm(name, json.loads(text))[1] == expected


def test_explicit_profile_list() -> None:
    params = parse_algorithm("VWAP", '{"profile": [3, 1, 1, 3]}')[1]
    assert isinstance(params, VwapParams)
    assert params.profile == [3.0, 1.0, 1.0, 3.0]
    assert params.max_slices == 4  # defaults to the profile's length
    params = parse_algorithm("VWAP", {"profile": [0, 1], "max_slices": 2})[1]
    assert isinstance(params, VwapParams) and params.profile == [0.0, 1.0]


def test_params_are_frozen() -> None:
    params = TwapParams()
    with pytest.raises(ValidationError):
        params.max_slices = 3  # type: ignore[misc]


def test_numeric_strings_are_numbers() -> None:
    # the live API sends quantities as decimal strings
    assert parse_algorithm("ICEBERG", {"display_quantity": "0.05"})[1] == IcebergParams(
        display_quantity=0.05
    )


# --- bad params: algorithm, field and problem in the message ------------------------------


@pytest.mark.parametrize(
    ("name", "params", "fragments"),
    [
        (
            "TWAP",
            '{"duration_sec": 600}',
            [
                "TWAP params: duration_sec: must be <= 300 (an algorithm's horizon must fit "
                "in its 5-minute execution window), got 600"
            ],
        ),
        ("VWAP", '{"duration_sec": 300.5}', ["VWAP params: duration_sec: must be <= 300"]),
        ("ICEBERG", {"display_quantity": 1, "duration_sec": 301}, ["ICEBERG params: duration_sec"]),
        ("TWAP", '{"duration_sec": 0}', ["TWAP params: duration_sec: must be > 0, got 0"]),
        ("TWAP", '{"duration_sec": -5}', ["duration_sec: must be > 0, got -5"]),
        ("TWAP", '{"duration_sec": NaN}', ["TWAP params: duration_sec: must be finite"]),
        ("TWAP", '{"duration_sec": Infinity}', ["duration_sec: must be finite"]),
        ("TWAP", {"duration_sec": float("inf")}, ["duration_sec: must be finite"]),
        ("TWAP", '{"duration_sec": "soon"}', ["duration_sec: must be a number, got 'soon'"]),
        ("TWAP", '{"duration_sec": true}', ["duration_sec: must be a number, not a boolean"]),
        ("TWAP", '{"max_slices": 0}', ["TWAP params: max_slices: must be >= 1, got 0"]),
        ("TWAP", '{"max_slices": 1001}', ["max_slices: must be <= 1000, got 1001"]),
        ("TWAP", '{"max_slices": 2.5}', ["max_slices: must be an integer, got 2.5"]),
        ("VWAP", '{"max_slices": -1}', ["VWAP params: max_slices: must be >= 1"]),
        (
            "TWAP",
            '{"duration": 60}',
            ["TWAP params: duration: unknown field (expected duration_sec, max_slices), got 60"],
        ),
        ("TWAP", '{"display_quantity": 1}', ["display_quantity: unknown field"]),
        ("VWAP", '{"profile": "spiky"}', ["VWAP params: profile: must be 'u_shape', 'flat'"]),
        ("VWAP", '{"profile": 3}', ["profile: must be 'u_shape', 'flat' or a list"]),
        ("VWAP", '{"profile": []}', ["profile: must hold between 1 and 1000 weights, got 0"]),
        (
            "VWAP",
            '{"profile": [1, -1]}',
            ["profile: weight 1 must be a finite number >= 0, got -1"],
        ),
        ("VWAP", {"profile": [1, float("nan")]}, ["profile: weight 1 must be a finite number"]),
        ("VWAP", '{"profile": [1, "x"]}', ["profile: weight 1 must be a finite number"]),
        ("VWAP", '{"profile": [0, 0]}', ["VWAP params: profile: weights must not all be 0"]),
        (
            "VWAP",
            '{"profile": [1, 2, 3], "max_slices": 4}',
            ["VWAP params: profile: has 3 weights but max_slices is 4"],
        ),
        ("ICEBERG", "{}", ["ICEBERG params: display_quantity: is required"]),
        ("ICEBERG", None, ["ICEBERG params: display_quantity: is required"]),
        ("ICEBERG", '{"display_quantity": 0}', ["display_quantity: must be > 0, got 0"]),
        ("ICEBERG", '{"display_quantity": -0.1}', ["display_quantity: must be > 0"]),
        ("ICEBERG", '{"display_quantity": NaN}', ["display_quantity: must be finite"]),
        (
            "ICEBERG",
            '{"display_quantity": 1, "limit_offset_bps": -1}',
            ["ICEBERG params: limit_offset_bps: must be >= 0, got -1"],
        ),
        (
            "ICEBERG",
            '{"display_quantity": 1, "limit_offset_bps": 100.5}',
            ["limit_offset_bps: must be <= 100, got 100.5"],
        ),
        (
            "NORMAL",
            '{"duration_sec": 60}',
            ["NORMAL params: NORMAL takes no params", "duration_sec"],
        ),
        (None, {"max_slices": 3}, ["NORMAL takes no params"]),
        ("TWAP", "{bad json", ["TWAP params: not valid JSON", "{bad json"]),
        ("TWAP", "[120, 6]", ["TWAP params: must be a JSON object, got list"]),
        ("ICEBERG", '"0.05"', ["ICEBERG params: must be a JSON object, got str"]),
        ("TWAP", 42, ["TWAP params: must be a JSON object (string) or a mapping, got int"]),
    ],
)
def test_bad_params(name: str | None, params: object, fragments: list[str]) -> None:
    message = _error(name, params)
    for fragment in fragments:
        assert fragment in message


def test_all_problems_reported() -> None:
    message = _error("TWAP", '{"duration_sec": 900, "max_slices": 0, "speed": 1}')
    assert "duration_sec: must be <= 300" in message
    assert "max_slices: must be >= 1" in message
    assert "speed: unknown field" in message


# --- lots -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "lot", "lots"),
    [
        (1.0, 0.001, 1000),
        (0.3, 0.1, 3),  # 0.3 / 0.1 == 2.9999999999999996 in binary floats
        (0.1 + 0.2, 0.1, 3),
        (0.3 - 0.1, 0.1, 2),  # 0.19999999999999998
        (0.12345, 0.001, 123),  # off the grid: rounded down
        (0.0009, 0.001, 0),
        (0, 0.001, 0),
        (250, 10, 25),
        (255, 10, 25),
    ],
)
def test_quantity_to_lots(quantity: float, lot: float, lots: int) -> None:
    assert quantity_to_lots(quantity, lot) == lots


def test_lots_to_quantity_is_clean() -> None:
    assert lots_to_quantity(167, 0.001) == 0.167
    assert lots_to_quantity(3, 0.1) == 0.3
    assert lots_to_quantity(25, 10) == 250.0


@pytest.mark.parametrize(
    ("quantity", "lot", "fragment"),
    [
        (-1.0, 0.001, "quantity: must be >= 0"),
        (float("nan"), 0.001, "quantity: must be finite"),
        (1.0, 0.0, "lot_size: must be > 0"),
        (1.0, float("inf"), "lot_size: must be finite"),
    ],
)
def test_quantity_to_lots_rejects(quantity: float, lot: float, fragment: str) -> None:
    with pytest.raises(AlgorithmParamsError, match=fragment):
        quantity_to_lots(quantity, lot)


# --- validate_for_order -----------------------------------------------------------------


def test_validate_for_order_accepts() -> None:
    validate_for_order(ExecAlgorithm.TWAP, TwapParams(), 1.0, 0.001)
    validate_for_order("VWAP", VwapParams(), 0.001, 0.001)
    validate_for_order("ICEBERG", IcebergParams(display_quantity=0.05), 1.0, 0.001)
    # a display at or above the quantity simply shows it all at once
    validate_for_order("ICEBERG", IcebergParams(display_quantity=5.0), 1.0, 0.001)
    validate_for_order("NORMAL", NormalParams(), 250, 10)


@pytest.mark.parametrize(
    ("algorithm", "params", "quantity", "lot", "fragment"),
    [
        ("TWAP", TwapParams(), 0.0005, 0.001, "TWAP: quantity: 0.0005 is below one lot (0.001)"),
        ("VWAP", VwapParams(), 5, 10, "VWAP: quantity: 5 is below one lot (10)"),
        ("TWAP", TwapParams(), 0.0, 0.001, "TWAP: quantity: must be > 0"),
        ("TWAP", TwapParams(), -1.0, 0.001, "quantity: must be > 0 (unsigned"),
        ("TWAP", TwapParams(), float("nan"), 0.001, "TWAP: quantity: must be finite"),
        ("TWAP", TwapParams(), 1.0, 0.0, "TWAP: lot_size: must be > 0"),
        (
            "ICEBERG",
            IcebergParams(display_quantity=0.0005),
            1.0,
            0.001,
            "ICEBERG params: display_quantity: must be >= the lot size 0.001, got 0.0005",
        ),
        ("ICEBERG", IcebergParams(display_quantity=1), 0.0001, 0.001, "ICEBERG: quantity"),
        ("TWAP", VwapParams(), 1.0, 0.001, "TWAP: params must be TwapParams, got VwapParams"),
    ],
)
def test_validate_for_order_rejects(
    algorithm: str, params: object, quantity: float, lot: float, fragment: str
) -> None:
    with pytest.raises(AlgorithmParamsError) as info:
        validate_for_order(algorithm, params, quantity, lot)  # type: ignore[arg-type]
    assert fragment in str(info.value)
