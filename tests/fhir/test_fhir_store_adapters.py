"""The fhir persistence Protocols on the real encrypted store (SQLCipher, in-memory keyring)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, Vendor
from healthprep_desktop.fhir.credentials import ensure_backend_key, load_backend_key
from healthprep_desktop.fhir.status import AuditEvent
from healthprep_desktop.fhir.store_adapters import (
    StoreAudit,
    StoreLedger,
    StoreSecrets,
    StoreTokenStore,
    config_for_store,
    config_from_store,
)
from healthprep_desktop.fhir.tokens import TokenSet
from healthprep_desktop.store import AuditAction, AuditFilter, Store


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store.open()
    try:
        yield opened
    finally:
        opened.close()


def test_tokens_round_trip_per_tenant_and_connection(store: Store) -> None:
    a = store.create_tenant("A")
    b = store.create_tenant("B")
    store.tenant(a.id).connections.add("Epic", "epic", "https://x/R4")
    store.tenant(b.id).connections.add("Epic", "epic", "https://y/R4")
    tokens = StoreTokenStore(store)
    saved = TokenSet(
        access_token="at-1",
        refresh_token="rt-1",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        fhir_user="Practitioner/1",
    )
    tokens.save(a.id, "Epic", saved)
    assert tokens.load(a.id, "Epic") == saved
    assert tokens.load(b.id, "Epic") is None  # same connection name, other clinic
    tokens.clear(a.id, "Epic")
    assert tokens.load(a.id, "Epic") is None
    # The token is in the database file only encrypted.
    tokens.save(a.id, "Epic", saved)
    assert b"rt-1" not in store.path.read_bytes()


def test_secrets_and_backend_key_in_the_store(store: Store) -> None:
    clinic = store.create_tenant("C")
    store.tenant(clinic.id).connections.add("Backend", "generic", "https://x/R4")
    config = ConnectionConfig(
        "Backend", "https://x/R4", auth_method=AuthMethod.SMART_BACKEND_SERVICES
    )
    secrets = StoreSecrets(store)
    name = config.secret_key(clinic.id, "private_key")
    key = ensure_backend_key(secrets, name, "ES384")
    assert load_backend_key(secrets, name) == key
    assert ensure_backend_key(secrets, name, "ES384") == key  # generated once
    assert key.jwks()["keys"][0]["crv"] == "P-384"
    secrets.delete(name)
    assert secrets.get(name) is None


def test_ledger_adapter(store: Store) -> None:
    clinic = store.create_tenant("L")
    ledger = StoreLedger(store.tenant(clinic.id))
    ledger.claim("conn|p1|sheet|h1|-", "p1")
    ledger.complete("conn|p1|sheet|h1|-", "doc-1")
    ledger.claim("conn|p1|sheet|h2|doc-1", "p1")
    ledger.release("conn|p1|sheet|h2|doc-1")
    ledger.claim("conn|p1|other|h1|-", "p1")
    records = ledger.entries("conn|p1|sheet|", "p1")
    assert [(r.key, r.state, r.resource_id) for r in records] == [
        ("conn|p1|sheet|h1|-", "posted", "doc-1")
    ]


def test_audit_sink_writes_the_hash_chained_trail(store: Store) -> None:
    clinic = store.create_tenant("Audit")
    sink = StoreAudit(store)
    sink(
        AuditEvent("connect", clinic.id, "Epic", user="Practitioner/9", detail={"scope": "openid"})
    )
    sink(AuditEvent("refresh_failed", clinic.id, "Epic", outcome="failure"))
    entries = store.tenant(clinic.id).audit_entries(AuditFilter())
    actions = [e.action for e in entries]
    assert AuditAction.CONNECT in actions and AuditAction.REFRESH_FAILURE in actions
    assert store.audit.verify().ok


def test_connection_config_through_the_store(store: Store) -> None:
    clinic = store.create_tenant("Cfg")
    config = ConnectionConfig(
        "Main",
        "https://fhir.example/R4",
        vendor=Vendor.ORACLE_HEALTH,
        client_id="cid",
        scopes=("openid", "user/Patient.read"),
        priority=5,
    )
    row = store.tenant(clinic.id).connections.add(
        config.name, "cerner", config.base_url, config=config_for_store(config), priority=5
    )
    assert config_from_store(row) == config
