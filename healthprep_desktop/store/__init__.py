"""The encrypted, tenant-scoped store (SQLCipher 4) and the hash-chained audit trail. No Qt.

Modules: ``store`` (open, tenants, key change), ``tenant`` (TenantScope: the one way to a
tenant's data), ``scoped`` (the generic tenant-scoped data access), ``repos/`` (typed
repositories), ``audit`` (trail and verification), ``schema`` (migrations), ``keys`` (keyring
and passphrase), ``database`` (the connection and its lock), ``errors``.
"""

from healthprep_desktop.store.audit import (
    AuditAction,
    AuditEntry,
    AuditEvent,
    AuditFilter,
    AuditLog,
    ChainVerification,
    Outcome,
)
from healthprep_desktop.store.errors import (
    ConstraintError,
    DuplicateKeyError,
    KeyringUnavailableError,
    PassphraseRequiredError,
    RecordNotFoundError,
    SchemaTooNewError,
    StoreError,
    StoreNotFoundError,
    TenantNotFoundError,
    WrongKeyError,
)
from healthprep_desktop.store.repos.connection_secrets import SecretRepository
from healthprep_desktop.store.repos.connections import Connection, ConnectionRepository
from healthprep_desktop.store.repos.dismissals import DismissalRepository, MatchDismissal
from healthprep_desktop.store.repos.jobs import (
    Job,
    JobPatient,
    JobRepository,
    JobState,
    PatientState,
)
from healthprep_desktop.store.repos.ledger import LedgerEntry, LedgerState, WritebackLedger
from healthprep_desktop.store.repos.screening_entries import (
    EntryKind,
    ScreeningEntry,
    ScreeningEntryRepository,
)
from healthprep_desktop.store.repos.sheets import Sheet, SheetInfo, SheetRepository
from healthprep_desktop.store.repos.text_cache import TextCacheRepository
from healthprep_desktop.store.store import Store
from healthprep_desktop.store.tenant import Tenant, TenantScope

__all__ = [
    "AuditAction",
    "AuditEntry",
    "AuditEvent",
    "AuditFilter",
    "AuditLog",
    "ChainVerification",
    "Connection",
    "ConnectionRepository",
    "ConstraintError",
    "DismissalRepository",
    "DuplicateKeyError",
    "EntryKind",
    "Job",
    "JobPatient",
    "JobRepository",
    "JobState",
    "KeyringUnavailableError",
    "LedgerEntry",
    "LedgerState",
    "MatchDismissal",
    "Outcome",
    "PassphraseRequiredError",
    "PatientState",
    "RecordNotFoundError",
    "SchemaTooNewError",
    "ScreeningEntry",
    "ScreeningEntryRepository",
    "SecretRepository",
    "Sheet",
    "SheetInfo",
    "SheetRepository",
    "Store",
    "StoreError",
    "StoreNotFoundError",
    "Tenant",
    "TenantNotFoundError",
    "TenantScope",
    "TextCacheRepository",
    "WritebackLedger",
    "WrongKeyError",
]
