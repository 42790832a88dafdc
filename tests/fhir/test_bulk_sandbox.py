"""fhir/bulk against the embedded sandbox's Bulk Data server (docs/sandbox-bulk.md): backend
services sign-in, Group export with the library's types, `_since` reruns, faults, expiry, and
the store-backed saver on a real SQLCipher store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from healthprep_desktop.fhir.bulk import (
    BulkExportFailed,
    BulkFileExpired,
    ExportRequest,
    MemorySaver,
    PollPolicy,
    SavedExport,
    kick_off,
    run_export,
    supports_bulk,
    wait_for_manifest,
)
from healthprep_desktop.fhir.bulk_store import StoreExportSaver
from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RetryConfig,
)
from healthprep_desktop.fhir.credentials import MemorySecrets, ensure_backend_key
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.bulk import touch_patients
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.store import Store

PATIENTS = 12
TYPES = ("Patient", "Observation", "Condition")


@dataclass
class Env:
    sandbox: SandboxServer
    secrets: MemorySecrets = field(repr=False)


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    secrets = MemorySecrets()
    key = ensure_backend_key(secrets, "key", "RS384")
    org = OrgConfig(
        "clinic",
        clients=demo_clients(backend_jwks=key.jwks()),
        source=SyntheticClinic(seed=5, patients=PATIENTS),
    )
    with SandboxServer(SandboxConfig(orgs=[org])) as sandbox:
        yield Env(sandbox, secrets)


@pytest.fixture
async def connection(env: Env) -> AsyncIterator[FhirConnection]:
    bulk = env.sandbox.config.bulk
    bulk.retry_after, bulk.polls_before_complete = 0, 1
    config = ConnectionConfig(
        name="bulk",
        base_url=env.sandbox.base_url(),
        auth_method=AuthMethod.SMART_BACKEND_SERVICES,
        client_id="healthprep-backend",
        scopes=("system/*.read",),
        rate_limit=RateLimitConfig(requests_per_second=0, max_concurrency=8),
        retry=RetryConfig(max_attempts=4, base_delay=0.01, max_delay=0.05),
    )
    env.secrets.values[config.secret_key("t", "private_key")] = env.secrets.values["key"]
    async with FhirConnection(
        config, tenant="t", tokens=MemoryTokenStore(), secrets=env.secrets
    ) as conn:
        await conn.login_backend_services()
        yield conn


def patient_of(resource: dict[str, object]) -> str:
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    subject = resource.get("subject") or resource.get("patient")
    assert isinstance(subject, dict)
    return str(subject["reference"]).split("/")[-1]


async def test_panel_export_then_a_since_rerun_with_the_store_saver(
    env: Env, connection: FhirConnection, tmp_path: Path
) -> None:
    assert supports_bulk(await connection.capabilities())
    store = Store.open()
    try:
        tenant = store.create_tenant("Clinic")
        scope = store.tenant(tenant.id)
        connection_id = scope.connections.add("bulk", "generic", env.sandbox.base_url()).id
        saver = StoreExportSaver(scope, connection_id)
        request = ExportRequest(group_id="panel", types=TYPES)
        before = connection.client.stats.requests
        first = await run_export(connection, request, tmp_path / "first", saver)
        requests = connection.client.stats.requests - before
        assert first.count("Patient") == PATIENTS
        assert first.count("Observation") > PATIENTS
        assert {patient_of(r) for r in first.iter_resources()} == {
            r["id"] for r in first.iter_resources("Patient")
        }
        # kick-off, 2 polls, one file per type (maybe fewer), DELETE
        assert requests <= 4 + len(first.files)
        since = saver.last_transaction_time(request)
        assert since == first.transaction_time
        rows = scope.bulk_exports.list(connection_id)
        assert [r.state for r in rows] == ["downloaded"] and rows[0].manifest is not None

        changed = sorted(r["id"] for r in first.iter_resources("Patient"))[:2]
        assert touch_patients(env.sandbox.org(), changed) > 0
        rerun = await run_export(connection, request.with_since(since), tmp_path / "rerun", saver)
        assert {patient_of(r) for r in rerun.iter_resources()} == set(changed)
        assert saver.last_transaction_time(request) == rerun.transaction_time
    finally:
        store.close()


async def test_failed_job_transient_status_errors_and_a_cut_download(
    env: Env, connection: FhirConnection, tmp_path: Path
) -> None:
    bulk = env.sandbox.config.bulk
    request = ExportRequest(group_id="panel", types=("Patient",))
    bulk.next_jobs_fail = 1
    with pytest.raises(BulkExportFailed, match="export failed"):
        await run_export(connection, request, tmp_path / "a")
    bulk.next_status_errors, bulk.next_downloads_cut, bulk.cut_after_bytes = 2, 1, 2000
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    result = await run_export(
        connection, request, tmp_path / "b", policy=PollPolicy(first_delay=0.01, sleep=sleep)
    )
    assert result.count("Patient") == PATIENTS and len(sleeps) >= 2
    ids = [r["id"] for r in result.iter_resources("Patient")]
    assert len(set(ids)) == PATIENTS  # the resumed file is whole, no line twice


async def test_files_expired_after_completion_ask_for_a_new_export(
    env: Env, connection: FhirConnection, tmp_path: Path
) -> None:
    request = ExportRequest(group_id="panel", types=("Patient",))
    client = connection.client
    env.sandbox.config.bulk.file_expiry_seconds = 60
    status_url = await kick_off(client, request)
    manifest = await wait_for_manifest(client, status_url)
    saver = MemorySaver()
    saver.save(SavedExport(request, "complete", status_url, manifest, folder=str(tmp_path)))
    env.sandbox.clock.advance(120)  # past the files' expiry, within the token's lifetime
    try:
        with pytest.raises(BulkFileExpired, match="start the export again"):
            await run_export(connection, request, tmp_path, saver)
    finally:
        env.sandbox.config.bulk.file_expiry_seconds = None
    assert saver.active(request) is None
