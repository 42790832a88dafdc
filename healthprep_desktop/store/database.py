"""One SQLCipher connection, one lock: the store's only door to SQL.

Threading rule: the store is synchronous and every call holds ``Database.lock`` (an RLock) for
its whole duration, so calls from several threads (the async pipeline uses an executor)
serialise on one connection. Multi-statement work runs inside ``transaction()``, which holds the
lock from BEGIN to COMMIT. Simple beats clever here: each call is short, and SQLite has a single
writer anyway.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlcipher3

from healthprep_desktop.store.errors import WrongKeyError
from healthprep_desktop.store.keys import DatabaseKey

SqlParams = Sequence[Any]


class Database:
    def __init__(self, connection: Any, path: Path, key: DatabaseKey) -> None:
        self._connection = connection
        self.path = path
        self.lock = threading.RLock()
        self._key_is_passphrase = key.is_passphrase
        self._depth = 0  # nesting of transaction(): only the outermost one commits

    @classmethod
    def open(cls, path: Path, key: DatabaseKey) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so nothing commits behind our back.
        connection = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            # Before the key: silence SQLCipher's "hmac check failed" noise on a wrong key.
            connection.execute("PRAGMA cipher_log_level = NONE")
            connection.execute(f"PRAGMA key = {key.pragma_literal()}")
            # Pin SQLCipher 4's settings (PBKDF2-HMAC-SHA512, 256,000 iterations, 4 KiB pages),
            # so a later SQLCipher with new defaults still opens today's files.
            connection.execute("PRAGMA cipher_compatibility = 4")
            try:
                # The first read is where a wrong key shows ("file is not a database").
                connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlcipher3.DatabaseError:
                raise WrongKeyError(passphrase=key.is_passphrase) from None
            connection.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable across application crashes in WAL mode and much faster than FULL.
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("PRAGMA busy_timeout = 5000")
            connection.row_factory = sqlcipher3.Row
        except BaseException:
            connection.close()
            raise
        _restrict_permissions(path)
        return cls(connection, path, key)

    @property
    def key_is_passphrase(self) -> bool:
        return self._key_is_passphrase

    @property
    def transaction_depth(self) -> int:
        """How deeply transaction() calls nest (0: none); meaningful to the lock's holder."""
        return self._depth

    def close(self) -> None:
        with self.lock:
            self._connection.close()

    def execute(self, sql: str, params: SqlParams = ()) -> Any:
        with self.lock:
            return self._connection.execute(sql, params)

    def query(self, sql: str, params: SqlParams = ()) -> list[Any]:
        with self.lock:
            return list(self._connection.execute(sql, params).fetchall())

    def query_one(self, sql: str, params: SqlParams = ()) -> Any:
        with self.lock:
            return self._connection.execute(sql, params).fetchone()

    def executemany(self, sql: str, rows: Sequence[SqlParams]) -> None:
        with self.lock:
            self._connection.executemany(sql, rows)

    def executescript(self, script: str) -> None:
        with self.lock:
            self._connection.executescript(script)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); nested calls use savepoints."""
        with self.lock:
            if self._depth:
                # Nested: a savepoint, so an inner failure the caller catches undoes only itself.
                name = f"sp{self._depth}"
                self._connection.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield self
                except BaseException:
                    self._connection.execute(f"ROLLBACK TO {name}")
                    self._connection.execute(f"RELEASE {name}")
                    raise
                finally:
                    self._depth -= 1
                self._connection.execute(f"RELEASE {name}")
                return
            # IMMEDIATE takes the write lock up front, so read-then-write (the audit head) is
            # atomic even against another process (the CLI beside the GUI).
            self._connection.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._connection.execute("ROLLBACK")
                raise
            self._depth = 0
            try:
                self._connection.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full, busy) leaves the transaction open; close it.
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise

    def rekey(self, key: DatabaseKey) -> None:
        with self.lock:
            self._connection.execute(f"PRAGMA rekey = {key.pragma_literal()}")
            self._key_is_passphrase = key.is_passphrase

    def table_columns(self, table: str) -> list[str]:
        with self.lock:
            rows = self._connection.execute(
                "SELECT name FROM pragma_table_info(?)", (table,)
            ).fetchall()
        return [row[0] for row in rows]


def _restrict_permissions(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        # Absent (-wal before the first write) or a filesystem without modes: nothing to do.
        with contextlib.suppress(OSError):
            candidate.chmod(0o600)
