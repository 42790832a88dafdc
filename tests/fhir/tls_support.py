"""A FHIR-ish HTTPS server on loopback with a throwaway CA (trustme), and a recording forward
proxy (CONNECT tunnels and absolute-form plain HTTP), both real sockets in threads."""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

PATIENT = {"resourceType": "Patient", "id": "1", "gender": "female", "birthDate": "1960-01-01"}
METADATA = {"resourceType": "CapabilityStatement", "status": "active", "fhirVersion": "4.0.1"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("http"):  # absolute form (sent to a proxy): keep the path only
            path = "/" + path.split("/", 3)[3]
        body = METADATA if path.endswith("/metadata") else PATIENT
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed handshakes are what several tests are about


@dataclass
class TlsServer:
    url: str  # https://localhost:<port>/fhir
    port: int
    ca: trustme.CA
    ca_file: Path


@contextlib.contextmanager
def serve(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def tls_server(
    tmp: Path, *identities: str, ca_name: str = "Clinic Root CA", **cert_options: Any
) -> Iterator[TlsServer]:
    """An HTTPS server whose certificate a fresh private CA issued for `identities`."""
    ca = trustme.CA(organization_name="Clinic", organization_unit_name=ca_name)
    leaf = ca.issue_cert(*(identities or ("localhost", "127.0.0.1")), **cert_options)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(ctx)
    httpd = _Quiet(("127.0.0.1", 0), _Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    ca_file = tmp / "clinic-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with serve(httpd):
        yield TlsServer(f"https://localhost:{port}/fhir", port, ca, ca_file)


@dataclass
class RecordingProxy:
    url: str
    seen: list[str] = field(default_factory=list)  # "CONNECT host:port", "GET http://..."


def _pipe(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 10)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return


@contextlib.contextmanager
def forward_proxy() -> Iterator[RecordingProxy]:
    """A minimal HTTP proxy: CONNECT opens a tunnel, an absolute-form request is forwarded."""
    state = RecordingProxy(url="")

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_CONNECT(self) -> None:
            state.seen.append(f"CONNECT {self.path}")
            host, port = self.path.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)), timeout=10)
            self.send_response(200, "Connection established")
            self.end_headers()
            _pipe(self.connection, upstream)
            upstream.close()
            self.close_connection = True

        def do_GET(self) -> None:
            state.seen.append(f"GET {self.path}")
            target = urllib.parse.urlsplit(self.path)
            conn = http.client.HTTPConnection(
                target.hostname or "127.0.0.1", target.port, timeout=10
            )
            conn.request("GET", target.path or "/")
            answer = conn.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.getheader("Content-Type") or "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

    httpd = _Quiet(("127.0.0.1", 0), Proxy)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    with serve(httpd):
        yield state


@contextlib.contextmanager
def plain_server() -> Iterator[str]:
    """A plain-HTTP FHIR-ish server on loopback; yields its base URL."""
    httpd = _Quiet(("127.0.0.1", 0), _Handler)
    with serve(httpd):
        yield f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
