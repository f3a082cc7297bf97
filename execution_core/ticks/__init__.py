"""Tick data: schemas, the tick-store layout, converters and windowed loading."""
