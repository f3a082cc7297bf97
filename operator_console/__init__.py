"""The operator console: one web server for the browser UI (``ui/``, built to static files),
the backtest results in the results store, the detection of the services that are up, and
the live daemon's REST API forwarded as it is. It reaches the daemon and Dagster over HTTP
only (the import rules in docs/ARCHITECTURE.md)."""
