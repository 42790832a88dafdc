"""Acceptance: the client against the embedded SMART-on-FHIR sandbox over real HTTP.

No HTTP mocks: the sandbox is the real Starlette/uvicorn server on 127.0.0.1; tokens, secrets,
the write-back ledger and the audit trail live in the real encrypted store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RetryConfig,
)
from healthprep_desktop.fhir.credentials import ensure_backend_key
from healthprep_desktop.fhir.errors import ReauthenticationRequired
from healthprep_desktop.fhir.oauth import BackendKey
from healthprep_desktop.fhir.parsing import InvalidResource
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.status import ConnectionStatus
from healthprep_desktop.fhir.store_adapters import (
    StoreAudit,
    StoreLedger,
    StoreSecrets,
    StoreTokenStore,
    config_for_store,
)
from healthprep_desktop.fhir.writeback import PrepSheetDocument, write_back
from healthprep_desktop.sandbox import (
    LinkStyle,
    OrgConfig,
    SandboxConfig,
    SandboxServer,
    demo_clients,
)
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import (
    DEMO_BACKEND_CLIENT,
    DEMO_BASIC_CLIENT,
    DEMO_POST_CLIENT,
    DEMO_PUBLIC_CLIENT,
)
from healthprep_desktop.store import AuditAction, AuditFilter, Store

MANY_OBS_PATIENT = "many-obs"
USER_SCOPES = (
    "openid",
    "fhirUser",
    "offline_access",
    "user/*.read",
    "user/DocumentReference.cruds",
)
SYSTEM_SCOPES = ("system/*.read", "system/DocumentReference.cruds")
QUICK_RETRY = RetryConfig(max_attempts=8, base_delay=0.05, max_delay=1.0)


def _many_observations() -> list[dict[str, Any]]:
    patient = {"resourceType": "Patient", "id": MANY_OBS_PATIENT, "birthDate": "1960-05-01"}
    observations = [
        {
            "resourceType": "Observation",
            "id": f"many-{i:04d}",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "subject": {"reference": f"Patient/{MANY_OBS_PATIENT}"},
            "effectiveDateTime": f"20{10 + i % 14:02d}-01-{1 + i % 28:02d}",
            "valueQuantity": {"value": 100 + i % 50, "unit": "mm[Hg]"},
        }
        for i in range(1000)
    ]
    return [patient, *observations]


MEASURE_TYPES_PATIENT = "measure-types"


def _measure_type_resources() -> list[dict[str, Any]]:
    """One resource of each type the measures read beyond the classic chart, and a Medication
    that a prescription names only by reference (outside the patient compartment)."""
    pid = MEASURE_TYPES_PATIENT
    subject = {"reference": f"Patient/{pid}"}
    code = {"coding": [{"system": "http://snomed.info/sct", "code": "385763009"}]}
    return [
        {"resourceType": "Patient", "id": pid, "birthDate": "1950-01-01"},
        {"resourceType": "DeviceRequest", "id": "mt-dr", "status": "active", "intent": "order",
         "codeCodeableConcept": code, "subject": subject},
        {"resourceType": "ServiceRequest", "id": "mt-sr", "status": "active", "intent": "order",
         "code": code, "subject": subject},
        {"resourceType": "MedicationStatement", "id": "mt-ms", "status": "active",
         "medicationCodeableConcept": code, "subject": subject},
        {"resourceType": "AllergyIntolerance", "id": "mt-ai", "code": code, "patient": subject},
        {"resourceType": "AdverseEvent", "id": "mt-ae", "actuality": "actual", "event": code,
         "subject": subject},
        {"resourceType": "Coverage", "id": "mt-cov", "status": "active",
         "beneficiary": subject, "payor": [{"display": "payer"}]},
        {"resourceType": "Communication", "id": "mt-com", "status": "completed",
         "subject": subject},
        {"resourceType": "Medication", "id": "mt-med", "code": code},
        {"resourceType": "MedicationRequest", "id": "mt-mr", "status": "active",
         "intent": "order", "medicationReference": {"reference": "Medication/mt-med"},
         "subject": subject},
    ]  # fmt: skip


@dataclass
class Env:
    sandbox: SandboxServer
    backend_key: BackendKey
    secrets_seed: dict[str, str] = field(repr=False)  # holds a private key: never printed


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    from healthprep_desktop.fhir.credentials import MemorySecrets

    seed = MemorySecrets()
    key = ensure_backend_key(seed, "backend", "RS384")
    org = OrgConfig(
        "clinic",
        clients=demo_clients(backend_jwks=key.jwks()),
        source=SyntheticClinic(seed=11, patients=12),
        resources=_many_observations() + _measure_type_resources(),
    )
    with SandboxServer(SandboxConfig(orgs=[org])) as sandbox:
        yield Env(sandbox, key, seed.values)


@pytest.fixture
def sandbox(env: Env) -> Iterator[SandboxServer]:
    sb = env.sandbox
    sb.set_faults(
        latency_ms=0, rate_limit=None, error_rate=0.0, malformed_fraction=0.0, drop_rate=0.0
    )
    sb.config.tokens.access_token_lifetime = 3600.0
    sb.config.link_style = LinkStyle.ABSOLUTE
    sb.reset_stats()
    yield sb
    sb.set_faults(
        latency_ms=0, rate_limit=None, error_rate=0.0, malformed_fraction=0.0, drop_rate=0.0
    )


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store.open()
    try:
        yield opened
    finally:
        opened.close()


def _token_count(sb: SandboxServer) -> int:
    return int(sb.stats["by_interaction"].get("token", 0))


async def token_calls(sb: SandboxServer) -> int:
    """Token endpoint calls so far. The sandbox counts a request after its response has gone
    out, so the client can be ahead of the counter by a moment: wait until it is stable."""
    count = _token_count(sb)
    for _ in range(50):
        await asyncio.sleep(0.02)
        again = _token_count(sb)
        if again == count:
            return count
        count = again
    return count


def make_connection(
    store: Store,
    sb: SandboxServer,
    env: Env,
    method: AuthMethod,
    *,
    rate: RateLimitConfig | None = None,
    **options: Any,
) -> tuple[FhirConnection, str]:
    client_id = {
        AuthMethod.SMART_PUBLIC_PKCE: DEMO_PUBLIC_CLIENT,
        AuthMethod.SMART_CONFIDENTIAL_BASIC: DEMO_BASIC_CLIENT,
        AuthMethod.SMART_CONFIDENTIAL_POST: DEMO_POST_CLIENT,
        AuthMethod.SMART_BACKEND_SERVICES: DEMO_BACKEND_CLIENT,
    }[method]
    config = ConnectionConfig(
        name="Sandbox",
        base_url=sb.base_url(),
        auth_method=method,
        client_id=client_id,
        scopes=SYSTEM_SCOPES if method is AuthMethod.SMART_BACKEND_SERVICES else USER_SCOPES,
        rate_limit=rate or RateLimitConfig(requests_per_second=0, max_concurrency=32),
        retry=QUICK_RETRY,
    )
    tenant = store.create_tenant("Clinic")
    store.tenant(tenant.id).connections.add(
        config.name, "generic", config.base_url, config=config_for_store(config)
    )
    secrets = StoreSecrets(store)
    if method is AuthMethod.SMART_CONFIDENTIAL_BASIC:
        secrets.set(config.secret_key(tenant.id, "client_secret"), "sandbox-secret-basic")
    if method is AuthMethod.SMART_CONFIDENTIAL_POST:
        secrets.set(config.secret_key(tenant.id, "client_secret"), "sandbox-secret-post")
    if method is AuthMethod.SMART_BACKEND_SERVICES:
        secrets.set(config.secret_key(tenant.id, "private_key"), env.secrets_seed["backend"])
    connection = FhirConnection(
        config,
        tenant=tenant.id,
        tokens=StoreTokenStore(store),
        secrets=secrets,
        audit=StoreAudit(store),
        **options,
    )
    return connection, tenant.id


async def follow_authorize(url: str) -> None:
    """The headless login: this test is the browser. GET the authorize URL, follow the redirect
    to the loopback listener, check the page it answers."""
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        response = await browser.get(url)
        assert response.status_code in (302, 303, 307), response.text[:200]
        callback = response.headers["Location"]
        assert callback.startswith("http://127.0.0.1:")
        page = await browser.get(callback)
        assert page.status_code == 200 and "close this tab" in page.text


@pytest.fixture
async def logged_in(
    store: Store, sandbox: SandboxServer, env: Env
) -> AsyncIterator[tuple[FhirConnection, str]]:
    connection, tenant = make_connection(store, sandbox, env, AuthMethod.SMART_PUBLIC_PKCE)
    await connection.login_interactive(open_url=follow_authorize, time_limit=10)
    try:
        yield connection, tenant
    finally:
        await connection.aclose()


# --- login ---------------------------------------------------------------------------------


async def test_full_login_flow_following_the_authorize_redirect(
    store: Store, sandbox: SandboxServer, env: Env
) -> None:
    connection, tenant = make_connection(store, sandbox, env, AuthMethod.SMART_PUBLIC_PKCE)
    events: list[ConnectionStatus] = []
    connection.status_tracker.subscribe(events.append)
    seen_urls: list[str] = []

    async def browser(url: str) -> None:
        seen_urls.append(url)
        await follow_authorize(url)

    async with connection:
        assert not connection.status.is_connected
        tokens = await connection.login_interactive(open_url=browser, time_limit=10)
        assert "code_challenge_method=S256" in seen_urls[0]
        assert tokens.refresh_token and tokens.user_reference is not None
        assert tokens.user_reference.startswith("Practitioner/")
        status = connection.status
        assert status.is_connected and status.token_expiry is not None
        assert events and events[-1].is_connected
        patient_id = sandbox.org().store.patient_ids()[0]
        patient = await connection.client.read("Patient", patient_id)
        assert patient["id"] == patient_id
    # Tokens live in the encrypted store, scoped to this tenant and connection.
    assert StoreTokenStore(store).load(tenant, "Sandbox") == tokens
    actions = [e.action for e in store.tenant(tenant).audit_entries(AuditFilter())]
    assert AuditAction.CONNECT in actions


@pytest.mark.parametrize(
    "method", [AuthMethod.SMART_CONFIDENTIAL_BASIC, AuthMethod.SMART_CONFIDENTIAL_POST]
)
async def test_confidential_client_logins(
    store: Store, sandbox: SandboxServer, env: Env, method: AuthMethod
) -> None:
    connection, _ = make_connection(store, sandbox, env, method)
    async with connection:
        await connection.login_interactive(open_url=follow_authorize, time_limit=10)
        assert connection.status.is_connected
        assert (
            await connection.client.search_pages("Patient", {"_count": 1}).__anext__()
        ).resources


async def test_backend_services_login(store: Store, sandbox: SandboxServer, env: Env) -> None:
    connection, _ = make_connection(store, sandbox, env, AuthMethod.SMART_BACKEND_SERVICES)
    async with connection:
        tokens = await connection.login_backend_services()
        assert tokens.refresh_token is None and tokens.scope
        found = await connection.client.search_all("Patient", {"_count": 50})
        assert len(found) == len(sandbox.org().store.patient_ids())
        # When the server expires the token, the client gets a new one with a fresh
        # assertion: backend services never need a person to sign in again.
        before = await token_calls(sandbox)
        sandbox.revoke_access_tokens()
        await connection.client.read("Patient", found[0]["id"])
        assert await token_calls(sandbox) == before + 1
        assert connection.status.is_connected


# --- refresh -------------------------------------------------------------------------------


async def test_32_concurrent_requests_on_an_expired_token_cause_one_refresh(
    store: Store, sandbox: SandboxServer, env: Env
) -> None:
    sandbox.config.tokens.access_token_lifetime = 2.0
    connection, _ = make_connection(store, sandbox, env, AuthMethod.SMART_PUBLIC_PKCE)
    async with connection:
        await connection.login_interactive(open_url=follow_authorize, time_limit=10)
        sandbox.config.tokens.access_token_lifetime = 3600.0
        await asyncio.sleep(1.1)  # past the refresh margin (half of a 2-second lifetime)
        before = await token_calls(sandbox)
        ids = sandbox.org().store.patient_ids()
        results = await asyncio.gather(
            *(connection.client.read("Patient", ids[i % len(ids)]) for i in range(32))
        )
        assert len(results) == 32
        assert await token_calls(sandbox) - before == 1
        assert connection.tokens.refresh_count == 1


async def test_server_side_expiry_401s_cause_one_refresh(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer
) -> None:
    connection, _ = logged_in
    ids = sandbox.org().store.patient_ids()
    before = await token_calls(sandbox)
    sandbox.revoke_access_tokens()  # the client still believes its token is good
    await asyncio.gather(*(connection.client.read("Patient", ids[i % len(ids)]) for i in range(32)))
    assert await token_calls(sandbox) - before == 1
    assert connection.bearer is not None and connection.bearer.retries_after_401 >= 1
    assert sandbox.stats["by_status"].get("401", 0) >= 1


async def test_revoked_refresh_token_disconnects_with_a_typed_error(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer, store: Store
) -> None:
    connection, tenant = logged_in
    statuses: list[ConnectionStatus] = []
    connection.status_tracker.subscribe(statuses.append)
    sandbox.revoke_refresh_tokens()
    sandbox.revoke_access_tokens()
    ids = sandbox.org().store.patient_ids()
    outcomes = await asyncio.gather(
        *(connection.client.read("Patient", i) for i in ids[:6]), return_exceptions=True
    )
    assert all(isinstance(o, ReauthenticationRequired) for o in outcomes), outcomes
    status = connection.status
    assert status.is_connected is False and status.last_error
    assert statuses[-1].is_connected is False
    assert StoreTokenStore(store).load(tenant, "Sandbox") is None
    entries = store.tenant(tenant).audit_entries(AuditFilter())
    assert AuditAction.REFRESH_FAILURE in [e.action for e in entries]
    # Later requests fail fast with the same typed error, without hitting the token endpoint.
    before = await token_calls(sandbox)
    with pytest.raises(ReauthenticationRequired):
        await connection.client.read("Patient", ids[0])
    assert await token_calls(sandbox) == before


# --- resilience ----------------------------------------------------------------------------


async def test_429_storm_honours_retry_after(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer
) -> None:
    connection, _ = logged_in
    sends: list[float] = []
    limited: list[tuple[float, float]] = []  # (received at, Retry-After seconds)

    async def on_request(request: httpx.Request) -> None:
        sends.append(time.monotonic())

    async def on_response(response: httpx.Response) -> None:
        if response.status_code == 429:
            limited.append((time.monotonic(), float(response.headers["Retry-After"])))

    connection.client.http.event_hooks["request"].append(on_request)
    connection.client.http.event_hooks["response"].append(on_response)
    sandbox.set_faults(rate_limit=10.0, rate_burst=5)
    ids = sandbox.org().store.patient_ids()
    started = time.monotonic()
    results = await asyncio.gather(
        *(connection.client.read("Patient", ids[i % len(ids)]) for i in range(25))
    )
    elapsed = time.monotonic() - started
    assert len(results) == 25
    assert limited, "the storm never produced a 429"
    assert connection.client.stats.rate_limited == len(limited)
    # Measured: after each 429, no new request left the client before Retry-After elapsed.
    for received, retry_after in limited:
        later = [t for t in sends if t > received]
        if later:
            assert min(later) - received >= retry_after - 0.05
    assert elapsed >= limited[0][1]


async def test_5xx_and_dropped_connections_are_retried(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer
) -> None:
    connection, _ = logged_in
    sandbox.set_faults(error_rate=0.3, drop_rate=0.05, seed=5)
    ids = sandbox.org().store.patient_ids()
    results = await asyncio.gather(
        *(connection.client.read("Patient", ids[i % len(ids)]) for i in range(40))
    )
    assert [r["id"] for r in results] == [ids[i % len(ids)] for i in range(40)]
    stats = sandbox.stats
    assert stats["faults"].get("server_error", 0) > 0
    assert connection.client.stats.server_errors == stats["faults"]["server_error"]
    assert connection.client.stats.retries >= stats["faults"]["server_error"]


# --- paging and lenient parsing ------------------------------------------------------------


@pytest.mark.parametrize("style", [LinkStyle.ABSOLUTE, LinkStyle.RELATIVE, LinkStyle.PATH])
async def test_paging_through_1000_observations(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer, style: LinkStyle
) -> None:
    connection, _ = logged_in
    sandbox.config.link_style = style
    pages = 0
    ids: list[str] = []
    async for page in connection.client.search_pages(
        "Observation", {"patient": MANY_OBS_PATIENT, "_count": 100}
    ):
        pages += 1
        ids += [r["id"] for r in page.resources]
    assert len(ids) == 1000 and len(set(ids)) == 1000
    assert pages == 10


async def test_malformed_resources_are_skipped_with_a_report(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer
) -> None:
    connection, _ = logged_in
    sandbox.set_faults(malformed_fraction=0.05, seed=3)
    reports: list[InvalidResource] = []
    found = await connection.client.search_all(
        "Observation", {"patient": MANY_OBS_PATIENT, "_count": 200}, on_invalid=reports.append
    )
    assert reports, "the sandbox corrupted nothing"
    assert len(found) + len(reports) == 1000
    assert {r.resource_type for r in reports} == {"Observation"}
    assert not ({r.resource_id for r in reports} & {r["id"] for r in found})
    assert sandbox.stats["faults"]["malformed"] == len(reports)


# --- record, schedule, write-back ----------------------------------------------------------


async def test_patient_record_fetch_strategies_agree(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer
) -> None:
    from healthprep_desktop.fhir.record import fetch_patient_record

    connection, _ = logged_in
    caps = await connection.capabilities()
    store = sandbox.org().store
    patient_id = max(
        (p for p in store.patient_ids() if p != MANY_OBS_PATIENT),
        key=lambda p: len(store.compartment(p, ["DocumentReference"])),
    )
    everything = await fetch_patient_record(connection.client, patient_id, capabilities=caps)
    per_type = await fetch_patient_record(connection.client, patient_id, capabilities=None)
    assert everything.report.strategy == "everything" and per_type.report.strategy == "per-type"

    def keys(result: Any) -> set[tuple[str, str]]:
        return {(r["resourceType"], r["id"]) for r in result.record.resources}

    assert keys(everything) == keys(per_type) and keys(everything)
    assert everything.record.patient_id == patient_id
    assert everything.report.requests < per_type.report.requests
    docs = [d for d in everything.documents if d.data]
    assert docs and all(d.content_type for d in docs)
    assert {d.reference for d in everything.documents} == {
        f"DocumentReference/{r['id']}" for r in everything.record.of_type("DocumentReference")
    }


async def test_every_type_the_measures_read_is_fetched(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer
) -> None:
    from healthprep_desktop.fhir.record import fetch_patient_record

    connection, _ = logged_in
    caps = await connection.capabilities()
    wanted = {
        "DeviceRequest", "ServiceRequest", "MedicationStatement", "AllergyIntolerance",
        "AdverseEvent", "Coverage", "Communication", "Medication", "MedicationRequest",
    }  # fmt: skip
    for capabilities in (caps, None):  # $everything, then one search per type
        result = await fetch_patient_record(
            connection.client, MEASURE_TYPES_PATIENT, capabilities=capabilities
        )
        got = {r["resourceType"] for r in result.record.resources}
        assert wanted <= got, (result.report.strategy, wanted - got)


async def test_schedule_for_a_day(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer
) -> None:
    from datetime import timedelta

    from healthprep_desktop.fhir.schedule import fetch_schedule, unique_patients

    connection, _ = logged_in
    clinic = sandbox.config.orgs[0].source
    assert isinstance(clinic, SyntheticClinic)
    day = clinic.reference_date
    for _ in range(7):  # the next day with appointments
        if clinic.schedule(day):
            break
        day += timedelta(days=1)
    expected = [a for a in clinic.schedule(day) if a.get("status") != "cancelled"]
    visits = await fetch_schedule(connection.client, day)
    assert visits and len(visits) >= len({a["id"] for a in expected}) - 0
    assert set(unique_patients(visits)) <= set(sandbox.org().store.patient_ids())


async def test_write_back_twice_gives_one_document(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer, store: Store
) -> None:
    connection, tenant = logged_in
    patient_id = sandbox.org().store.patient_ids()[1]
    ledger = StoreLedger(store.tenant(tenant))
    sheet = PrepSheetDocument(
        patient_id=patient_id,
        sheet_key="prep-sheet/2025-03-14",
        title="Pre-visit prep sheet",
        text="Colorectal cancer screening: due",
        pdf=b"%PDF-1.4\n% prep sheet\n",
    )

    async def run(doc: PrepSheetDocument) -> Any:
        return await write_back(
            connection.client,
            doc,
            ledger=ledger,
            tenant=tenant,
            connection="Sandbox",
            content_type="text/plain",
            audit=StoreAudit(store),
        )

    first = await run(sheet)
    second = await run(sheet)
    assert (first.outcome, second.outcome) == ("created", "unchanged")
    docs = await connection.client.search_all("DocumentReference", {"patient": patient_id})
    ours = [d for d in docs if (d.get("masterIdentifier") or {}).get("value") == first.version_uuid]
    assert len(ours) == 1 and ours[0]["id"] == first.resource_id
    newer = PrepSheetDocument(
        patient_id=patient_id,
        sheet_key=sheet.sheet_key,
        title=sheet.title,
        text="Colorectal cancer screening: complete",
    )
    third = await run(newer)
    assert third.outcome == "replaced"
    replacement = await connection.client.read("DocumentReference", str(third.resource_id))
    assert replacement["relatesTo"][0]["target"]["reference"] == (
        f"DocumentReference/{first.resource_id}"
    )
    actions = [e.action for e in store.tenant(tenant).audit_entries(AuditFilter())]
    assert actions.count(AuditAction.WRITE_BACK) == 2


async def test_test_connection_reports_success_and_invalid_client(
    store: Store, sandbox: SandboxServer, env: Env
) -> None:
    from healthprep_desktop.fhir.diagnose import check_connection as diagnose

    connection, _ = make_connection(store, sandbox, env, AuthMethod.SMART_BACKEND_SERVICES)
    async with connection:
        result = await diagnose(connection)
        assert result.ok, result.checks
    wrong = FhirConnection(
        connection.config.with_changes(client_id="nobody"),
        tenant=connection.tenant,
        tokens=StoreTokenStore(store),
        secrets=StoreSecrets(store),
    )
    async with wrong:
        result = await diagnose(wrong)
    assert not result.ok and "invalid_client" in result.summary()


async def test_rerun_with_since_and_etags_skips_unchanged_data(
    logged_in: tuple[FhirConnection, str], sandbox: SandboxServer
) -> None:
    from healthprep_desktop.fhir.record import fetch_patient_record

    connection, _ = logged_in
    caps = await connection.capabilities()
    store = sandbox.org().store
    # Not the write-back test's patient: `_since` has one-second precision on the sandbox, so
    # documents written a moment earlier would legitimately come back.
    untouched = [p for p in store.patient_ids()[2:] if p != MANY_OBS_PATIENT]
    patient_id = max(untouched, key=lambda p: len(store.compartment(p, ["DocumentReference"])))
    first = await fetch_patient_record(connection.client, patient_id, capabilities=caps)
    assert first.record.resources and first.record.fetched_at is not None and first.report.etags
    rerun = await fetch_patient_record(
        connection.client,
        patient_id,
        capabilities=caps,
        since=first.record.fetched_at,
        etags=first.report.etags,
    )
    assert rerun.record.resources == []  # nothing changed since the first fetch
    assert rerun.report.patient_unchanged
    assert rerun.report.requests <= first.report.requests
