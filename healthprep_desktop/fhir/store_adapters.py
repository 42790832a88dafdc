"""The fhir package's persistence Protocols, implemented on the encrypted store.

Tokens, client secrets and backend keys live as connection secrets in the SQLCipher database;
the write-back ledger and the audit trail are the store's own. Connections are looked up by
name inside the tenant's scope, so nothing here can reach another tenant's data.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, Vendor
from healthprep_desktop.fhir.errors import FhirError
from healthprep_desktop.fhir.status import AuditEvent
from healthprep_desktop.fhir.tokens import TokenSet
from healthprep_desktop.fhir.writeback import LedgerRecord
from healthprep_desktop.store import AuditAction, Connection, Outcome, Store, TenantScope
from healthprep_desktop.store import AuditEvent as StoreAuditEvent
from healthprep_desktop.store.errors import RecordNotFoundError
from healthprep_desktop.store.named_lock import LockTimeout, NamedLock
from healthprep_desktop.store.repos.connection_secrets import TOKENS_SECRET

__all__ = [
    "TOKENS_SECRET",
    "StoreAudit",
    "StoreLedger",
    "StoreSecrets",
    "StoreTokenStore",
    "config_for_store",
    "config_from_store",
]

# How long a refresh waits for another process's refresh of the same connection (a token
# request has a 60-second read timeout; two in a row is the worst a healthy holder takes).
REFRESH_LOCK_TIMEOUT = 130.0

_STORE_VENDORS = {
    "epic": Vendor.EPIC,
    "cerner": Vendor.ORACLE_HEALTH,
    "oracle_health": Vendor.ORACLE_HEALTH,
    "athena": Vendor.ATHENAHEALTH,
    "athenahealth": Vendor.ATHENAHEALTH,
}

_ACTIONS = {
    "connect": AuditAction.CONNECT,
    "disconnect": AuditAction.DISCONNECT,
    "refresh_failed": AuditAction.REFRESH_FAILURE,
    "writeback": AuditAction.WRITE_BACK,
    "fetch": AuditAction.FETCH,
}


def _connection_id(scope: TenantScope, name: str) -> int:
    found = scope.connections.by_name(name)
    if found is None:
        raise RecordNotFoundError(f"no connection named {name!r} in this clinic")
    return found.id


class StoreTokenStore:
    """TokenStore on the store: one JSON secret per connection."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def load(self, tenant: str, connection: str) -> TokenSet | None:
        scope = self._store.tenant(tenant)
        raw = scope.secrets.get(_connection_id(scope, connection), TOKENS_SECRET)
        return TokenSet.from_json(json.loads(raw)) if raw else None

    def save(self, tenant: str, connection: str, tokens: TokenSet) -> None:
        scope = self._store.tenant(tenant)
        scope.secrets.put(
            _connection_id(scope, connection), TOKENS_SECRET, json.dumps(tokens.to_json())
        )

    def clear(self, tenant: str, connection: str) -> None:
        scope = self._store.tenant(tenant)
        scope.secrets.delete(_connection_id(scope, connection), TOKENS_SECRET)

    @contextlib.asynccontextmanager
    async def exclusive(self, tenant: str, connection: str) -> AsyncIterator[None]:
        """The store-wide refresh lock of one connection: a lock file beside the database,
        shared by every process that opens this store."""
        scope = self._store.tenant(tenant)
        connection_id = _connection_id(scope, connection)
        lock = NamedLock.for_store(self._store.path, "refresh", tenant, str(connection_id))
        try:
            fd = await lock.acquire(REFRESH_LOCK_TIMEOUT)
        except LockTimeout as exc:
            raise FhirError(
                "another HealthPrep window or batch is renewing this connection's sign-in and "
                "has not finished; try again in a minute"
            ) from exc
        try:
            yield
        finally:
            lock.release(fd)


class StoreSecrets:
    """SecretStore on the store. Names are `ConnectionConfig.secret_key(tenant, kind)`:
    "<tenant>/<connection name>/<kind>"."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _locate(self, name: str) -> tuple[TenantScope, int, str]:
        tenant, rest = name.split("/", 1)
        connection, kind = rest.rsplit("/", 1)
        scope = self._store.tenant(tenant)
        return scope, _connection_id(scope, connection), kind

    def get(self, name: str) -> str | None:
        scope, connection_id, kind = self._locate(name)
        return scope.secrets.get(connection_id, kind)

    def set(self, name: str, value: str) -> None:
        scope, connection_id, kind = self._locate(name)
        scope.secrets.put(connection_id, kind, value)

    def delete(self, name: str) -> None:
        scope, connection_id, kind = self._locate(name)
        scope.secrets.delete(connection_id, kind)


class StoreLedger:
    """The write-back Ledger of one tenant on the store's WritebackLedger."""

    def __init__(self, scope: TenantScope) -> None:
        self._ledger = scope.ledger

    def entries(self, prefix: str, patient_id: str) -> list[LedgerRecord]:
        return [
            LedgerRecord(e.idempotency_key, e.state.value, e.resource_id)
            for e in self._ledger.all(patient_id=patient_id)
            if e.idempotency_key.startswith(prefix)
        ]

    def claim(self, key: str, patient_id: str) -> None:
        self._ledger.claim(key, patient_id)

    def complete(self, key: str, resource_id: str) -> None:
        self._ledger.complete(key, resource_id)

    def release(self, key: str) -> None:
        self._ledger.release(key)


class StoreAudit:
    """AuditSink onto the store's hash-chained audit trail."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __call__(self, event: AuditEvent) -> None:
        action = _ACTIONS.get(event.action, AuditAction.CONNECTION_CHANGE)
        detail = f"{event.connection}: " + ", ".join(
            f"{k}={v}" for k, v in sorted(event.detail.items())
        )
        resources = tuple(
            str(v) for k, v in event.detail.items() if k == "document" and isinstance(v, str)
        )
        self._store.audit.append(
            StoreAuditEvent(
                action=action,
                tenant_id=event.tenant,
                patient_id=event.patient_id,
                resource_ids=resources,
                outcome=Outcome.FAILURE if event.outcome == "failure" else Outcome.SUCCESS,
                detail=detail[:200],
                ehr_user=event.user,
            )
        )


def config_from_store(connection: Connection) -> ConnectionConfig:
    """A ConnectionConfig from the store's connection row (its config column holds the rest)."""
    data: dict[str, Any] = dict(connection.config)
    data.update(
        name=connection.name,
        base_url=connection.base_url,
        enabled=connection.enabled,
        priority=connection.priority,
        vendor=_STORE_VENDORS.get(connection.vendor, Vendor.GENERIC).value,
    )
    data.setdefault("auth_method", AuthMethod.SMART_PUBLIC_PKCE.value)
    return ConnectionConfig.from_json(data)


def config_for_store(config: ConnectionConfig) -> dict[str, Any]:
    """The config column for a ConnectionConfig (the row holds name, URL, flags)."""
    data = config.to_json()
    for key in ("name", "base_url", "enabled", "priority", "vendor"):
        data.pop(key, None)
    return data
