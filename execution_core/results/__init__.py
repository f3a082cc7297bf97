"""Backtest result files: schemas (ARCHITECTURE.md "Backtest results") and builders."""
