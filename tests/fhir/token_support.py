"""Shared by the token tests (imported by name): a small sandbox, a stored SMART connection and
the headless browser that follows the authorize redirect."""

from __future__ import annotations

import httpx

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RetryConfig,
)
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import (
    StoreAudit,
    StoreSecrets,
    StoreTokenStore,
    config_for_store,
    config_from_store,
)
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import DEMO_PUBLIC_CLIENT
from healthprep_desktop.store import Store

SCOPES = ("openid", "fhirUser", "offline_access", "user/*.read")
CONNECTION = "Sandbox"


def small_sandbox() -> SandboxServer:
    org = OrgConfig("clinic", clients=demo_clients(), source=SyntheticClinic(seed=5, patients=3))
    return SandboxServer(SandboxConfig(orgs=[org]))


def add_connection(store: Store, base_url: str) -> tuple[str, int]:
    """A tenant with one public-PKCE connection to `base_url`: (tenant id, connection id)."""
    config = ConnectionConfig(
        name=CONNECTION,
        base_url=base_url,
        auth_method=AuthMethod.SMART_PUBLIC_PKCE,
        client_id=DEMO_PUBLIC_CLIENT,
        scopes=SCOPES,
        rate_limit=RateLimitConfig(requests_per_second=0, max_concurrency=8),
        retry=RetryConfig(max_attempts=3, base_delay=0.02, max_delay=0.1),
    )
    tenant = store.create_tenant("Clinic")
    row = store.tenant(tenant.id).connections.add(
        config.name, "generic", config.base_url, config=config_for_store(config)
    )
    return tenant.id, row.id


def open_stored(store: Store, tenant: str, connection_id: int) -> FhirConnection:
    """The connection as the app opens it: its config read back from the store."""
    row = store.tenant(tenant).connections.get(connection_id)
    assert row is not None
    return FhirConnection(
        config_from_store(row),
        tenant=tenant,
        tokens=StoreTokenStore(store),
        secrets=StoreSecrets(store),
        audit=StoreAudit(store),
    )


async def follow_authorize(url: str) -> None:
    """This test is the browser: GET the authorize URL and follow it to the loopback listener."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        response = await browser.get(url)
        assert response.status_code in (302, 303, 307), response.text[:200]
        page = await browser.get(response.headers["Location"])
        assert page.status_code == 200
