"""Test connection over real HTTP: grant types, granted scopes naming the missing types, and
a sample read of each type, against the embedded sandbox and small stub servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fhir_support import LoopbackServer, Seen

from healthprep_desktop.fhir.config import AuthMethod, ConnectionConfig, RetryConfig
from healthprep_desktop.fhir.credentials import MemorySecrets, ensure_backend_key
from healthprep_desktop.fhir.diagnose import FAILED, OK, WARNING, check_connection
from healthprep_desktop.fhir.preflight import needed_types
from healthprep_desktop.fhir.presets import system_read_scopes
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.sandbox import SandboxConfig, SandboxServer
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import ClientAuth, ClientRegistration, OrgConfig

ONE_TRY = RetryConfig(max_attempts=1)
NARROW = "narrow-backend"
FULL = "full-backend"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[SandboxServer, MemorySecrets]]:
    secrets = MemorySecrets()
    key = ensure_backend_key(secrets, "key", "ES384")
    clients = [
        ClientRegistration(FULL, ClientAuth.PRIVATE_KEY_JWT, jwks=key.jwks()),
        # An EHR that granted this app two of the types it asks for.
        ClientRegistration(
            NARROW,
            ClientAuth.PRIVATE_KEY_JWT,
            jwks=key.jwks(),
            allowed_scopes=("system/Patient.read", "system/Observation.read"),
        ),
    ]
    org = OrgConfig("clinic", clients=clients, source=SyntheticClinic(seed=3, patients=3))
    with SandboxServer(SandboxConfig(orgs=[org])) as server:
        yield server, secrets


def backend(sb: SandboxServer, secrets: MemorySecrets, client_id: str) -> FhirConnection:
    config = ConnectionConfig(
        "Backend",
        sb.base_url(),
        auth_method=AuthMethod.SMART_BACKEND_SERVICES,
        client_id=client_id,
        scopes=system_read_scopes(),
        backend_key_algorithm="ES384",
        retry=ONE_TRY,
    )
    keyed = MemorySecrets({config.secret_key("t", "private_key"): secrets.values["key"]})
    return FhirConnection(config, tenant="t", tokens=MemoryTokenStore(), secrets=keyed)


async def test_backend_granted_two_types_fails_naming_the_others(
    sandbox: tuple[SandboxServer, MemorySecrets],
) -> None:
    sb, secrets = sandbox
    async with backend(sb, secrets, NARROW) as connection:
        result = await check_connection(connection)
    assert not result.ok
    failed = next(c for c in result.checks if c.result == FAILED)
    needed = needed_types(schedule=True)
    missing = [t for t in needed if t not in ("Patient", "Observation")]
    assert failed.name == "scopes"
    assert f"granted read access to 2 of the {len(needed)} types" in failed.message
    assert f"missing: {', '.join(missing)}." in failed.message
    assert "system/<type>.read" in failed.message
    assert result.summary() == failed.message


async def test_fully_granted_backend_reads_each_type(
    sandbox: tuple[SandboxServer, MemorySecrets],
) -> None:
    sb, secrets = sandbox
    sb.reset_stats()
    async with backend(sb, secrets, FULL) as connection:
        result = await check_connection(connection)
    assert result.ok and result.summary() == "The connection works.", result.checks
    assert [c.name for c in result.checks] == [
        "fhir-version",
        "discovery",
        "grant-types",
        "access",
        "scopes",
        "sample-reads",
    ]
    searched = set(sb.stats["by_type"])
    assert set(needed_types(schedule=True)) - {"Medication"} <= searched


def _smart(grants: list[str], auth_methods: list[str]) -> dict[str, object]:
    return {
        "authorization_endpoint": "http://127.0.0.1:1/authorize",
        "token_endpoint": "http://127.0.0.1:1/token",
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": auth_methods,
    }


def _stub(server: LoopbackServer, smart: dict[str, object]) -> None:
    meta = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "rest": []}
    server.route("/fhir/metadata")(lambda seen: (200, {}, meta))
    server.route("/fhir/.well-known/smart-configuration")(lambda seen: (200, {}, smart))


async def test_backend_method_against_a_server_without_client_credentials(
    server: LoopbackServer,
) -> None:
    _stub(server, _smart(["authorization_code", "refresh_token"], ["private_key_jwt"]))
    config = ConnectionConfig(
        "B", server.url, auth_method=AuthMethod.SMART_BACKEND_SERVICES, client_id="c"
    )
    async with FhirConnection(
        config, tenant="t", tokens=MemoryTokenStore(), secrets=MemorySecrets()
    ) as connection:
        result = await check_connection(connection)
    assert not result.ok
    assert result.summary() == (
        "The EHR's sign-in service does not offer the client_credentials grant (it offers "
        "authorization_code, refresh_token), which backend services needs: choose the sign-in "
        "method the EHR registered the app for, or ask the EHR administrator to enable "
        "client_credentials."
    )
    # Nothing was sent to the token endpoint: the check stops before signing in.
    assert not [s for s in server.seen if "token" in s.path]


async def test_secret_post_against_a_server_accepting_only_basic(server: LoopbackServer) -> None:
    _stub(server, _smart(["authorization_code"], ["client_secret_basic"]))
    config = ConnectionConfig(
        "P", server.url, auth_method=AuthMethod.SMART_CONFIDENTIAL_POST, client_id="c"
    )
    async with FhirConnection(
        config, tenant="t", tokens=MemoryTokenStore(), secrets=MemorySecrets()
    ) as connection:
        result = await check_connection(connection)
    assert "does not accept client_secret_post client authentication" in result.summary()


async def test_signed_out_public_client_is_not_reported_as_working(
    server: LoopbackServer,
) -> None:
    _stub(server, _smart(["authorization_code", "refresh_token"], []))
    config = ConnectionConfig(
        "P", server.url, auth_method=AuthMethod.SMART_PUBLIC_PKCE, client_id="c"
    )
    async with FhirConnection(
        config, tenant="t", tokens=MemoryTokenStore(), secrets=MemorySecrets()
    ) as connection:
        result = await check_connection(connection)
    assert result.summary() == "The server answers; sign in to test access to data."


def _bundle(seen: Seen) -> tuple[int, dict[str, str], object]:
    entry = [{"resource": {"resourceType": "Patient", "id": "p1"}}]
    return 200, {}, {"resourceType": "Bundle", "type": "searchset", "entry": entry}


def _empty(seen: Seen) -> tuple[int, dict[str, str], object]:
    return 200, {}, {"resourceType": "Bundle", "type": "searchset"}


def _forbidden(seen: Seen) -> tuple[int, dict[str, str], object]:
    return 403, {}, {"resourceType": "OperationOutcome", "issue": [{"code": "forbidden"}]}


async def test_sample_reads_fail_on_a_core_type_and_warn_on_an_optional_one(
    server: LoopbackServer,
) -> None:
    meta = {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "rest": []}
    server.route("/fhir/metadata")(lambda seen: (200, {}, meta))
    server.route("/fhir/Patient")(_bundle)
    for rtype in needed_types(schedule=True)[1:]:
        server.route(f"/fhir/{rtype}")(_empty)
    server.route("/fhir/Coverage")(_forbidden)  # optional: the sheet goes without it
    config = ConnectionConfig("Open", server.url, auth_method=AuthMethod.NONE, retry=ONE_TRY)
    async with FhirConnection(
        config, tenant="t", tokens=MemoryTokenStore(), secrets=MemorySecrets()
    ) as connection:
        result = await check_connection(connection)
        reads = result.checks[-1]
        assert result.ok and reads.result == WARNING and reads.message.startswith("Coverage ")
        assert result.summary().startswith("The connection works, with gaps: Coverage")
        # The reads are for the patient found, the way a batch searches.
        assert any(
            s.query.startswith("_count=1&patient=p1") for s in server.hits("/fhir/Condition")
        )
        server.route("/fhir/Condition")(_forbidden)  # a core type: patients would fail
        result = await check_connection(connection)
    assert not result.ok and result.checks[-1].result == FAILED
    assert result.summary().startswith("The EHR refused to search Condition (HTTP 403")
    assert OK in {c.result for c in result.checks}
