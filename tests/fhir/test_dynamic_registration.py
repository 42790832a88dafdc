"""Lasting access end to end over real HTTP against the sandbox: a browser sign-in, dynamic
client registration of a workstation key, JWT bearer tokens without a browser, revocation
(invalid_client) and re-registration at the next sign-in."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, RetryConfig
from healthprep_desktop.fhir.errors import ReauthenticationRequired
from healthprep_desktop.fhir.registration import (
    JWT_BEARER_GRANT,
    REVOKED_REASON,
    LastingAccess,
    RegistrationError,
    register_client,
)
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import StoreSecrets, StoreTokenStore, config_for_store
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import DEMO_PUBLIC_CLIENT
from healthprep_desktop.sandbox.registration import registry_for
from healthprep_desktop.store import Store
from healthprep_desktop.workers.connections import open_connection

SCOPES = ("openid", "fhirUser", "offline_access", "user/*.read")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    org = OrgConfig("clinic", clients=demo_clients(), source=SyntheticClinic(seed=5, patients=2))
    with SandboxServer(SandboxConfig(orgs=[org])) as server:
        yield server


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open() as opened:
        yield opened


async def follow_authorize(url: str) -> None:
    """This test is the browser: follow the sandbox's auto-approved redirect to the app."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        response = await browser.get(url)
        assert response.status_code in (302, 303, 307), response.text[:200]
        page = await browser.get(response.headers["Location"])
        assert page.status_code == 200


def stored_connection(store: Store, sb: SandboxServer) -> tuple[str, int]:
    config = ConnectionConfig(
        "Epic",
        sb.base_url(),
        auth_method=AuthMethod.SMART_PUBLIC_PKCE,
        client_id=DEMO_PUBLIC_CLIENT,
        scopes=SCOPES,
        retry=RetryConfig(max_attempts=1),
    )
    tenant = store.create_tenant("Clinic")
    row = store.tenant(tenant.id).connections.add(
        config.name, "epic", config.base_url, config=config_for_store(config)
    )
    return tenant.id, row.id


async def test_register_then_jwt_bearer_then_revoked_then_registered_again(
    store: Store, sandbox: SandboxServer
) -> None:
    tenant, connection_id = stored_connection(store, sandbox)
    auth = sandbox.org().auth
    patient_id = sandbox.org().store.patient_ids()[0]
    async with open_connection(store, tenant, connection_id) as signed_in:
        await signed_in.login_interactive(open_url=follow_authorize, time_limit=10)
        lasting = LastingAccess(signed_in, StoreSecrets(store))
        registration = await lasting.register()
    assert registration.client_id.startswith("dyn-") and not registration.revoked
    assert registration.software_id == DEMO_PUBLIC_CLIENT
    assert registration.client_id in registry_for(auth).clients

    # A day later: the sign-in's tokens are gone (no refresh token, no browser), yet the app
    # reads data: open_connection installs the registration, which asks for JWT bearer tokens.
    StoreTokenStore(store).clear(tenant, "Epic")
    before = auth.counts.get(JWT_BEARER_GRANT, 0)
    async with open_connection(store, tenant, connection_id) as later:
        patient = await later.client.read("Patient", patient_id)
        assert patient["id"] == patient_id
        tokens = later.tokens.tokens
        assert tokens is not None and tokens.refresh_token is None
        assert tokens.user_reference is not None  # the user who registered the key
        assert tokens.user_reference.startswith("Practitioner/")
    assert auth.counts.get(JWT_BEARER_GRANT, 0) == before + 1

    # The EHR administrator revokes the workstation's key: the next token request gets
    # invalid_client, the user is told to sign in, and the key is never sent again.
    register_url = f"{sandbox.token_url().rsplit('/', 1)[0]}/register"
    async with httpx.AsyncClient(timeout=10) as admin:
        revoked_answer = await admin.delete(f"{register_url}/{registration.client_id}")
    assert revoked_answer.status_code == 204
    assert registration.client_id not in registry_for(auth).clients
    async with open_connection(store, tenant, connection_id) as revoked:
        with pytest.raises(ReauthenticationRequired) as caught:
            await revoked.client.read("Patient", patient_id)
        assert caught.value.reason == REVOKED_REASON
        stored = LastingAccess(revoked, StoreSecrets(store)).load()
        assert stored is not None and stored.revoked
        # The next browser sign-in registers a new key; lasting access is back.
        await revoked.login_interactive(open_url=follow_authorize, time_limit=10)
        renewed = await LastingAccess(revoked, StoreSecrets(store)).after_sign_in()
    assert renewed is not None and not renewed.revoked
    assert renewed.client_id != registration.client_id
    assert renewed.key.kid != registration.key.kid
    StoreTokenStore(store).clear(tenant, "Epic")
    async with open_connection(store, tenant, connection_id) as again:
        assert (await again.client.read("Patient", patient_id))["id"] == patient_id
    assert auth.counts.get(JWT_BEARER_GRANT, 0) == before + 2


async def test_registration_needs_a_user_sign_in_of_the_same_app(sandbox: SandboxServer) -> None:
    from healthprep_desktop.fhir.oauth import generate_backend_key

    endpoint = sandbox.token_url().rsplit("/", 1)[0] + "/register"
    key = generate_backend_key("ES384")
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(RegistrationError) as caught:
            await register_client(
                http, endpoint, software_id=DEMO_PUBLIC_CLIENT, access_token="forged", key=key
            )
    assert str(caught.value) == (
        "127.0.0.1 did not accept the sign-in for registering this workstation (invalid_token: "
        "the access token is not recognised): sign in again, then retry."
    )


async def test_a_signed_out_connection_cannot_register(sandbox: SandboxServer) -> None:
    from healthprep_desktop.fhir.credentials import MemorySecrets

    config = ConnectionConfig(
        "Epic",
        sandbox.base_url(),
        auth_method=AuthMethod.SMART_PUBLIC_PKCE,
        client_id=DEMO_PUBLIC_CLIENT,
        scopes=SCOPES,
    )
    secrets = MemorySecrets()
    async with FhirConnection(
        config, tenant="t", tokens=MemoryTokenStore(), secrets=secrets
    ) as connection:
        with pytest.raises(RegistrationError, match="Sign in first"):
            await LastingAccess(connection, secrets).register()
    assert not secrets.values


async def test_the_sandbox_refuses_a_foreign_key_and_a_private_jwk(
    store: Store, sandbox: SandboxServer
) -> None:
    from dataclasses import replace

    from healthprep_desktop.fhir.errors import OAuthError
    from healthprep_desktop.fhir.oauth import generate_backend_key
    from healthprep_desktop.fhir.registration import jwt_bearer_token

    tenant, connection_id = stored_connection(store, sandbox)
    async with open_connection(store, tenant, connection_id) as signed_in:
        await signed_in.login_interactive(open_url=follow_authorize, time_limit=10)
        registration = await LastingAccess(signed_in, StoreSecrets(store)).register()
        access = await signed_in.tokens.access_token()
        async with httpx.AsyncClient(timeout=10) as http:
            # An assertion signed by another key, under the registered client id.
            forged = replace(registration, key=generate_backend_key("ES384"))
            with pytest.raises(OAuthError) as caught:
                await jwt_bearer_token(http, forged)
            assert caught.value.error == "invalid_client"
            # A JWK Set that carries a private key is refused outright.
            private = generate_backend_key("ES384")
            jwks = private.jwks()
            jwks["keys"][0]["d"] = "secret-part"
            answer = await http.post(
                f"{sandbox.token_url().rsplit('/', 1)[0]}/register",
                json={"software_id": DEMO_PUBLIC_CLIENT, "jwks": jwks},
                headers={"Authorization": f"Bearer {access}"},
            )
            assert answer.status_code == 400
            assert answer.json()["error"] == "invalid_client_metadata"
