"""Store fixtures. The top-level conftest already gives each test its own HEALTHPREP_HOME and an
in-memory keyring, so ``Store.open()`` here is the real first-run path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from healthprep_desktop.store import Store
from healthprep_desktop.store.database import Database
from healthprep_desktop.store.keys import KEYRING_SERVICE, DatabaseKey, keyring_username


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store.open()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def tamper(store: Store, memory_keyring: Any) -> Callable[[str], None]:
    """Run SQL on the store's file through a second connection, as someone holding the key
    would: the append-only triggers are dropped first."""

    def run(sql: str) -> None:
        key = memory_keyring.entries[(KEYRING_SERVICE, keyring_username(store.path))]
        db = Database.open(store.path, DatabaseKey.raw(key))
        try:
            db.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
            db.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
            db.executescript(sql)
        finally:
            db.close()

    return run
