"""Last sync and last error of a stored connection survive a restart: a real refusal by the
sandbox's token endpoint, the real encrypted store closed and opened again, the real CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from healthprep_desktop.cli import main
from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, RetryConfig
from healthprep_desktop.fhir.credentials import MemorySecrets, ensure_backend_key
from healthprep_desktop.fhir.errors import ReauthenticationRequired
from healthprep_desktop.fhir.oauth import BackendKey
from healthprep_desktop.fhir.status_store import STATUS_ENTRY
from healthprep_desktop.fhir.store_adapters import StoreSecrets, config_for_store
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import DEMO_BACKEND_CLIENT
from healthprep_desktop.store import Store
from healthprep_desktop.workers.connections import open_connection

REGISTERED = MemorySecrets()


@pytest.fixture(scope="module")
def registered_key() -> BackendKey:
    return ensure_backend_key(REGISTERED, "registered", "RS384")


@pytest.fixture(scope="module")
def sandbox(registered_key: BackendKey) -> Iterator[SandboxServer]:
    org = OrgConfig(
        "clinic",
        clients=demo_clients(backend_jwks=registered_key.jwks()),
        source=SyntheticClinic(seed=5, patients=3),
    )
    with SandboxServer(SandboxConfig(orgs=[org])) as server:
        yield server


def _setup(sandbox: SandboxServer) -> tuple[str, int]:
    config = ConnectionConfig(
        name="Backend",
        base_url=sandbox.base_url(),
        auth_method=AuthMethod.SMART_BACKEND_SERVICES,
        client_id=DEMO_BACKEND_CLIENT,
        scopes=("system/Patient.read",),
        retry=RetryConfig(max_attempts=2, base_delay=0.01, max_delay=0.05),
    )
    with Store.open() as store:
        tenant = store.create_tenant("Clinic")
        row = store.tenant(tenant.id).connections.add(
            config.name, "generic", config.base_url, config=config_for_store(config)
        )
        # A key the EHR does not know: its token endpoint answers invalid_client.
        ensure_backend_key(StoreSecrets(store), config.secret_key(tenant.id, "private_key"))
    return tenant.id, row.id


async def _read_patient(store: Store, tenant_id: str, connection_id: int) -> None:
    conn = open_connection(store, tenant_id, connection_id)
    try:
        await conn.client.search_pages("Patient", {"_count": 1}).__anext__()
    finally:
        await conn.aclose()


def test_last_sync_and_last_error_survive_a_restart(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant_id, connection_id = _setup(sandbox)
    synced = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    with Store.open() as store:
        conn = open_connection(store, tenant_id, connection_id)
        conn.status_tracker.mark_synced(synced)  # what a finished batch does
        with pytest.raises(ReauthenticationRequired):
            asyncio.run(_read_patient(store, tenant_id, connection_id))
    # "Restart": a new Store object on the same file, a new connection object.
    with Store.open() as store:
        status = open_connection(store, tenant_id, connection_id).status
        assert status.last_sync == synced
        assert status.last_error is not None and "invalid_client" in status.last_error
        error = status.last_error
    assert main(["connection", "show", "--connection", "Backend"]) == 0
    shown = capsys.readouterr().out
    assert f"Last error: {error}" in shown and "Last sync: 2026-03-0" in shown
    assert main(["connection", "list"]) == 0
    assert f"last error: {error}" in capsys.readouterr().out

    # The registered key put in place: a good sign-in clears the error, for good.
    with Store.open() as store:
        StoreSecrets(store).set(f"{tenant_id}/Backend/private_key", REGISTERED.values["registered"])
        asyncio.run(_read_patient(store, tenant_id, connection_id))
    with Store.open() as store:
        status = open_connection(store, tenant_id, connection_id).status
        assert status.last_error is None and status.last_sync == synced
        stored = store.tenant(tenant_id).secrets.get(connection_id, STATUS_ENTRY)
        assert stored is not None and "PRIVATE" not in stored and "token" not in stored.lower()


def test_an_unreadable_stored_status_is_ignored(sandbox: SandboxServer) -> None:
    tenant_id, connection_id = _setup(sandbox)
    with Store.open() as store:
        store.tenant(tenant_id).secrets.put(connection_id, STATUS_ENTRY, "{not json")
        status = open_connection(store, tenant_id, connection_id).status
        assert status.last_sync is None and status.last_error is None
