"""Opening the store: keyring key, passphrase, wrong keys, refused keyrings, key changes."""

from __future__ import annotations

import sqlite3
import stat
import types
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import pytest

from healthprep_desktop import paths
from healthprep_desktop.store import (
    AuditAction,
    KeyringUnavailableError,
    PassphraseRequiredError,
    SchemaTooNewError,
    Store,
    StoreNotFoundError,
    WrongKeyError,
)
from healthprep_desktop.store.database import Database
from healthprep_desktop.store.keys import KEYRING_SERVICE, DatabaseKey, keyring_username

# The in-memory backend of tests/conftest.py (conftest modules are not importable by name).
MemoryKeyring = Any

TOKEN = "tok-SENTINEL-8c1f2e9a7b"
PATIENT_NAME = "Quimbyella Zanzibarova"


def _stored_key(backend: MemoryKeyring) -> str:
    return str(backend.entries[(KEYRING_SERVICE, keyring_username(paths.database_path()))])


def test_first_open_makes_a_random_raw_key_in_the_keyring(memory_keyring: MemoryKeyring) -> None:
    with Store.open() as store:
        assert store.schema_version >= 3
        assert not store.uses_passphrase
    key = _stored_key(memory_keyring)
    assert len(key) == 64 and int(key, 16) >= 0
    with Store.open() as store:  # reopens with the kept key
        assert store.tenants() == []


def test_two_databases_get_two_keys(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    Store.open(tmp_path / "a.db").close()
    Store.open(tmp_path / "b.db").close()
    keys = {v for (service, _), v in memory_keyring.entries.items() if service == KEYRING_SERVICE}
    assert len(keys) == 2


def test_wrong_key_is_a_clear_typed_error(memory_keyring: MemoryKeyring) -> None:
    Store.open().close()
    username = keyring_username(paths.database_path())
    wrong = DatabaseKey.random().secret
    memory_keyring.entries[(KEYRING_SERVICE, username)] = wrong
    with pytest.raises(WrongKeyError) as caught:
        Store.open()
    message = str(caught.value)
    assert "keyring" in message and "backup" in message
    assert wrong not in message and "Traceback" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_wrong_passphrase_is_a_clear_typed_error() -> None:
    Store.open(passphrase="correct horse battery").close()
    with pytest.raises(WrongKeyError) as caught:
        Store.open(passphrase="correct horse batterx")
    assert caught.value.passphrase
    assert "passphrase does not open" in str(caught.value)
    assert "batter" not in str(caught.value)
    with Store.open(passphrase="correct horse battery") as store:
        assert store.uses_passphrase


def test_passphrase_with_quotes_round_trips() -> None:
    phrase = "it's \"quoted\" ' -- ; x'00'"
    Store.open(passphrase=phrase).close()
    Store.open(passphrase=phrase).close()
    with pytest.raises(WrongKeyError):
        Store.open(passphrase="it's")


def test_no_keyring_backend_offers_the_passphrase_path() -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(KeyringUnavailableError) as caught:
        Store.open()
    assert "passphrase" in str(caught.value)
    assert not paths.database_path().exists()  # nothing was created with an unkept key
    # The passphrase path works without any keyring, and keeps working.
    with Store.open(passphrase="a long clinic passphrase") as store:
        store.create_tenant("Clinic")
    with Store.open(passphrase="a long clinic passphrase") as store:
        assert [t.name for t in store.tenants()] == ["Clinic"]


def test_existing_passphrase_database_asks_for_the_passphrase() -> None:
    Store.open(passphrase="pass phrase one").close()
    with pytest.raises(PassphraseRequiredError):
        Store.open()  # a keyring works, but holds no key for this database


class _DictKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


def _backend_from(module: str) -> keyring.backend.KeyringBackend:
    """A working backend class that claims to live in ``module`` (the rule is by module)."""
    cls = types.new_class("PlaintextKeyring", (_DictKeyring,))
    cls.__module__ = module
    backend: keyring.backend.KeyringBackend = cls()
    return backend


def _chainer(*members: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
    # keyring's chainer discovers every backend class loaded; pin its members instead.
    cls = types.new_class("PinnedChainer", (keyring.backends.chainer.ChainerBackend,))
    cls.backends = list(members)
    chainer: keyring.backend.KeyringBackend = cls()
    return chainer


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param(lambda: keyring.backends.fail.Keyring(), id="fail"),
        pytest.param(lambda: keyring.backends.null.Keyring(), id="null"),
        pytest.param(lambda: _backend_from("keyrings.alt.file"), id="keyrings.alt-plaintext"),
        pytest.param(lambda: _chainer(), id="empty-chainer"),
        pytest.param(
            lambda: _chainer(_DictKeyring(), _backend_from("keyrings.alt.file")),
            id="chainer-with-a-plaintext-member",
        ),
    ],
)
def test_insecure_or_missing_keyrings_are_refused(backend: object) -> None:
    instance = backend()  # type: ignore[operator]
    keyring.set_keyring(instance)
    with pytest.raises(KeyringUnavailableError):
        Store.open()
    for member in [instance, *getattr(instance, "backends", [])]:
        assert getattr(member, "entries", {}) == {}  # the key was never written anywhere


def test_a_keyring_that_drops_writes_is_refused() -> None:
    class Forgetful(_DictKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            return None

    keyring.set_keyring(Forgetful())
    with pytest.raises(KeyringUnavailableError, match="did not keep"):
        Store.open()


def test_missing_database_with_create_false() -> None:
    with pytest.raises(StoreNotFoundError):
        Store.open(create=False)


def test_schema_newer_than_the_app_is_refused(memory_keyring: MemoryKeyring) -> None:
    Store.open().close()
    key = DatabaseKey.raw(_stored_key(memory_keyring))
    db = Database.open(paths.database_path(), key)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(SchemaTooNewError, match="newer"):
        Store.open()


def test_change_key_round_trips_and_is_audited(memory_keyring: MemoryKeyring) -> None:
    with Store.open() as store:
        store.create_tenant("Clinic")
        old = _stored_key(memory_keyring)
        store.change_key()
        new = _stored_key(memory_keyring)
        assert new != old
    with Store.open() as store:  # the new keyring key opens it
        store.change_key(passphrase="moved to a passphrase")
    assert (KEYRING_SERVICE, keyring_username(paths.database_path())) not in memory_keyring.entries
    with pytest.raises(PassphraseRequiredError):
        Store.open()
    with Store.open(passphrase="moved to a passphrase") as store:
        store.change_key()  # back to a keyring key
    with Store.open() as store:
        assert [t.name for t in store.tenants()] == ["Clinic"]
        changes = [e for e in store.audit.entries() if e.action == AuditAction.KEY_CHANGE]
        assert [e.outcome for e in changes] == ["success"] * 3
        assert store.audit.verify().ok
    # The old raw key no longer opens the file.
    db_key = DatabaseKey.raw(old)
    with pytest.raises(WrongKeyError):
        Database.open(paths.database_path(), db_key)


def test_failed_key_change_keeps_the_old_key(memory_keyring: MemoryKeyring) -> None:
    with Store.open() as store:
        store.create_tenant("Clinic")
        old = _stored_key(memory_keyring)

        def refuse(service: str, username: str, password: str) -> None:
            raise keyring.errors.KeyringLocked("locked")

        memory_keyring.set_password = refuse  # type: ignore[method-assign]
        with pytest.raises(KeyringUnavailableError):
            store.change_key()
        assert _stored_key(memory_keyring) == old
        failures = [e for e in store.audit.entries() if e.action == AuditAction.KEY_CHANGE]
        assert [e.outcome for e in failures] == ["failure"]
    with Store.open() as store:  # still opens with the old key
        assert len(store.tenants()) == 1


def test_file_is_encrypted_and_holds_no_plaintext_secrets() -> None:
    from datetime import date

    path = paths.database_path()
    with Store.open() as store:
        tenant = store.tenant(store.create_tenant("Clinic").id)
        conn = tenant.connections.add("Epic", "epic", "https://ehr.example/fhir")
        tenant.secrets.put(conn.id, "refresh_token", TOKEN)
        tenant.text_cache.put("h1", f"Patient: {PATIENT_NAME}. Colonoscopy normal.", "ocr")
        tenant.sheets.save(
            "p1", date(2025, 1, 6), f"%PDF {PATIENT_NAME}".encode(), [{"name": PATIENT_NAME}]
        )
        # Checked while open, so recent writes still sit in the -wal file.
        files = [p for p in (path, path.with_name(path.name + "-wal")) if p.exists()]
        assert len(files) == 2
        for file in files:
            data = file.read_bytes()
            assert TOKEN.encode() not in data
            assert PATIENT_NAME.encode() not in data
            assert PATIENT_NAME.encode("utf-16-le") not in data
            assert b"SQLite format 3" not in data[:16]
            assert stat.S_IMODE(file.stat().st_mode) == 0o600
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall()
