"""Shared by the fhir tests (imported by name: tests/ folders are not packages).

Fixtures for the fhir tests: a tiny real HTTP server on loopback for generic client
behaviours (the embedded sandbox covers SMART and FHIR semantics in tests/fhir/integration)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# A route answers (status, headers, body). body: dict/list -> JSON, bytes -> as is.
Answer = tuple[int, dict[str, str], Any]
Route = Callable[["Seen"], Answer]


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LoopbackServer:
    url: str
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def route(self, path: str) -> Callable[[Route], Route]:
        def register(fn: Route) -> Route:
            self.routes[path] = fn
            return fn

        return register

    def hits(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 stalls 50 parallel connections for a second.
    request_queue_size = 128
    daemon_threads = True


def _handler(state: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, parts.path, parts.query, dict(self.headers), body)
            with state.lock:
                state.seen.append(seen)
                state.in_flight += 1
                state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                route = state.routes.get(parts.path)
                answer: Answer = (404, {}, {"resourceType": "OperationOutcome"})
                if route is not None:
                    answer = route(seen)
                status, headers, payload = answer
            finally:
                with state.lock:
                    state.in_flight -= 1
            if isinstance(payload, bytes):
                data = payload
                headers.setdefault("Content-Type", "application/octet-stream")
            else:
                data = json.dumps(payload).encode()
                headers.setdefault("Content-Type", "application/fhir+json")
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler
