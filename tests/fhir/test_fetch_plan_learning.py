"""The fetch learns from a server's 400 answers and remembers it for the connection: a required
category or intent the CapabilityStatement did not say, a page-size cap, a parameter it does not
take. Real profile sandboxes over loopback HTTP (sandbox.profiles), real SMART login."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox"))
from profiles_support import profile_config
from sandbox_smart import USER_SCOPE, login

from healthprep_desktop.fhir.client import FhirClient
from healthprep_desktop.fhir.config import RateLimitConfig
from healthprep_desktop.fhir.discovery import fetch_capabilities
from healthprep_desktop.fhir.fetch_plan import SearchStep, plan_fetch
from healthprep_desktop.fhir.record import FetchResult, fetch_patient_record
from healthprep_desktop.fhir.search_limits import NEEDS_PARTNER, SearchLimits
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.clinic import SyntheticClinic


def _server(profile: str) -> SandboxServer:
    org = OrgConfig("demo", clients=demo_clients(), source=SyntheticClinic(seed=7, patients=3))
    return SandboxServer(profile_config(profile, SandboxConfig(orgs=[org])))


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def _client(server: SandboxServer) -> FhirClient:
    with httpx.Client() as http:
        token = login(http, server, scope=USER_SCOPE)
    return FhirClient(
        server.base_url(),
        auth=_Bearer(str(token["access_token"])),
        rate_limit=RateLimitConfig(requests_per_second=0, max_concurrency=8),
    )


def _keys(result: FetchResult) -> set[tuple[str, str]]:
    return {(str(r["resourceType"]), str(r["id"])) for r in result.record.resources}


def _refusals(server: SandboxServer) -> int:
    by_status = server.stats["by_status"]
    return int(by_status.get("400", 0)) + int(by_status.get("404", 0))


async def test_a_required_category_is_learned_when_the_statement_is_not_read() -> None:
    with _server("us-core") as server:
        client = _client(server)
        try:
            first_id, second_id = server.org().store.patient_ids()[:2]
            caps = await fetch_capabilities(client.http, server.base_url())
            told = await fetch_patient_record(client, first_id, capabilities=caps)
            assert not told.report.learned and _refusals(server) == 0
            # Without the CapabilityStatement: Observation?patient and MedicationRequest?patient
            # are refused (400); the fetch retries with the categories and intents it needs.
            client.search_limits = SearchLimits()
            learned = await fetch_patient_record(client, first_id, capabilities=None)
            assert {"Observation needs a category", "MedicationRequest needs a intent"} <= set(
                learned.report.learned
            ), learned.report.learned
            assert ("Observation", NEEDS_PARTNER) in client.search_limits.refused
            assert _keys(learned) >= _keys(told) and _keys(told)
            # The next chart of the connection pays nothing for it.
            refused = _refusals(server)
            again = await fetch_patient_record(client, second_id, capabilities=None)
            assert not again.report.learned
            observations = [k for k in _keys(again) if k[0] == "Observation"]
            assert observations
            # No refusal again, and the types it lacks (404 once) are not asked for again.
            assert _refusals(server) == refused
            assert "no MedicationStatement on this server" in learned.report.learned
            assert any("does not offer" in w and "MedicationStatement" in w
                       for w in again.report.warnings)  # fmt: skip
        finally:
            await client.aclose()


async def test_a_page_size_cap_is_learned_from_the_refusal() -> None:
    with _server("oracle-like") as server:
        client = _client(server)
        try:
            caps = await fetch_capabilities(client.http, server.base_url())
            first_id, second_id = server.org().store.patient_ids()[:2]
            first = await fetch_patient_record(client, first_id, capabilities=caps)
            assert "pages of at most 200" in first.report.learned
            assert client.search_limits.page_cap == 200
            assert plan_fetch(caps, limits=client.search_limits).page_size == 200
            before = _refusals(server)
            second = await fetch_patient_record(client, second_id, capabilities=caps)
            assert not second.report.learned and _refusals(server) == before
            assert second.record.resources
        finally:
            await client.aclose()


async def test_charts_in_flight_together_pay_for_a_refusal_once() -> None:
    with _server("oracle-like") as server:
        client = _client(server)
        try:
            caps = await fetch_capabilities(client.http, server.base_url())
            pids = server.org().store.patient_ids()
            plan = plan_fetch(caps)
            results = await asyncio.gather(
                *(fetch_patient_record(client, p, capabilities=caps) for p in pids)
            )
            assert all(r.record.resources for r in results)
            # The first chart learns the cap (one refusal per search); the others wait for it.
            assert _refusals(server) <= len(plan.searches)
            assert sum(bool(r.report.learned) for r in results) == 1
        finally:
            await client.aclose()


async def test_an_unsupported_optional_parameter_is_dropped_and_remembered() -> None:
    with _server("us-core") as server:
        client = _client(server)
        try:
            caps = await fetch_capabilities(client.http, server.base_url())
            pid = server.org().store.patient_ids()[0]
            plan = plan_fetch(caps)
            # A plan asking for a parameter the server does not take (us-core refuses: 400).
            steps = tuple(
                SearchStep(
                    s.resource_type,
                    (*s.params, ("_sort", "-date")),
                    s.why,
                    (*s.optional, "_sort"),
                    s.categories,
                )
                for s in plan.searches
            )
            odd = dataclasses.replace(plan, searches=steps)
            result = await fetch_patient_record(client, pid, capabilities=caps, plan=odd)
            assert "Encounter _sort" in result.report.learned
            assert not client.search_limits.allows("Encounter", "_sort")
            assert client.search_limits.allows("Encounter", "_count")  # named: only _sort
            plain = await fetch_patient_record(client, pid, capabilities=caps)
            assert _keys(result) == _keys(plain)
        finally:
            await client.aclose()


def test_what_was_learned_survives_a_restart_in_the_store() -> None:
    from healthprep_desktop.fhir.search_limits_store import load_search_limits, save_search_limits
    from healthprep_desktop.store import Store

    store = Store.open()
    try:
        tenant = store.create_tenant("Clinic")
        conn = (
            store.tenant(tenant.id).connections.add("ehr", "generic", "https://ehr.example/fhir").id
        )
        limits = SearchLimits()
        limits.refuse("Observation", NEEDS_PARTNER)
        limits.cap_pages(200)
        save_search_limits(store, tenant.id, conn, limits)
        again = load_search_limits(store, tenant.id, conn)
        assert again.refused == limits.refused and again.page_cap == 200
        assert load_search_limits(store, tenant.id, conn + 1).refused == set()
    finally:
        store.close()
