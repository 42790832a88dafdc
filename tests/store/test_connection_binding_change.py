"""Changing what a saved connection's sign-in was granted for (FHIR base URL, client id, auth
method, audience, token endpoint) forgets its stored tokens, and says so in the audit trail."""

from __future__ import annotations

from typing import Any

import pytest

from healthprep_desktop.store import AuditAction, AuditFilter, Store
from healthprep_desktop.store.repos.connection_secrets import TOKENS_SECRET

TOKENS = '{"access_token": "at-secret-value", "refresh_token": "rt-secret-value"}'
CONFIG: dict[str, Any] = {
    "client_id": "app-1",
    "auth_method": "smart_public_pkce",
    "audience": "",
    "token_endpoint_override": "",
    "scopes": ["user/*.read"],
}


def _setup(store: Store) -> tuple[Any, int]:
    scope = store.tenant(store.create_tenant("Clinic").id)
    row = scope.connections.add("Epic", "epic", "https://ehr.example/r4/a", config=dict(CONFIG))
    scope.secrets.put(row.id, TOKENS_SECRET, TOKENS)
    scope.secrets.put(row.id, "client_secret", "kept-secret")
    return scope, row.id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"base_url": "https://other.example/r4/b"}, "base_url"),
        ({"config": {**CONFIG, "client_id": "app-2"}}, "client_id"),
        ({"config": {**CONFIG, "auth_method": "smart_confidential_basic"}}, "auth_method"),
        ({"config": {**CONFIG, "audience": "https://aud.example"}}, "audience"),
        ({"config": {**CONFIG, "token_endpoint_override": "https://x/t"}}, "token_endpoint"),
    ],
)
def test_binding_changes_clear_the_tokens_and_are_audited(
    store: Store, change: dict[str, Any], field: str
) -> None:
    scope, connection_id = _setup(store)
    assert scope.connections.update(connection_id, **change) is not None
    assert scope.secrets.get(connection_id, TOKENS_SECRET) is None
    assert scope.secrets.get(connection_id, "client_secret") == "kept-secret"
    entries = [
        e for e in scope.audit_entries(AuditFilter()) if e.action == AuditAction.CONNECTION_CHANGE
    ]
    assert len(entries) == 1
    detail = entries[0].detail
    assert field in detail and "sign-in cleared" in detail and "Epic" in detail
    for secret in ("at-secret-value", "rt-secret-value", "kept-secret", "other.example"):
        assert secret not in detail


def test_other_changes_keep_the_sign_in(store: Store) -> None:
    scope, connection_id = _setup(store)
    scope.connections.update(
        connection_id,
        name="Epic (main)",
        enabled=False,
        priority=3,
        base_url="https://ehr.example/r4/a/",  # the same base, written with a slash
        config={**CONFIG, "scopes": ["user/*.read", "offline_access"]},
    )
    assert scope.secrets.get(connection_id, TOKENS_SECRET) == TOKENS
    actions = [e.action for e in scope.audit_entries(AuditFilter())]
    assert AuditAction.CONNECTION_CHANGE not in actions


def test_a_missing_auth_method_means_the_default(store: Store) -> None:
    """Rows written before auth_method was stored default to public PKCE: saving the same
    method explicitly is no change."""
    scope = store.tenant(store.create_tenant("Clinic").id)
    row = scope.connections.add("Epic", "epic", "https://ehr.example/r4/a", config={})
    scope.secrets.put(row.id, TOKENS_SECRET, TOKENS)
    scope.connections.update(row.id, config={"auth_method": "smart_public_pkce"})
    assert scope.secrets.get(row.id, TOKENS_SECRET) == TOKENS
