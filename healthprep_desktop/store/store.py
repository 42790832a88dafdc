"""The encrypted store: open (key from the keyring or a passphrase), migrate, hand out scopes.

Usage::

    with Store.open() as store:                 # the key comes from the OS keyring
        clinic = store.create_tenant("Main Street Clinic")
        scope = store.tenant(clinic.id)
        scope.connections.add("Epic", "epic", "https://fhir.example/api/FHIR/R4")

Where the keyring is unusable ``Store.open`` raises KeyringUnavailableError; ask the user for a
passphrase and call ``Store.open(passphrase=...)``. Thread-safe: see ``database``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from healthprep_desktop import paths
from healthprep_desktop.store import clock, keys, schema
from healthprep_desktop.store.audit import AuditAction, AuditEvent, AuditLog, Outcome
from healthprep_desktop.store.audit_anchor import AnchorFile, anchor_path, retire_stale
from healthprep_desktop.store.database import Database
from healthprep_desktop.store.errors import (
    KeyringUnavailableError,
    PassphraseRequiredError,
    StoreNotFoundError,
    TenantNotFoundError,
)
from healthprep_desktop.store.keys import DatabaseKey
from healthprep_desktop.store.repos.settings_values import AppSettingValues
from healthprep_desktop.store.tenant import Tenant, TenantScope


class Store:
    def __init__(self, db: Database, *, anchored: bool = True) -> None:
        self._db = db
        # The audit head is anchored in a file beside the database (not for throwaway stores).
        self.audit = AuditLog(db, AnchorFile(anchor_path(db.path)) if anchored else None)
        self.app_settings = AppSettingValues(db)

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        passphrase: str | None = None,
        create: bool = True,
    ) -> Store:
        """Open (creating on first run) and migrate the database.

        Raises KeyringUnavailableError (offer a passphrase), PassphraseRequiredError (the
        database was made with one), WrongKeyError, StoreNotFoundError (``create=False``) and
        SchemaTooNewError.
        """
        path = path if path is not None else paths.database_path()
        exists = path.exists() and path.stat().st_size > 0
        if not exists and not create:
            raise StoreNotFoundError(str(path))
        if not exists and create:
            retire_stale(anchor_path(path))  # a deleted database's anchors are not this one's
        if passphrase is not None:
            key = DatabaseKey.passphrase(passphrase)
        elif exists:
            stored = keys.load_key(path)
            if stored is None:
                raise PassphraseRequiredError()
            key = stored
        else:
            key = DatabaseKey.random()
            # Keep the key before anything is encrypted with it: a key lost after creation
            # would make the new database unreadable.
            keys.save_key(path, key)
        db = Database.open(path, key)
        try:
            schema.migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db)

    @classmethod
    def open_ephemeral(cls, path: Path) -> Store:
        """A throwaway store (the demo clinic, the self-test, benchmarks: synthetic data only).

        Its random key lives only in this process's memory and is never written anywhere, so
        the file is unreadable once the process ends; delete it then.
        """
        db = Database.open(path, DatabaseKey.random())
        try:
            schema.migrate(db)
        except BaseException:
            db.close()
            raise
        return cls(db, anchored=False)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def schema_version(self) -> int:
        return schema.schema_version(self._db)

    @property
    def uses_passphrase(self) -> bool:
        return self._db.key_is_passphrase

    def close(self) -> None:
        with contextlib.suppress(Exception):  # never let the anchor keep the database open
            self.audit.flush_anchor()
        self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several calls (any tenants, the audit trail) into one atomic transaction."""
        with self._db.transaction():
            yield

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Tenants -----------------------------------------------------------------------------

    def create_tenant(self, name: str, *, tenant_id: str | None = None) -> Tenant:
        tenant = Tenant(tenant_id or uuid.uuid4().hex, name, clock.now_text())
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
                (tenant.id, tenant.name, tenant.created_at),
            )
            self.audit.append(AuditEvent(AuditAction.TENANT_CREATE, tenant_id=tenant.id))
        return tenant

    def tenants(self) -> list[Tenant]:
        rows = self._db.query("SELECT id, name, created_at FROM tenants ORDER BY name, id")
        return [Tenant(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = self._db.query_one(
            "SELECT id, name, created_at FROM tenants WHERE id = ?", (tenant_id,)
        )
        return None if row is None else Tenant(str(row[0]), str(row[1]), str(row[2]))

    def tenant(self, tenant_id: str) -> TenantScope:
        """The only way to a tenant's data."""
        tenant = self.get_tenant(tenant_id)
        if tenant is None:
            raise TenantNotFoundError(tenant_id)
        return TenantScope(self._db, self.audit, tenant)

    # Key ---------------------------------------------------------------------------------

    def change_key(self, *, passphrase: str | None = None) -> None:
        """Re-encrypt under a new key: a fresh random key kept in the keyring, or ``passphrase``.

        Other processes with the database open must reopen it afterwards.
        """
        new_key = (
            DatabaseKey.passphrase(passphrase) if passphrase is not None else DatabaseKey.random()
        )
        detail = "to passphrase" if new_key.is_passphrase else "to keyring key"
        try:
            with self._db.lock:
                if new_key.is_passphrase:
                    self._db.rekey(new_key)
                    # The old raw key must not linger where it could open an old backup.
                    with contextlib.suppress(KeyringUnavailableError):
                        keys.delete_key(self.path)
                else:
                    self._rekey_to_keyring(new_key)
        except BaseException:
            self.audit.append(
                AuditEvent(AuditAction.KEY_CHANGE, outcome=Outcome.FAILURE, detail=detail)
            )
            raise
        self.audit.append(AuditEvent(AuditAction.KEY_CHANGE, detail=detail))

    def _rekey_to_keyring(self, new_key: DatabaseKey) -> None:
        # Order matters: at every step one key that opens the database is somewhere we can reach.
        if self._db.key_is_passphrase:
            # No keyring entry to clobber: store first, so a failed store leaves all as it was.
            keys.save_key(self.path, new_key)
            try:
                self._db.rekey(new_key)
            except BaseException:
                keys.delete_key(self.path)
                raise
            return
        previous = keys.load_key(self.path)
        self._db.rekey(new_key)
        try:
            keys.save_key(self.path, new_key)
        except BaseException:
            if previous is not None:
                self._db.rekey(previous)  # the old key is still in the keyring
            raise
