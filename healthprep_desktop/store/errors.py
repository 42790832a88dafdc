"""Typed store errors. Their messages are shown to users: no key material, no PHI, no traceback."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for every error the store raises on purpose."""


class KeyringUnavailableError(StoreError):
    """No usable OS keyring: the caller should ask for a passphrase instead."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            "No secure system keyring is available to hold the database key "
            f"({detail}). Choose a passphrase to protect the database instead; "
            "it will be asked for each time HealthPrep Desktop opens."
        )
        self.detail = detail


class PassphraseRequiredError(StoreError):
    """The database exists but its key is not in the keyring: it was made with a passphrase
    (or the keyring entry was lost)."""

    def __init__(self) -> None:
        super().__init__(
            "The database is protected by a passphrase (its key is not in the system keyring). "
            "Enter the passphrase to open it."
        )


class WrongKeyError(StoreError):
    """The key or passphrase does not open the database."""

    def __init__(self, *, passphrase: bool) -> None:
        if passphrase:
            message = (
                "The passphrase does not open the database. Check it and try again "
                "(passphrases are case-sensitive)."
            )
        else:
            message = (
                "The database key in the system keyring does not open the database. The keyring "
                "entry may belong to another installation or the database file may be damaged; "
                "restore the database from a backup or ask your administrator."
            )
        super().__init__(message)
        self.passphrase = passphrase


class StoreNotFoundError(StoreError):
    def __init__(self, path: str) -> None:
        super().__init__(f"No HealthPrep Desktop database at {path}.")
        self.path = path


class SchemaTooNewError(StoreError):
    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"The database was written by a newer HealthPrep Desktop (schema {found}; this "
            f"version understands up to {supported}). Update the application to open it."
        )
        self.found = found
        self.supported = supported


class TenantNotFoundError(StoreError):
    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"No clinic with id {tenant_id!r} in this database.")
        self.tenant_id = tenant_id


class RecordNotFoundError(StoreError, LookupError):
    """A referenced row (job, connection, ...) does not exist in this tenant."""


class ConstraintError(StoreError):
    """A write broke a database constraint (the message names the table, never values)."""


class DuplicateKeyError(ConstraintError):
    """A unique key (e.g. a write-back idempotency key) is already recorded."""
