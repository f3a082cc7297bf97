"""The backtest runner around NautilusTrader's BacktestEngine (pipelines side only)."""
