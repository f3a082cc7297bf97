"""One router per resource: ``status`` (service detection), ``backtests`` (the results
store), ``daemon`` (the live daemon's API, forwarded)."""
