"""EHR connections of a tenant: name, vendor, FHIR base URL, priority and a JSON config blob.

A stored sign-in (OAuth tokens) belongs to the server and client it was granted for: changing
a connection's FHIR base URL, client id, auth method, audience or token endpoint forgets its
tokens in the same transaction, and the audit trail says which fields changed (names only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from healthprep_desktop.store import clock
from healthprep_desktop.store.audit import AuditAction
from healthprep_desktop.store.repos import _json
from healthprep_desktop.store.repos.connection_secrets import TOKENS_SECRET
from healthprep_desktop.store.scoped import Row, ScopedTable

DEFAULT_PRIORITY = 100

# Config keys a sign-in is bound to, and the value a missing key means.
_BINDING_KEYS = {
    "client_id": "",
    "auth_method": "smart_public_pkce",  # config_from_store's default
    "audience": "",
    "token_endpoint_override": "",
}

# TenantScope.audit (action, *, detail=...): the repository records the sign-in it cleared.
AuditWriter = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Connection:
    id: int
    name: str
    vendor: str  # "epic", "cerner", "athena", "generic", "sandbox"
    base_url: str  # FHIR base URL
    enabled: bool
    priority: int  # lower is tried first
    config: dict[str, Any]  # client id, scopes, redirect port...: never secrets (see secrets)
    created_at: str
    updated_at: str


class ConnectionRepository:
    def __init__(
        self,
        table: ScopedTable,
        *,
        secrets: ScopedTable | None = None,
        audit: AuditWriter | None = None,
    ) -> None:
        self._table = table
        self._secrets = secrets
        self._audit = audit

    def add(
        self,
        name: str,
        vendor: str,
        base_url: str,
        *,
        config: dict[str, Any] | None = None,
        enabled: bool = True,
        priority: int = DEFAULT_PRIORITY,
    ) -> Connection:
        now = clock.now_text()
        new_id = self._table.insert(
            {
                "name": name,
                "vendor": vendor,
                "base_url": base_url,
                "config": _json.dump(config or {}),
                "enabled": int(enabled),
                "priority": priority,
                "created_at": now,
                "updated_at": now,
            }
        )
        created = self.get(new_id)
        assert created is not None
        return created

    def get(self, connection_id: int) -> Connection | None:
        row = self._table.select_one({"id": connection_id})
        return _connection(row) if row else None

    def by_name(self, name: str) -> Connection | None:
        row = self._table.select_one({"name": name})
        return _connection(row) if row else None

    def all(self, *, enabled_only: bool = False) -> list[Connection]:
        where = {"enabled": 1} if enabled_only else {}
        return [_connection(r) for r in self._table.select(where, order_by=("priority", "name"))]

    def update(
        self,
        connection_id: int,
        *,
        name: str | None = None,
        vendor: str | None = None,
        base_url: str | None = None,
        config: dict[str, Any] | None = None,
        enabled: bool | None = None,
        priority: int | None = None,
    ) -> Connection | None:
        """Change the given fields; return the updated connection, or None if it is not ours."""
        values: dict[str, Any] = {"updated_at": clock.now_text()}
        if name is not None:
            values["name"] = name
        if vendor is not None:
            values["vendor"] = vendor
        if base_url is not None:
            values["base_url"] = base_url
        if config is not None:
            values["config"] = _json.dump(config)
        if enabled is not None:
            values["enabled"] = int(enabled)
        if priority is not None:
            values["priority"] = priority
        with self._table.transaction():
            before = self.get(connection_id)
            if before is None or not self._table.update({"id": connection_id}, values):
                return None
            after = self.get(connection_id)
            assert after is not None
            changed = binding_changes(before, after)
            if changed:
                self._forget_sign_in(after, changed)
        return after

    def _forget_sign_in(self, connection: Connection, changed: list[str]) -> None:
        if self._secrets is None:
            return
        removed = self._secrets.delete({"connection_id": connection.id, "name": TOKENS_SECRET})
        if removed and self._audit is not None:
            self._audit(
                AuditAction.CONNECTION_CHANGE,
                detail=f"{connection.name}: {', '.join(changed)} changed; sign-in cleared",
            )

    def remove(self, connection_id: int) -> bool:
        """Delete the connection and (by cascade) its secrets."""
        return self._table.delete({"id": connection_id}) > 0


def binding_changes(before: Connection, after: Connection) -> list[str]:
    """The fields a stored sign-in is bound to that differ between two versions of a
    connection (names only: "base_url", "client_id", "auth_method", "audience",
    "token_endpoint")."""
    changed = []
    if before.base_url.rstrip("/") != after.base_url.rstrip("/"):
        changed.append("base_url")
    for key, default in _BINDING_KEYS.items():
        if (before.config.get(key) or default) != (after.config.get(key) or default):
            changed.append(key.replace("_override", ""))
    return changed


def _connection(row: Row) -> Connection:
    return Connection(
        id=int(row["id"]),
        name=row["name"],
        vendor=row["vendor"],
        base_url=row["base_url"],
        enabled=bool(row["enabled"]),
        priority=int(row["priority"]),
        config=_json.load(row["config"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
