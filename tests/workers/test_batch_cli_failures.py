"""``batch --fhir-url ... --auth none --all-patients`` in a real subprocess against small stub
servers on loopback (issue 13): a web page, a 403, a 500, a refused port, a hung server. Each
gives its one sentence on stderr and exit 2 ("could not run"), never a traceback, in bounded
time; SIGTERM stops a run waiting on a hung server at once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PASSPHRASE = "correct horse battery staple"
METADATA = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "rest": []}
# path -> (status, content type, body); "hang" never answers.
Routes = dict[str, Any]


class _Server(ThreadingHTTPServer):
    daemon_threads = True


def _serve(routes: Routes) -> tuple[_Server, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            answer = routes.get(path, (404, "application/fhir+json", {"resourceType": "x"}))
            if answer == "hang":
                time.sleep(120)
                return
            status, ctype, body = answer
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/fhir"


@pytest.fixture
def stub() -> Iterator[Callable[[Routes], str]]:
    servers: list[_Server] = []

    def start(routes: Routes) -> str:
        httpd, url = _serve(routes)
        servers.append(httpd)
        return url

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _command(url: str) -> list[str]:
    return [
        sys.executable, "-m", "healthprep_desktop", "batch", "--fhir-url", url,
        "--auth", "none", "--all-patients", "--passphrase-stdin",
    ]  # fmt: skip


def _batch(
    url: str, home: Path, timeout: float = 90
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = dict(os.environ, HEALTHPREP_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    started = time.monotonic()
    result = subprocess.run(
        _command(url), input=PASSPHRASE + "\n", capture_output=True, text=True, env=env,
        timeout=timeout,
    )  # fmt: skip
    return result, time.monotonic() - started


def _assert_could_not_run(result: subprocess.CompletedProcess[str], sentence: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    assert sentence in result.stderr, output


def test_a_web_page_is_named_as_such(stub: Callable[[Routes], str], healthprep_home: Path) -> None:
    page = (200, "text/html", b"<!DOCTYPE html><html><body>Portal login</body></html>")
    url = stub({"/fhir/metadata": page, "/fhir/Patient": page})
    result, _ = _batch(url, healthprep_home)
    _assert_could_not_run(
        result,
        "answers with a web page, not a FHIR API: check that the URL is the FHIR base, often "
        "ending in /fhir or /R4",
    )


def test_a_403_on_patient_names_the_scope(
    stub: Callable[[Routes], str], healthprep_home: Path
) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"code": "forbidden"}]}
    url = stub(
        {
            "/fhir/metadata": (200, "application/fhir+json", METADATA),
            "/fhir/Patient": (403, "application/fhir+json", outcome),
        }
    )
    result, _ = _batch(url, healthprep_home)
    _assert_could_not_run(result, "The EHR refused to search Patient (HTTP 403, scope denied)")
    assert "user/Patient.read" in result.stderr


def test_a_500_names_the_server(stub: Callable[[Routes], str], healthprep_home: Path) -> None:
    url = stub(
        {
            "/fhir/metadata": (200, "application/fhir+json", METADATA),
            "/fhir/Patient": (500, "text/plain", b"boom"),
        }
    )
    result, _ = _batch(url, healthprep_home)
    _assert_could_not_run(result, "The FHIR server 127.0.0.1 failed with HTTP 500 on GET Patient")


def test_a_refused_port_fails_fast(healthprep_home: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result, took = _batch(f"http://127.0.0.1:{port}/fhir", healthprep_home)
    _assert_could_not_run(result, "127.0.0.1 refused the connection: check the port in the URL")
    assert took < 20, took


@pytest.mark.slow
def test_a_hung_server_fails_within_a_minute(
    stub: Callable[[Routes], str], healthprep_home: Path
) -> None:
    url = stub(
        {"/fhir/metadata": (200, "application/fhir+json", METADATA), "/fhir/Patient": "hang"}
    )
    result, took = _batch(url, healthprep_home)
    _assert_could_not_run(result, "127.0.0.1 did not answer within 30 s")
    assert took < 60, took


def test_sigterm_stops_a_run_waiting_on_a_hung_server_at_once(
    stub: Callable[[Routes], str], healthprep_home: Path
) -> None:
    url = stub(
        {"/fhir/metadata": (200, "application/fhir+json", METADATA), "/fhir/Patient": "hang"}
    )
    env = dict(os.environ, HEALTHPREP_HOME=str(healthprep_home), QT_QPA_PLATFORM="offscreen")
    with subprocess.Popen(
        _command(url), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    ) as proc:  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write(PASSPHRASE + "\n")
        proc.stdin.close()
        time.sleep(6)  # store opened, pre-flight waiting on the hung Patient search
        assert proc.poll() is None
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        took = time.monotonic() - sent
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
    assert proc.returncode == 3, out + err
    assert "Traceback" not in out + err
    assert took < 5, took
