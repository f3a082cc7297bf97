"""A stand-in for the daemon's HTTP API: ``GET /api/health`` and
``POST /api/reconciliation/run`` answer whatever the test set, and record the requests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "fake-token-1234"


class FakeDaemon:
    def __init__(self) -> None:
        self.health: dict[str, Any] = {"status": "ok", "instance": {"instance_id": "i-1"}}
        self.health_status = 200
        self.reconciliation: dict[str, Any] = {}
        self.reconciliation_status = 200
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, authorization
        daemon = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                daemon.requests.append(("GET", self.path, self.headers.get("Authorization")))
                if self.path == "/api/health":
                    self._answer(daemon.health_status, daemon.health)
                else:
                    self._answer(404, {"detail": "not found"})

            def do_POST(self) -> None:
                auth = self.headers.get("Authorization")
                daemon.requests.append(("POST", self.path, auth))
                if self.path != "/api/reconciliation/run":
                    self._answer(404, {"detail": "not found"})
                elif auth != f"Bearer {TOKEN}":
                    self._answer(401, {"detail": "missing or invalid bearer token"})
                else:
                    self._answer(daemon.reconciliation_status, daemon.reconciliation)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeDaemon:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
