"""Fault and load injection, and the request counters."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from sandbox_smart import PUBLIC, SandboxFactory, bearer, entries, login, validate

from healthprep_desktop.sandbox import OverCapacity, SandboxServer
from healthprep_desktop.sandbox.faults import is_malformed


@pytest.fixture
def server(make_sandbox: SandboxFactory) -> SandboxServer:
    return make_sandbox()


@pytest.fixture
def auth(server: SandboxServer, http: httpx.Client) -> dict[str, str]:
    return bearer(login(http, server, scope="offline_access user/*.rs"))


def test_rate_limit_answers_429_with_retry_after(
    server: SandboxServer, http: httpx.Client, auth: dict[str, str]
) -> None:
    server.set_faults(rate_limit=0.5, rate_burst=2)
    statuses = []
    for _ in range(4):
        response = http.get(f"{server.base_url()}/Patient", headers=auth)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["issue"][0]["code"] == "throttled"
    assert statuses == [200, 200, 429, 429]
    # Discovery is never throttled, so a client can always find its way back in.
    assert http.get(f"{server.base_url()}/metadata").status_code == 200
    stats = server.stats
    assert stats["faults"]["rate_limited"] == 2
    assert stats["by_status"]["429"] == 2
    server.set_faults(rate_limit=None)
    assert http.get(f"{server.base_url()}/Patient", headers=auth).status_code == 200


def _statuses(http: httpx.Client, server: SandboxServer, auth: dict[str, str], n: int) -> list[int]:
    return [
        http.get(f"{server.base_url()}/Patient/clinic-p1", headers=auth).status_code
        for _ in range(n)
    ]


def test_random_server_errors_follow_the_rate_and_the_seed(
    server: SandboxServer, http: httpx.Client, auth: dict[str, str]
) -> None:
    server.set_faults(error_rate=0.3, seed=7)
    first = _statuses(http, server, auth, 120)
    errors = [s for s in first if s != 200]
    assert 15 <= len(errors) <= 60
    assert set(errors) <= {500, 502, 503} and len(set(errors)) >= 2
    server.set_faults(seed=7)  # same seed, same sequence
    assert _statuses(http, server, auth, 120) == first
    server.set_faults(seed=8)
    assert _statuses(http, server, auth, 120) != first
    assert server.stats["faults"]["server_error"] >= 45
    server.set_faults(error_rate=1.0, error_statuses=(503,))
    response = http.get(f"{server.base_url()}/Patient", headers=auth)
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["resourceType"] == "OperationOutcome"


def test_malformed_fraction_is_deterministic(
    synthea_sandbox: SandboxServer, http: httpx.Client
) -> None:
    server = synthea_sandbox
    token = login(http, server, scope="user/*.rs")
    patient = server.org().store.patient_ids()[0]
    url = f"{server.base_url()}/Patient/{patient}/$everything"
    try:
        server.set_faults(malformed_fraction=0.1, seed=3)
        bundle = http.get(url, params={"_count": 1000}, headers=bearer(token)).json()
        invalid = []
        for resource in entries(bundle):
            try:
                validate(resource)
            except ValueError:
                invalid.append(f"{resource.get('resourceType')}/{resource.get('id')}")
        total = len(entries(bundle))
        assert total > 100
        assert 0.03 * total <= len(invalid) <= 0.2 * total
        expected = {
            s.key
            for s in server.org().store.compartment(patient)
            if is_malformed(3, 0.1, s.resource_type, s.key)
        }
        assert set(invalid) == expected
        assert not any(key.startswith("Patient/") for key in invalid)
        again = http.get(url, params={"_count": 1000}, headers=bearer(token)).json()
        assert again == {**bundle, "id": again["id"], "meta": again["meta"]}
        # Reads stay valid: the fault targets search results.
        rtype, rid = invalid[0].split("/")
        validate(http.get(f"{server.base_url()}/{rtype}/{rid}", headers=bearer(token)).json())
    finally:
        server.set_faults(malformed_fraction=0.0, seed=0)
    clean = http.get(url, params={"_count": 1000}, headers=bearer(token)).json()
    for resource in entries(clean):
        validate(resource)


def test_short_token_lifetime_forces_a_refresh(server: SandboxServer, http: httpx.Client) -> None:
    server.config.tokens.access_token_lifetime = 60
    token = login(http, server)
    assert token["expires_in"] == 60
    url = f"{server.base_url()}/Patient/clinic-p1"
    assert http.get(url, headers=bearer(token)).status_code == 200
    server.clock.advance(61)
    assert http.get(url, headers=bearer(token)).status_code == 401
    refreshed = http.post(
        server.token_url(),
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": PUBLIC,
        },
    ).json()
    assert http.get(url, headers=bearer(refreshed)).status_code == 200


def test_latency_and_slow_bodies(
    server: SandboxServer, http: httpx.Client, auth: dict[str, str]
) -> None:
    url = f"{server.base_url()}/Observation"
    plain = http.get(url, headers=auth)
    server.set_faults(latency_ms=150, jitter_ms=50)
    started = time.monotonic()
    assert http.get(url, headers=auth).status_code == 200
    assert time.monotonic() - started >= 0.15
    server.set_faults(latency_ms=0, jitter_ms=0, slow_body_ms=300, slow_body_chunks=3)
    started = time.monotonic()
    slow = http.get(url, headers=auth)
    assert time.monotonic() - started >= 0.3
    assert slow.status_code == 200
    assert entries(slow.json()) == entries(plain.json())
    assert server.stats["faults"]["slow_body"] == 1


def test_dropped_connections(
    server: SandboxServer, http: httpx.Client, auth: dict[str, str]
) -> None:
    server.set_faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{server.base_url()}/Patient", headers=auth)
    server.set_faults(drop_rate=0.0)
    assert http.get(f"{server.base_url()}/Patient", headers=auth).status_code == 200
    stats = server.stats
    assert stats["faults"]["dropped"] == 1
    assert stats["by_status"]["dropped"] == 1


async def _parallel(server: SandboxServer, auth: dict[str, str], n: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        return await asyncio.gather(
            *(client.get(f"{server.base_url()}/Patient", headers=auth) for _ in range(n))
        )


async def test_concurrency_cap_rejects_or_queues(
    server: SandboxServer, http: httpx.Client, auth: dict[str, str]
) -> None:
    server.set_faults(max_concurrent=2, latency_ms=300)
    rejected = await _parallel(server, auth, 6)
    codes = sorted(r.status_code for r in rejected)
    assert codes.count(200) >= 2 and codes.count(503) >= 1, codes
    assert all(r.headers["retry-after"] == "1" for r in rejected if r.status_code == 503)
    server.set_faults(over_capacity=OverCapacity.QUEUE)
    started = time.monotonic()
    queued = await _parallel(server, auth, 6)
    assert [r.status_code for r in queued] == [200] * 6
    assert time.monotonic() - started >= 0.9  # three waves of two at 300 ms each


def test_fifty_parallel_requests(server: SandboxServer, auth: dict[str, str]) -> None:
    responses = asyncio.run(_parallel(server, auth, 50))
    assert [r.status_code for r in responses] == [200] * 50


def test_stats_count_per_type_interaction_and_status_without_phi(
    server: SandboxServer, http: httpx.Client, auth: dict[str, str]
) -> None:
    server.reset_stats()
    base = server.base_url()
    http.get(f"{base}/Patient/clinic-p1", headers=auth)
    http.get(f"{base}/Patient/nobody", headers=auth)
    http.get(f"{base}/Observation", params={"patient": "clinic-p1"}, headers=auth)
    http.get(f"{base}/Observation")
    text = http.get(f"{server.url}/_sandbox/stats").text
    for phi in ("clinic-p1", "Alvarez", "Rosa", "MRN"):
        assert phi not in text
    stats = server.stats
    detail = {(d["type"], d["interaction"], d["status"]): d["count"] for d in stats["detail"]}
    assert detail[("Patient", "read", "200")] == 1
    assert detail[("Patient", "read", "404")] == 1
    assert detail[("Observation", "search-type", "200")] == 1
    assert detail[("Observation", "search-type", "401")] == 1
    assert stats["by_type"]["Patient"] == 2
    assert stats["by_org"]["clinic"] >= 4


def test_faults_spare_discovery(
    server: SandboxServer, http: httpx.Client, auth: dict[str, str]
) -> None:
    server.set_faults(error_rate=1.0)
    assert http.get(f"{server.base_url()}/metadata").status_code == 200
    assert http.get(f"{server.base_url()}/.well-known/smart-configuration").status_code == 200
    assert http.get(f"{server.base_url()}/Patient", headers=auth).status_code >= 500
    # ...unless asked to include the authorization endpoints.
    server.set_faults(include_auth=True)
    token = http.post(server.token_url(), data={"grant_type": "client_credentials"})
    assert token.status_code >= 500
