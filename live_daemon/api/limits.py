"""The API's size limits, one definition each."""

MAX_BODY_BYTES = 64 * 1024  # a request body over this is a plain-text 413
DEFAULT_LIST_LIMIT = 100
MAX_LIST_LIMIT = 1000
DEFAULT_LOG_LIMIT = 200
