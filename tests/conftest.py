"""Test-wide setup: offscreen Qt, an isolated HEALTHPREP_HOME, and an in-memory keyring.

The in-memory keyring is a real keyring backend class (keyring's own API), not a mock of our
code: the store talks to it exactly as it talks to Windows Credential Manager or the macOS
Keychain. One integration test (tests/store/test_keyring_secret_service.py) uses a real Secret
Service instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# Must be set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import keyring
import keyring.backend
import pytest
from keyring.errors import PasswordDeleteError


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError as exc:
            raise PasswordDeleteError(username) from exc


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def healthprep_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "healthprep-home"
    monkeypatch.setenv("HEALTHPREP_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the checkout: value sets, measure specifications, Synthea patients."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "shared", here / "shared"):
        if candidate.is_dir():
            return candidate
    pytest.fail("../shared (value sets, measures, Synthea patients) is missing beside the checkout")
