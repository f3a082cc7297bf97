"""The API's routes, one router per resource: ``orders``, ``positions``, ``logs``,
``reconciliation`` (all behind the bearer token) and ``monitoring`` (health and metrics,
open). Each route takes what it needs as injected dependencies (:mod:`..deps`)."""
