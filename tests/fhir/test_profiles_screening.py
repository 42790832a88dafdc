"""Acceptance (issue 18): the same clinic screened through every integration profile (generic,
us-core, epic-like), fetched naively (every type, every category, default page size, every
attachment) and through the fetch plan, gives the same result for every screening and every
measure as the generic server's full fetch. Real sandbox over loopback HTTP per profile, real
SMART login, real text extraction, the real engine and measures."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox"))
from profiles_support import profile_config, profile_fixture
from sandbox_smart import USER_SCOPE, login

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig
from healthprep_desktop.fhir.discovery import Capabilities, fetch_capabilities
from healthprep_desktop.fhir.record import FetchResult, fetch_patient_record
from healthprep_desktop.sandbox import (
    OrgConfig,
    SandboxConfig,
    SandboxServer,
    demo_clients,
)
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.screening.documents import ExtractJob, extract_text_job
from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.measures import MeasurementPeriod
from healthprep_desktop.screening.measures.evaluate import evaluate_measures
from healthprep_desktop.screening.ocr import OcrSettings

PATIENTS = 16
SAMPLE = 6  # patients also fetched naively (the slow way)
AS_OF = date.today()


def clinic_config() -> SandboxConfig:
    source = SyntheticClinic(seed=7, patients=PATIENTS)
    return SandboxConfig(orgs=[OrgConfig("demo", clients=demo_clients(), source=source)])


clinic = profile_fixture(clinic_config)


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


async def _client(server: SandboxServer) -> tuple[FhirClient, Capabilities]:
    with httpx.Client() as http:
        token = login(http, server, scope=USER_SCOPE)
    client = FhirClient(
        server.base_url(),
        auth=_Bearer(str(token["access_token"])),
        rate_limit=RateLimitConfig(requests_per_second=0, max_concurrency=16),
    )
    return client, await fetch_capabilities(client.http, server.base_url())


def _screen(fetched: FetchResult) -> dict[str, Any]:
    """Every screening's and every measure's outcome for one fetched chart."""
    record = fetched.record
    record.documents = [
        extract_text_job(
            ExtractJob(d.reference, d.title, d.date, d.content_type, d.data, OcrSettings(False))
        )
        for d in fetched.documents
        if d.data
    ]
    out: dict[str, Any] = {
        f"screening {r.screening_id}": (r.status.value, r.variant_id, r.last_done, r.next_due)
        for r in evaluate(record, AS_OF)
    }
    period = MeasurementPeriod.calendar_year(AS_OF.year)
    measures = evaluate_measures(record.patient, record.resources, period)
    out |= {f"measure {cms}": repr(groups) for cms, groups in measures.outcomes.items()}
    return out


async def _screen_clinic(
    server: SandboxServer, naive: bool, patients: int = PATIENTS
) -> tuple[dict[str, Any], dict[str, int]]:
    """Screening results and requests per patient."""
    client, caps = await _client(server)
    try:

        async def one(pid: str) -> tuple[dict[str, Any], int]:
            fetched = await fetch_patient_record(client, pid, capabilities=caps, naive=naive)
            # Types a profile's server lacks are reported (naive: one refused search each).
            problems = [w for w in fetched.report.warnings if "offer" not in w]
            assert naive or not problems, problems
            return _screen(fetched), fetched.report.requests

        pids = server.org().store.patient_ids()[:patients]
        done = await asyncio.gather(*(one(pid) for pid in pids))
        return (
            dict(zip(pids, (d[0] for d in done), strict=True)),
            dict(zip(pids, (d[1] for d in done), strict=True)),
        )
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def baseline() -> dict[str, Any]:
    """The generic server's naive full fetch: what every other way must agree with."""
    with SandboxServer(profile_config("generic", clinic_config())) as server:
        results, _ = asyncio.run(_screen_clinic(server, naive=True))
    assert len(results) == PATIENTS
    return results


def _differences(got: dict[str, Any], want: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {
        (pid, key): (got.get(pid, {}).get(key), value)
        for pid, by_key in want.items()
        for key, value in by_key.items()
        if got.get(pid, {}).get(key) != value
    }


async def test_every_result_is_the_same_on_every_profile_naive_or_planned(
    clinic: SandboxServer, baseline: dict[str, Any]
) -> None:
    planned, planned_counts = await _screen_clinic(clinic, naive=False)
    assert not _differences(planned, baseline)
    # The naive fetch on a few patients: the same results, and what the plan saves.
    naive, naive_counts = await _screen_clinic(clinic, naive=True, patients=SAMPLE)
    assert not _differences(naive, {p: baseline[p] for p in naive})
    naive_requests = sum(naive_counts.values())
    planned_requests = sum(planned_counts[p] for p in naive)
    statuses = {v[0] for by_key in planned.values() for k, v in by_key.items() if "screening" in k}
    assert {"due", "up_to_date"} <= statuses or len(statuses) > 2, statuses
    assert planned_requests <= naive_requests
    if clinic.config.profile == "us-core":
        assert planned_requests <= 0.7 * naive_requests, (planned_requests, naive_requests)
