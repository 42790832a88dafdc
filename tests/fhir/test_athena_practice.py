"""athenahealth scopes every search that names no patient to a practice (ah-practice): the
client adds it from the connection's practice id, and the athena-like sandbox refuses the
schedule without it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from healthprep_desktop.fhir.config import (
    AuthMethod,
    ConnectionConfig,
    RateLimitConfig,
    RetryConfig,
    Vendor,
)
from healthprep_desktop.fhir.credentials import MemorySecrets, ensure_backend_key
from healthprep_desktop.fhir.errors import BadRequest
from healthprep_desktop.fhir.schedule import fetch_schedule
from healthprep_desktop.fhir.search_context import names_a_patient, patientless_context
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.tokens import MemoryTokenStore
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.clinic.clinic import DEFAULT_REFERENCE_DATE

sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox"))
from profiles_support import profile_config

PRACTICE = "195900"  # the preview practice athenahealth documents (sandbox/profiles/athena_like)


@pytest.fixture(scope="module")
def athena() -> Iterator[tuple[SandboxServer, MemorySecrets]]:
    secrets = MemorySecrets()
    key = ensure_backend_key(secrets, "key", "RS384")
    org = OrgConfig(
        "clinic",
        clients=demo_clients(backend_jwks=key.jwks()),
        source=SyntheticClinic(seed=3, patients=40),
    )
    config = profile_config("athena-like", SandboxConfig(orgs=[org]))
    with SandboxServer(config) as server:
        yield server, secrets


def _config(server: SandboxServer, practice: str) -> ConnectionConfig:
    return ConnectionConfig(
        name="athena",
        base_url=server.base_url(),
        vendor=Vendor.ATHENAHEALTH,
        auth_method=AuthMethod.SMART_BACKEND_SERVICES,
        client_id="healthprep-backend",
        scopes=("system/*.read",),
        rate_limit=RateLimitConfig(requests_per_second=0, max_concurrency=4),
        retry=RetryConfig(max_attempts=2, base_delay=0.01, max_delay=0.05),
        practice_id=practice,
    )


async def _schedule(athena: tuple[SandboxServer, MemorySecrets], practice: str) -> int:
    server, secrets = athena
    config = _config(server, practice)
    secrets.values[config.secret_key("t", "private_key")] = secrets.values["key"]
    async with FhirConnection(config, tenant="t", tokens=MemoryTokenStore(), secrets=secrets) as c:
        await c.login_backend_services()
        day = next(d for d in _weekdays())
        return len(await fetch_schedule(c.client, day, tz="America/Chicago"))


def _weekdays() -> Iterator[date]:
    day = DEFAULT_REFERENCE_DATE
    while True:
        if day.weekday() < 5:
            yield day
        day = date.fromordinal(day.toordinal() + 1)


async def test_the_schedule_carries_the_practice(
    athena: tuple[SandboxServer, MemorySecrets],
) -> None:
    assert await _schedule(athena, PRACTICE) > 0


async def test_without_the_practice_the_schedule_is_refused(
    athena: tuple[SandboxServer, MemorySecrets],
) -> None:
    with pytest.raises(BadRequest, match="ah-practice"):
        await _schedule(athena, "")


def test_only_athena_and_only_patientless_searches() -> None:
    assert patientless_context(Vendor.ATHENAHEALTH, " 195900 ") == (
        ("ah-practice", "Organization/a-1.Practice-195900"),
    )
    assert patientless_context(Vendor.EPIC, "195900") == ()
    assert patientless_context(Vendor.ATHENAHEALTH, "") == ()
    assert names_a_patient([("patient", "1"), ("category", "x")])
    assert names_a_patient([("subject:Patient", "1")])
    assert not names_a_patient([("date", "ge2026-12-01"), ("_count", 200)])
