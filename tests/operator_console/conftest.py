"""Fixtures for the console's tests: a results store in ``tmp_path`` (runs committed to it
with :mod:`tests.operator_console.backtest_store`), a tiny HTTP server standing in for the
daemon or Dagster, and the console app on them (a TestClient, its lifespan running)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from execution_core.stores import LocalObjectStore
from operator_console.app import create_app
from operator_console.settings import ConsoleSettings


@pytest.fixture
def results_store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "results")


@dataclass
class StubServer:
    """A real HTTP server on 127.0.0.1 whose answers a test sets: ``routes[path] =
    (status, json_body)``; every request it got is in ``requests``."""

    routes: dict[str, tuple[int, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


def _handler(stub: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            path, _, query = self.path.partition("?")
            stub.requests.append({
                "method": self.command, "path": path, "query": query,
                "body": self.rfile.read(length).decode(),
                "authorization": self.headers.get("Authorization"),
            })  # fmt: skip
            status, body = stub.routes.get(path, (404, {"detail": f"stub: no {path}"}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


@pytest.fixture
def stub_server() -> Iterator[Callable[[], StubServer]]:
    servers: list[ThreadingHTTPServer] = []

    def start() -> StubServer:
        stub = StubServer()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
        stub.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return stub

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def unreachable_url() -> str:
    """A URL nobody listens on (a port just freed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def console(tmp_path: Path, results_store: LocalObjectStore) -> Iterator[Callable[..., TestClient]]:
    """``console(**settings)``: a TestClient on the app (its lifespan running) with the
    results store above, an unreachable daemon and Dagster unless told otherwise."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        values: dict[str, Any] = {
            "results_store_url": results_store.url,
            "daemon_url": unreachable_url(),
            "dagster_url": unreachable_url(),
            "ui_dir": tmp_path / "no-ui",
            "probe_timeout_s": 2.0,
        }
        client = TestClient(create_app(ConsoleSettings(**(values | overrides))))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
