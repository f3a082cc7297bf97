"""Deterministic demo data: a day of crypto perpetual ticks on three venues and sparse
strategy signals, in the tick-store and signal contracts (see ``generator``)."""

from execution_core.demo.config import DemoAsset, DemoConfig, DemoInstrument, DemoStrategy
from execution_core.demo.generator import (
    DemoDay,
    DemoInstrumentDay,
    generate_demo_day,
    iter_demo_instruments,
)
from execution_core.demo.market import AssetDay, simulate_asset_day, simulate_instrument_day
from execution_core.demo.signals import generate_signals, generate_strategy_signals

__all__ = [
    "AssetDay",
    "DemoAsset",
    "DemoConfig",
    "DemoDay",
    "DemoInstrument",
    "DemoInstrumentDay",
    "DemoStrategy",
    "generate_demo_day",
    "generate_signals",
    "generate_strategy_signals",
    "iter_demo_instruments",
    "simulate_asset_day",
    "simulate_instrument_day",
]
