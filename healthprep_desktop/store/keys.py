"""The database key: a random 256-bit raw key kept in the OS keyring, or a user passphrase.

A raw key (``PRAGMA key = "x'<hex>'"``) skips SQLCipher's KDF, so opening costs milliseconds;
a random 256-bit key needs no stretching. A passphrase goes through SQLCipher 4's own KDF
(PBKDF2-HMAC-SHA512, 256,000 iterations), about 0.1 s per open here.

The keyring must be a real OS store. ``keyring.backends.fail`` (headless Linux) and the
``keyrings.alt`` backends (plaintext or weakly protected files, which silently become the default
once that package is installed) are refused: a key in a plaintext file would defeat the
encryption.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors

from healthprep_desktop import APP_NAME
from healthprep_desktop.store.errors import KeyringUnavailableError

KEYRING_SERVICE = APP_NAME  # "HealthPrep Desktop"
RAW_KEY_BYTES = 32

# Backends that exist to fail, store nothing, or store secrets in files we do not trust.
_REFUSED_MODULE_PREFIXES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


@dataclass(frozen=True, slots=True)
class DatabaseKey:
    """A key as SQLCipher takes it. ``repr`` never shows the secret."""

    secret: str = field(repr=False)
    is_passphrase: bool

    @classmethod
    def random(cls) -> DatabaseKey:
        return cls(secrets.token_hex(RAW_KEY_BYTES), is_passphrase=False)

    @classmethod
    def passphrase(cls, text: str) -> DatabaseKey:
        if not text:
            raise ValueError("the passphrase is empty")
        if "\x00" in text:
            raise ValueError("the passphrase contains a NUL character")
        return cls(text, is_passphrase=True)

    @classmethod
    def raw(cls, hex_key: str) -> DatabaseKey:
        if len(hex_key) != RAW_KEY_BYTES * 2 or any(c not in "0123456789abcdef" for c in hex_key):
            raise ValueError("a raw database key is 64 lower-case hex digits")
        return cls(hex_key, is_passphrase=False)

    def pragma_literal(self) -> str:
        """The right-hand side of ``PRAGMA key`` / ``PRAGMA rekey``.

        PRAGMA takes no bound parameters, so the passphrase is quoted as an SQL string literal
        (single quotes doubled); a raw key is only ever hex digits.
        """
        if self.is_passphrase:
            return "'" + self.secret.replace("'", "''") + "'"
        return f"\"x'{self.secret}'\""


def keyring_username(database: Path) -> str:
    # One entry per database file, so two profiles (HEALTHPREP_HOME) never share or clobber keys.
    return f"database-key:{database.resolve()}"


def usable_keyring() -> keyring.backend.KeyringBackend:
    """The active keyring backend, or KeyringUnavailableError if it cannot keep a secret safely."""
    backend = keyring.get_keyring()
    leaves = _leaf_backends(backend)
    trusted = [b for b in leaves if not _refused(b)]
    if not trusted:
        names = ", ".join(_backend_name(b) for b in leaves) or _backend_name(backend)
        raise KeyringUnavailableError(f"keyring backend: {names}")
    if any(_refused(b) for b in leaves):
        # A chainer mixing a real store with a plaintext one could write the key to the latter.
        names = ", ".join(_backend_name(b) for b in leaves if _refused(b))
        raise KeyringUnavailableError(f"an insecure keyring backend is installed: {names}")
    return backend


def load_key(database: Path) -> DatabaseKey | None:
    backend = usable_keyring()
    try:
        stored = backend.get_password(KEYRING_SERVICE, keyring_username(database))
    except Exception as exc:  # any backend failure (dbus, locked, denied) means unusable
        raise KeyringUnavailableError(f"the keyring refused a read: {type(exc).__name__}") from None
    if stored is None:
        return None
    try:
        return DatabaseKey.raw(stored)
    except ValueError:
        # Never echo what was stored: it may be someone's secret.
        raise KeyringUnavailableError("the keyring entry for the database is malformed") from None


def save_key(database: Path, key: DatabaseKey) -> None:
    if key.is_passphrase:
        raise ValueError("a passphrase is never kept in the keyring")
    backend = usable_keyring()
    username = keyring_username(database)
    try:
        backend.set_password(KEYRING_SERVICE, username, key.secret)
        read_back = backend.get_password(KEYRING_SERVICE, username)
    except Exception as exc:  # any backend failure (dbus, locked, denied) means unusable
        raise KeyringUnavailableError(
            f"the keyring refused a write: {type(exc).__name__}"
        ) from None
    if read_back != key.secret:
        # Some backends accept a write and keep nothing; a key we cannot read back is a lost DB.
        raise KeyringUnavailableError("the keyring did not keep the database key")


def delete_key(database: Path) -> None:
    backend = usable_keyring()
    try:
        backend.delete_password(KEYRING_SERVICE, keyring_username(database))
    except keyring.errors.PasswordDeleteError:
        pass  # nothing to delete
    except Exception as exc:  # any backend failure (dbus, locked, denied) means unusable
        raise KeyringUnavailableError(
            f"the keyring refused a delete: {type(exc).__name__}"
        ) from None


def _leaf_backends(
    backend: keyring.backend.KeyringBackend,
) -> list[keyring.backend.KeyringBackend]:
    inner = getattr(backend, "backends", None)  # keyring.backends.chainer.ChainerBackend
    if isinstance(inner, list | tuple):
        return [leaf for b in inner for leaf in _leaf_backends(b)]
    return [backend]


def _refused(backend: keyring.backend.KeyringBackend) -> bool:
    module = type(backend).__module__
    return module.startswith(_REFUSED_MODULE_PREFIXES)


def _backend_name(backend: keyring.backend.KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"
