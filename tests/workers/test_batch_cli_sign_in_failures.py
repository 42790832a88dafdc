"""``batch --fhir-url`` through the real entry point against a stub server on loopback and an
unresolvable name: a 401 and a DNS failure each give their one sentence and exit 2, fast."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from healthprep_desktop.cli import main

METADATA = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "rest": []}
OUTCOME = {"resourceType": "OperationOutcome"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def refuses_the_token() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            meta = self.path.split("?", 1)[0].endswith("/metadata")
            data = json.dumps(METADATA if meta else OUTCOME).encode()
            self.send_response(200 if meta else 401)
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


def _batch(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, float]:
    started = time.monotonic()
    code = main(["batch", "--fhir-url", url, "--auth", "none", "--all-patients"])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.err.strip().splitlines()[-1], time.monotonic() - started


def test_a_401_says_sign_in_again(
    refuses_the_token: str, healthprep_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said, took = _batch(refuses_the_token, capsys)
    assert (code, said) == (
        2,
        "Cannot run the batch: The EHR did not accept the app's sign-in for Patient (HTTP 401): "
        "sign in again.",
    )
    assert took < 15, took


def test_an_unknown_host_names_dns(
    healthprep_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said, took = _batch("https://ehr.invalid/fhir/R4", capsys)
    assert (code, said) == (
        2,
        "Cannot run the batch: The name ehr.invalid cannot be found (DNS): check the FHIR base "
        "URL for typos, and the network or VPN the clinic needs.",
    )
    assert took < 30, took
