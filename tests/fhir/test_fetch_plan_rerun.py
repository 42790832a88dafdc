"""Reruns: which patients changed, asked once for the whole day where the server allows a
search without a patient (generic), not at all where it does not (us-core); and a per-patient
rerun with `_lastUpdated` brings exactly what changed. Real profile sandboxes over loopback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox"))
from profiles_support import profile_config
from sandbox_smart import USER_SCOPE, login

from healthprep_desktop.fhir.changed_patients import changed_patients
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig
from healthprep_desktop.fhir.discovery import fetch_capabilities
from healthprep_desktop.fhir.record import fetch_patient_record
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.screening.needs import chart_needs


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def _server(profile: str) -> SandboxServer:
    org = OrgConfig("demo", clients=demo_clients(), source=SyntheticClinic(seed=7, patients=4))
    return SandboxServer(profile_config(profile, SandboxConfig(orgs=[org])))


def _client(server: SandboxServer) -> FhirClient:
    with httpx.Client() as http:
        token = login(http, server, scope=USER_SCOPE)
    return FhirClient(
        server.base_url(),
        auth=_Bearer(str(token["access_token"])),
        rate_limit=RateLimitConfig(requests_per_second=0, max_concurrency=8),
    )


def _touch(server: SandboxServer, patient_id: str) -> str:
    """A new version of one of the patient's Observations; returns its id."""
    store = server.org().store
    found = store.compartment(patient_id, ["Observation"])
    assert found
    store.put(dict(found[0].json()))
    return str(found[0].json()["id"])


async def test_changed_patients_in_one_pass_where_the_server_allows_it() -> None:
    for profile in ("generic", "us-core"):
        with _server(profile) as server:
            client = _client(server)
            try:
                caps = await fetch_capabilities(client.http, server.base_url())
                pids = server.org().store.patient_ids()
                # `_lastUpdated` has one-second precision: clear of the import, then a change.
                await asyncio.sleep(1.1)
                since = datetime.now(UTC)
                await asyncio.sleep(1.1)
                _touch(server, pids[2])
                changed = await changed_patients(client, caps, chart_needs().types, since)
                if profile == "generic":
                    assert changed == {pids[2]}
                else:  # every us-core clinical search needs the patient: ask per patient
                    assert changed is None
            finally:
                await client.aclose()


async def test_a_per_patient_rerun_brings_only_what_changed() -> None:
    with _server("us-core") as server:
        client = _client(server)
        try:
            caps = await fetch_capabilities(client.http, server.base_url())
            pid = server.org().store.patient_ids()[1]
            first = await fetch_patient_record(client, pid, capabilities=caps)
            since = first.record.fetched_at
            assert since is not None
            await asyncio.sleep(1.1)
            touched = _touch(server, pid)
            rerun = await fetch_patient_record(
                client, pid, capabilities=caps, since=since, etags=first.report.etags,
            )  # fmt: skip
            assert [(r["resourceType"], r["id"]) for r in rerun.record.resources] == [
                ("Observation", touched)
            ]
            assert rerun.report.patient_unchanged and rerun.documents == []
            # A per-type server: the rerun still asks every search (changes only come back).
            assert rerun.report.requests <= first.report.requests
        finally:
            await client.aclose()
