"""Bulk Data output files from the sandbox: content, splitting, Range, cut downloads resumed,
expiry, and incremental (_since) exports."""

from __future__ import annotations

import json

import httpx
import pytest
from bulk_support import (
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
from sandbox_smart import KeyPair, SandboxFactory

from healthprep_desktop.sandbox import SandboxServer
from healthprep_desktop.sandbox.bulk import touch_patients
from healthprep_desktop.sandbox.bulk.writer import as_of, millis


@pytest.fixture
def server(make_sandbox: SandboxFactory) -> SandboxServer:
    server = make_sandbox()
    server.config.bulk.retry_after = 0
    return server


@pytest.fixture
def token(http: httpx.Client, server: SandboxServer, keys: dict[str, KeyPair]) -> str:
    return system_token(http, server, keys)


def _everything(http: httpx.Client, server: SandboxServer, token: str) -> dict[str, bytes]:
    """Each patient's Patient/$everything, resource key -> resource JSON (the compartment)."""
    found: dict[str, bytes] = {}
    for patient_id in server.org().store.patient_ids():
        url = f"{server.base_url()}/Patient/{patient_id}/$everything"
        bundle = http.get(url, params={"_count": "1000"}, headers=auth(token)).json()
        assert not [link for link in bundle.get("link", []) if link["relation"] == "next"]
        for entry in bundle["entry"]:
            resource = entry["resource"]
            found[f"{resource['resourceType']}/{resource['id']}"] = json.dumps(
                resource, sort_keys=True
            ).encode()
    return found


def test_files_hold_exactly_what_the_compartments_hold(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    manifest = export(http, server, token)
    exported = resources(http, manifest, token)
    as_json = {
        f"{r['resourceType']}/{r['id']}": json.dumps(r, sort_keys=True).encode() for r in exported
    }
    assert len(as_json) == len(exported)  # shared resources (the practitioner) only once
    assert as_json == _everything(http, server, token)


def test_type_filter_limits_the_files_and_patient_comes_along_only_when_asked(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    manifest = export(http, server, token, params={"_type": "Observation,Condition"})
    assert {o["type"] for o in manifest["output"]} == {"Observation", "Condition"}
    with_patient = export(http, server, token, params={"_type": "Patient"})
    assert keys_of(resources(http, with_patient, token)) == {
        "Patient/clinic-p1",
        "Patient/clinic-p2",
        "Patient/clinic-p3",
    }


def test_a_type_is_split_into_several_files_above_the_line_limit(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    server.config.bulk.max_lines_per_file = 2
    manifest = export(http, server, token, params={"_type": "Observation"})
    outputs = manifest["output"]
    assert [o["url"].rsplit("/", 1)[1] for o in outputs] == [
        "Observation-1.ndjson",
        "Observation-2.ndjson",
        "Observation-3.ndjson",
    ]
    assert [o["count"] for o in outputs] == [2, 2, 2]
    assert len(keys_of(resources(http, manifest, token))) == 6


def test_files_need_a_token(http: httpx.Client, server: SandboxServer, token: str) -> None:
    manifest = export(http, server, token, params={"_type": "Patient"})
    response = http.get(manifest["output"][0]["url"])
    assert response.status_code == 401


def test_an_expired_file_is_404_with_an_outcome_saying_so(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    server.config.bulk.file_expiry_seconds = 60
    manifest = export(http, server, token, params={"_type": "Patient"})
    url = manifest["output"][0]["url"]
    assert http.get(url, headers=auth(token)).status_code == 200
    server.clock.advance(61)
    expired = http.get(url, headers=auth(token))
    assert expired.status_code == 404
    issue = expired.json()["issue"][0]
    assert "expired" in issue["diagnostics"] and "start a new export" in issue["diagnostics"]


def test_range_requests_give_206_parts(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    manifest = export(http, server, token, params={"_type": "Observation"})
    url = manifest["output"][0]["url"]
    whole = http.get(url, headers=auth(token))
    assert whole.headers["accept-ranges"] == "bytes"
    body = whole.content
    size = len(body)
    tail = http.get(url, headers=auth(token, Range="bytes=100-"))
    assert tail.status_code == 206
    assert tail.headers["content-range"] == f"bytes 100-{size - 1}/{size}"
    assert tail.content == body[100:]
    middle = http.get(url, headers=auth(token, Range="bytes=10-19"))
    assert middle.status_code == 206 and middle.content == body[10:20]
    last = http.get(url, headers=auth(token, Range="bytes=-7"))
    assert last.status_code == 206 and last.content == body[-7:]
    beyond = http.get(url, headers=auth(token, Range=f"bytes={size}-"))
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{size}"


def test_a_cut_download_resumes_with_a_range_request(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    manifest = export(http, server, token, params={"_type": "Observation"})
    url = manifest["output"][0]["url"]
    whole = http.get(url, headers=auth(token)).content
    server.config.bulk.next_downloads_cut = 1
    server.config.bulk.cut_after_bytes = 100
    received = bytearray()
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("GET", url, headers=auth(token)) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += chunk
    assert len(received) == 100
    rest = http.get(url, headers=auth(token, Range=f"bytes={len(received)}-"))
    assert rest.status_code == 206
    assert bytes(received) + rest.content == whole
    assert server.config.bulk.next_downloads_cut == 0  # only once


def test_since_returns_only_what_changed_after_it(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    params = {"_type": "Patient,Observation"}
    first = export(http, server, token, params=params)
    assert len(resources(http, first, token)) == 9
    changed = touch_patients(server.org(), ["clinic-p2"])
    assert changed == 3  # the patient and two observations
    second = export(http, server, token, params={**params, "_since": first["transactionTime"]})
    assert keys_of(resources(http, second, token)) == {
        "Patient/clinic-p2",
        "Observation/clinic-a1c-4",
        "Observation/clinic-bmi-1",
    }
    third = export(http, server, token, params={**params, "_since": second["transactionTime"]})
    assert third["output"] == []


def test_a_resource_changed_after_kick_off_is_written_as_it_was(server: SandboxServer) -> None:
    store = server.org().store
    before = store.get("Observation", "clinic-a1c-1")
    assert before is not None
    moment = millis(server.clock.now())
    server.clock.advance(1)
    after = store.put({**before.json(), "status": "amended"})
    assert as_of(store, after, moment) is not None
    assert as_of(store, after, moment).version == before.version  # type: ignore[union-attr]
    assert as_of(store, after, millis(server.clock.now())) is after
    new = store.put({"resourceType": "Observation", "id": "brand-new", "status": "final"})
    assert as_of(store, new, moment) is None


def test_a_group_export_names_the_group_in_its_request(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    status_url = started(kick_off(http, server, token, params={"_type": "Condition"}))
    manifest = poll(http, status_url, token).json()
    assert "/Group/panel/$export" in manifest["request"]
    assert [r["id"] for r in lines(http, manifest["output"][0]["url"], token)] == ["clinic-dm"]


def test_the_touch_control_changes_patients_of_a_sandbox_in_another_process(
    http: httpx.Client, server: SandboxServer, token: str
) -> None:
    first = export(http, server, token, params={"_type": "Patient"})
    touched = http.post(f"{server.url}/_sandbox/bulk/touch", json={"count": 1})
    assert touched.status_code == 200
    assert touched.json()["patients"] == 1 and touched.json()["changed"] >= 1
    by_id = http.post(f"{server.url}/_sandbox/bulk/touch", json={"patients": ["clinic-p3"]})
    assert by_id.json() == {"changed": 1, "patients": 1}  # p3 has only the Patient resource
    again = export(
        http, server, token, params={"_type": "Patient", "_since": first["transactionTime"]}
    )
    first_patient = server.org().store.patient_ids()[0]
    assert keys_of(resources(http, again, token)) == {
        f"Patient/{first_patient}",
        "Patient/clinic-p3",
    }
    assert http.post(f"{server.url}/_sandbox/bulk/touch", json=[1]).status_code == 400
