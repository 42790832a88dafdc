"""``batch`` in a real subprocess against a stub server whose first Patient search answers
after 6 s (within the request budget): the terminal says "waiting for the server (N s)"
meanwhile, then the run goes on (issue 13 item 2: a sign of life while the server is slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PASSPHRASE = "correct horse battery staple"
METADATA = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "rest": []}
EMPTY = {"resourceType": "Bundle", "type": "searchset", "total": 0}


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def slow_first_search() -> Iterator[str]:
    searches: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            body: dict[str, Any] = METADATA if path.endswith("/metadata") else EMPTY
            if path.endswith("/Patient"):
                searches.append(time.monotonic())
                if len(searches) == 1:
                    time.sleep(6.5)
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_slow_server_shows_waiting_for_the_server(
    slow_first_search: str, healthprep_home: Path
) -> None:
    env = dict(os.environ, HEALTHPREP_HOME=str(healthprep_home), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-m", "healthprep_desktop", "batch", "--fhir-url", slow_first_search,
         "--auth", "none", "--all-patients", "--passphrase-stdin"],
        input=PASSPHRASE + "\n", capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    # Not a terminal: one line when the wait reaches 5 s (and every 10 s after).
    waits = [line for line in result.stderr.splitlines() if line.startswith("waiting for")]
    assert waits in (["waiting for the server (5 s)"], ["waiting for the server (6 s)"]), output
    assert result.returncode == 0, output
