"""The API's OpenAPI description against what the server really sends, checked by a
schema-driven fuzzer (schemathesis): every operation, with generated valid and invalid
inputs, must answer a documented status code with a body and headers that match the
description, and never a 5xx.

Finding: ``GET``/``DELETE /api/orders/{operation_id}`` declared FastAPI's default 422 body
while the server sends the project's own (``detail`` a string, plus ``errors``); a
schema-driven client flagged it. Every route now declares the project's 422.

The service behind the API is the in-memory :class:`FakeOrderService` (the API layer is
what is described); the daemon's own behaviour is tested end to end elsewhere.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from live_daemon.api.app import create_app
from tests.live_daemon.api.fakes import TOKEN, FakeOrderService

schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(FakeOrderService(), token=TOKEN)
)

# What "the description matches every response" means; Starlette's generic 405 for
# methods no route has (its Allow header) is not part of the described API.
CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_response_matches_the_description(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CONFORMANCE)
