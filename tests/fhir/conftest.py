"""Fixtures for the fhir tests: a stdlib HTTP server on loopback (see fhir_support.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fhir_support import LoopbackServer, _handler, _Server


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    state = LoopbackServer(url="")
    httpd = _Server(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
