"""Where connection secrets live: the keyring or the encrypted store, never a plain file."""

from __future__ import annotations

import contextlib
import json
from typing import Protocol

from healthprep_desktop.fhir.oauth import BackendKey, generate_backend_key

KEYRING_SERVICE = "healthprep-desktop"


class SecretStore(Protocol):
    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


class MemorySecrets:
    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


class KeyringSecrets:
    """Secrets in the OS keyring (Windows Credential Manager, macOS Keychain, Secret Service)."""

    def __init__(self, service: str = KEYRING_SERVICE) -> None:
        self.service = service

    def get(self, name: str) -> str | None:
        import keyring

        return keyring.get_password(self.service, name)

    def set(self, name: str, value: str) -> None:
        import keyring

        keyring.set_password(self.service, name, value)

    def delete(self, name: str) -> None:
        import keyring
        from keyring.errors import PasswordDeleteError

        with contextlib.suppress(PasswordDeleteError):
            keyring.delete_password(self.service, name)


def load_backend_key(secrets: SecretStore, name: str) -> BackendKey | None:
    raw = secrets.get(name)
    if not raw:
        return None
    data = json.loads(raw)
    return BackendKey(algorithm=data["alg"], kid=data["kid"], private_pem=data["pem"].encode())


def ensure_backend_key(secrets: SecretStore, name: str, algorithm: str = "RS384") -> BackendKey:
    """The connection's backend-services key, generated (and kept in `secrets`) on first use."""
    key = load_backend_key(secrets, name)
    if key is not None and key.algorithm == algorithm:
        return key
    key = generate_backend_key(algorithm)
    secrets.set(
        name, json.dumps({"alg": key.algorithm, "kid": key.kid, "pem": key.private_pem.decode()})
    )
    return key
