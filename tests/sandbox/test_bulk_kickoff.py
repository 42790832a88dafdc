"""Bulk Data kick-off against the sandbox over real HTTP: what is accepted and every refusal."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from bulk_support import (
    KICKOFF_HEADERS,
    auth,
    export,
    keys_of,
    kick_off,
    lines,
    poll,
    resources,
    started,
    system_token,
)
from sandbox_smart import USER_SCOPE, KeyPair, bearer, login, tiny_config

from healthprep_desktop.sandbox import SandboxServer


@pytest.fixture(scope="module")
def server(keys: dict[str, KeyPair]) -> Iterator[SandboxServer]:
    """One tiny-clinic sandbox for the module: these tests change no settings but this one."""
    with SandboxServer(tiny_config(keys)) as server:
        server.config.bulk.retry_after = 0
        yield server


@pytest.fixture(scope="module")
def token(server: SandboxServer, keys: dict[str, KeyPair]) -> str:
    with httpx.Client(timeout=10.0) as http:
        return system_token(http, server, keys)


def _outcome(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    text: str = body["issue"][0]["diagnostics"]
    return text


def test_group_export_kick_off_is_accepted_with_a_status_url(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    response = kick_off(http, server, token, params={"_type": "Patient,Observation"})
    status_url = started(response)
    assert status_url.startswith(f"{server.base_url()}/$export-status/")
    manifest = poll(http, status_url, token).json()
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].startswith(f"{server.base_url()}/Group/panel/$export?")
    assert {o["type"] for o in manifest["output"]} == {"Patient", "Observation"}


def test_kick_off_without_prefer_respond_async_is_refused(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    response = http.get(
        f"{server.base_url()}/Group/panel/$export",
        headers=auth(token, Accept="application/fhir+json"),
    )
    assert "Prefer: respond-async" in _outcome(response, 400)


def test_kick_off_without_fhir_json_accept_is_refused(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    response = kick_off(http, server, token, headers={"Accept": "*/*"})
    assert "Accept: application/fhir+json" in _outcome(response, 400)


@pytest.mark.parametrize("fmt", ["application/fhir+ndjson", "application/ndjson", "ndjson"])
def test_ndjson_output_formats_are_accepted(
    http: httpx.Client, server: SandboxServer, token: str, fmt: str
) -> None:
    started(kick_off(http, server, token, params={"_outputFormat": fmt}))


def test_other_output_formats_are_refused(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    response = kick_off(http, server, token, params={"_outputFormat": "text/csv"})
    assert "_outputFormat" in _outcome(response, 400)


def test_an_unknown_type_is_refused_when_strict(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    response = kick_off(http, server, token, params={"_type": "Patient,Bogus"})
    text = _outcome(response, 400)
    assert "Bogus" in text and "handling=lenient" in text


def test_an_unknown_type_is_ignored_and_reported_when_lenient(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    prefer = {"Prefer": "respond-async, handling=lenient"}
    status_url = started(
        kick_off(http, server, token, params={"_type": "Patient,Bogus"}, headers=prefer)
    )
    manifest = poll(http, status_url, token).json()
    assert [o["type"] for o in manifest["output"]] == ["Patient"]
    [error] = manifest["error"]
    assert error["type"] == "OperationOutcome"
    [outcome] = lines(http, error["url"], token)
    assert outcome["issue"][0]["severity"] == "warning"
    assert "Bogus" in outcome["issue"][0]["diagnostics"]


def test_an_unknown_group_is_not_found(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    response = kick_off(http, server, token, path="Group/nobody/$export")
    assert "Group/nobody" in _outcome(response, 404)


def test_a_type_outside_the_granted_scopes_is_forbidden(
    http: httpx.Client, server: SandboxServer, keys: dict[str, KeyPair]
) -> None:
    token = system_token(http, server, keys, scope="system/Observation.read")
    response = kick_off(http, server, token, params={"_type": "Patient,Observation"})
    assert "Patient" in _outcome(response, 403)
    started(kick_off(http, server, token, params={"_type": "Observation"}))


def test_patient_level_scopes_cannot_export(http: httpx.Client, server: SandboxServer) -> None:
    token = login(http, server)["access_token"]  # patient/*.read
    response = kick_off(http, server, token)
    _outcome(response, 403)


def test_user_level_scopes_can_export(http: httpx.Client, server: SandboxServer) -> None:
    token = login(http, server, scope=USER_SCOPE)["access_token"]
    manifest = export(http, server, token, params={"_type": "Patient"})
    assert manifest["output"][0]["count"] == 3


def test_no_token_gets_401(http: httpx.Client, server: SandboxServer) -> None:
    response = http.get(f"{server.base_url()}/Group/panel/$export", headers=KICKOFF_HEADERS)
    assert response.status_code == 401
    assert "Bearer" in response.headers["www-authenticate"]


def test_unsupported_parameters_are_refused_unless_lenient(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    params = {"_typeFilter": "Observation?category=laboratory"}
    assert "_typeFilter" in _outcome(kick_off(http, server, token, params=params), 400)
    lenient = {"Prefer": "respond-async; handling=lenient"}
    started(kick_off(http, server, token, params=params, headers=lenient))


def test_a_since_that_is_not_an_instant_is_refused(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    response = kick_off(http, server, token, params={"_since": "yesterday"})
    assert "_since" in _outcome(response, 400)
    response = kick_off(http, server, token, params={"_since": "2026-01-01T00:00:00"})
    assert "_since" in _outcome(response, 400)  # no time zone


def test_post_kick_off_with_parameters(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    parameters = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "_type", "valueString": "Patient,Observation"},
            {"name": "_outputFormat", "valueString": "application/fhir+ndjson"},
            {"name": "patient", "valueReference": {"reference": "Patient/clinic-p2"}},
        ],
    }
    response = http.post(
        f"{server.base_url()}/Group/panel/$export",
        content=json.dumps(parameters),
        headers=auth(token, **KICKOFF_HEADERS, **{"Content-Type": "application/fhir+json"}),
    )
    manifest = poll(http, started(response), token).json()
    found = resources(http, manifest, token)
    assert keys_of(found) == {
        "Patient/clinic-p2",
        "Observation/clinic-a1c-4",
        "Observation/clinic-bmi-1",
    }


def test_patient_and_system_level_export_on_the_generic_server(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    patient_level = export(http, server, token, "Patient/$export", {"_type": "Patient"})
    assert patient_level["output"][0]["count"] == 3
    system_level = export(http, server, token, "$export", {"_type": "Practitioner,Location"})
    assert {o["type"]: o["count"] for o in system_level["output"]} == {
        "Practitioner": 1,
        "Location": 1,
    }


def test_kick_offs_are_counted_in_the_sandbox_stats(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    # The middleware counts a request once its response is sent, just after the client has
    # it: wait for the token request to be counted before resetting.
    deadline = time.monotonic() + 5
    while server.stats["requests"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.reset_stats()
    status_url = started(kick_off(http, server, token, params={"_type": "Patient"}))
    polls = 1
    while (status := http.get(status_url, headers=auth(token))).status_code == 202:
        polls += 1
    lines(http, status.json()["output"][0]["url"], token)
    deadline = time.monotonic() + 5
    while server.stats["requests"] < 2 + polls and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = server.stats
    assert stats["requests"] == 2 + polls
    assert stats["by_interaction"] == {
        "operation:export": 1,
        "bulk-status": polls,
        "bulk-file": 1,
    }
    assert stats["by_type"]["Group"] == 1 and stats["by_type"]["Patient"] == 1


def test_group_read_needs_a_user_or_system_token(http: httpx.Client, server: SandboxServer) -> None:
    patient_token = login(http, server)
    response = http.get(f"{server.base_url()}/Group/panel", headers=bearer(patient_token))
    _outcome(response, 403)
