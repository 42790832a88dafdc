"""Bulk Data export under each server profile: what each offers, says and refuses."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx
import pytest
from bulk_support import auth, export, kick_off, poll, resources, started, system_token
from sandbox_smart import KeyPair, SandboxFactory

from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.sandbox.bulk import touch_patients
from healthprep_desktop.sandbox.bulk.capability import (
    BULK_DATA_CS,
    EXPORT,
    GROUP_EXPORT,
    PATIENT_EXPORT,
)


def _server(make_sandbox: SandboxFactory, profile: str) -> SandboxServer:
    server = make_sandbox(profile=profile)
    server.config.bulk.retry_after = 0
    return server


def _capability(http: httpx.Client, server: SandboxServer) -> dict[str, object]:
    document: dict[str, object] = http.get(f"{server.base_url()}/metadata").json()
    return document


def _definitions(document: dict[str, object]) -> set[str]:
    rest = document["rest"][0]  # type: ignore[index]
    return {op["definition"] for op in rest.get("operation", [])}


def _group_entry(document: dict[str, object]) -> dict[str, object]:
    rest = document["rest"][0]  # type: ignore[index]
    [entry] = [r for r in rest["resource"] if r["type"] == "Group"]
    found: dict[str, object] = entry
    return found


def test_generic_offers_system_patient_and_group_export(
    http: httpx.Client, make_sandbox: SandboxFactory
) -> None:
    document = _capability(http, _server(make_sandbox, "generic"))
    assert document["instantiates"] == [BULK_DATA_CS]
    assert _definitions(document) == {EXPORT, PATIENT_EXPORT, GROUP_EXPORT}
    assert _group_entry(document)["operation"] == [{"name": "export", "definition": GROUP_EXPORT}]


@pytest.mark.parametrize("profile", ["us-core", "athena-like"])
def test_us_core_and_athena_offer_group_export_with_type_and_since(
    http: httpx.Client, make_sandbox: SandboxFactory, keys: dict[str, KeyPair], profile: str
) -> None:
    server = _server(make_sandbox, profile)
    document = _capability(http, server)
    assert document["instantiates"] == [BULK_DATA_CS]
    assert _definitions(document) == {GROUP_EXPORT}
    token = system_token(http, server, keys)
    for path in ("Patient/$export", "$export"):
        refused = kick_off(http, server, token, path)
        assert refused.status_code == 404
        assert "Group/[id]/$export" in refused.json()["issue"][0]["diagnostics"]
    first = export(http, server, token, params={"_type": "Patient,Observation"})
    touch_patients(server.org(), ["clinic-p1"], ["Observation"])
    again = export(
        http,
        server,
        token,
        params={"_type": "Patient,Observation", "_since": first["transactionTime"]},
    )
    assert {r["id"] for r in resources(http, again, token)} == {
        "clinic-a1c-1",
        "clinic-a1c-2",
        "clinic-a1c-3",
        "clinic-ldl-1",
    }
    # A type the profile's server does not have is an unknown type there.
    assert kick_off(http, server, token, params={"_type": "MedicationStatement"}).status_code == 400


def test_epic_like_gives_no_progress_while_running(
    http: httpx.Client, make_sandbox: SandboxFactory, keys: dict[str, KeyPair]
) -> None:
    server = _server(make_sandbox, "epic-like")
    assert _definitions(_capability(http, server)) == {GROUP_EXPORT}
    token = system_token(http, server, keys)
    assert kick_off(http, server, token, "Patient/$export").status_code == 404
    status_url = started(kick_off(http, server, token))
    running = http.get(status_url, headers=auth(token))
    assert running.status_code == 202
    assert "X-Progress" not in running.headers and "Retry-After" in running.headers
    assert poll(http, status_url, token).status_code == 200


def test_oracle_like_allows_one_export_per_client_at_a_time(
    http: httpx.Client, make_sandbox: SandboxFactory, keys: dict[str, KeyPair]
) -> None:
    server = _server(make_sandbox, "oracle-like")
    token = system_token(http, server, keys)
    status_url = started(kick_off(http, server, token))
    second = kick_off(http, server, token)
    assert second.status_code == 429
    assert "Retry-After" in second.headers
    assert second.json()["issue"][0]["code"] == "throttled"
    done = poll(http, status_url, token)
    assert done.status_code == 200
    # Files are kept 30 days.
    expires = parsedate_to_datetime(done.headers["Expires"]).timestamp()
    assert expires == pytest.approx(server.clock.now() + 30 * 86400, abs=120)
    # Once the first is complete, or deleted, the client may start another.
    third = started(kick_off(http, server, token))
    assert kick_off(http, server, token).status_code == 429
    assert http.delete(third, headers=auth(token)).status_code == 202
    assert http.get(third, headers=auth(token)).status_code == 404
    started(kick_off(http, server, token))


def test_oracle_like_honours_lenient_handling(
    http: httpx.Client, make_sandbox: SandboxFactory, keys: dict[str, KeyPair]
) -> None:
    server = _server(make_sandbox, "oracle-like")
    token = system_token(http, server, keys)
    params = {"_type": "Patient,Bogus"}
    assert kick_off(http, server, token, params=params).status_code == 400
    lenient = {"Prefer": "respond-async, handling=lenient"}
    manifest = poll(
        http, started(kick_off(http, server, token, params=params, headers=lenient)), token
    ).json()
    assert [o["type"] for o in manifest["output"]] == ["Patient"]
    assert len(manifest["error"]) == 1


def test_oracle_like_files_outlive_a_day_but_not_a_month(
    http: httpx.Client, make_sandbox: SandboxFactory, keys: dict[str, KeyPair]
) -> None:
    server = _server(make_sandbox, "oracle-like")
    server.config.tokens.access_token_lifetime = 40 * 86400.0  # so the token outlives the files
    token = system_token(http, server, keys)
    manifest = export(http, server, token, params={"_type": "Patient"})
    url = manifest["output"][0]["url"]
    server.clock.advance(2 * 86400)
    assert http.get(url, headers=auth(token)).status_code == 200
    server.clock.advance(29 * 86400)
    assert http.get(url, headers=auth(token)).status_code == 404
