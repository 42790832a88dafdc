"""Sandbox test fixtures: servers over the tiny clinic and over the Synthea bundles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_smart import KeyPair, SandboxFactory, key_pair, tiny_config

from healthprep_desktop.sandbox import SandboxServer, synthea_config


@pytest.fixture(scope="session")
def keys() -> dict[str, KeyPair]:
    return {"RS384": key_pair("RS384"), "ES384": key_pair("ES384")}


@pytest.fixture
def make_sandbox(keys: dict[str, KeyPair]) -> Iterator[SandboxFactory]:
    """Start a fresh tiny-clinic sandbox (stopped at the end of the test)."""
    started: list[SandboxServer] = []

    def make(*orgs: str, **options: Any) -> SandboxServer:
        server = SandboxServer(tiny_config(keys, *orgs, **options)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def tiny(keys: dict[str, KeyPair]) -> Iterator[SandboxServer]:
    """A shared tiny-clinic sandbox for tests that do not change its settings."""
    with SandboxServer(tiny_config(keys)) as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0) as client:
        yield client


@pytest.fixture(scope="session")
def synthea_dir(shared_dir: Path) -> Path:
    return shared_dir / "synthea" / "bundles"


@pytest.fixture(scope="session")
def synthea_sandbox(synthea_dir: Path) -> Iterator[SandboxServer]:
    """The 128 Synthea patients imported into one organization (loaded once per session)."""
    with SandboxServer(synthea_config(synthea_dir)) as server:
        yield server
