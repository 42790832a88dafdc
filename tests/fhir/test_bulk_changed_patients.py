"""Reruns on servers that cannot list changes by search (us-core, epic-like) but export the
panel's Group: one `$export?_since=` names the changed patients, in a handful of requests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox"))
from profiles_support import profile_config
from sandbox_smart import USER_SCOPE, login

from healthprep_desktop.fhir.changed_patients import changed_patients
from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig
from healthprep_desktop.fhir.discovery import fetch_capabilities
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.bulk import touch_patients
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.screening.needs import chart_needs


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


@pytest.mark.parametrize("profile", ["us-core", "epic-like"])
async def test_a_group_export_with_since_names_the_changed_patients(profile: str) -> None:
    org = OrgConfig("demo", clients=demo_clients(), source=SyntheticClinic(seed=7, patients=6))
    with SandboxServer(profile_config(profile, SandboxConfig(orgs=[org]))) as server:
        server.config.bulk.retry_after = 0
        with httpx.Client() as http:
            token = login(http, server, scope=USER_SCOPE)
        client = FhirClient(
            server.base_url(),
            auth=_Bearer(str(token["access_token"])),
            rate_limit=RateLimitConfig(requests_per_second=0, max_concurrency=8),
        )
        async with client:
            caps = await fetch_capabilities(client.http, server.base_url())
            since = datetime.now(UTC)
            pids = server.org().store.patient_ids()
            assert touch_patients(server.org(), [pids[3]]) > 0
            types = chart_needs().types
            assert await changed_patients(client, caps, types, since) is None  # no group
            before = client.stats.requests
            changed = await changed_patients(client, caps, types, since, group_id="panel")
            used = client.stats.requests - before
            assert changed == {pids[3]}
            assert used <= 25  # kick-off, polls, the changed types' files, DELETE
            missing = await changed_patients(client, caps, types, since, group_id="no-such")
            assert missing is None  # the export failed: ask per patient
