"""Backtests: the NautilusTrader run over the day's windows, and the uploaded results."""
