"""The FHIR REST API over real HTTP: search, paging, conditional reads, Binary, $everything,
batch, DocumentReference writes, several organizations, errors."""

from __future__ import annotations

import json
from datetime import date
from email.utils import formatdate
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from sandbox_smart import (
    BACKEND,
    NOTE_TEXT,
    KeyPair,
    SandboxFactory,
    TinyClinic,
    backend_form,
    bearer,
    entries,
    ids,
    login,
    next_link,
    validate,
)

from healthprep_desktop.sandbox import LinkStyle, SandboxServer


@pytest.fixture(scope="module")
def system_token(tiny: SandboxServer, keys: dict[str, KeyPair]) -> dict[str, str]:
    with httpx.Client() as http:
        form = backend_form(BACKEND, tiny.token_url(), keys["ES384"], "system/*.rs")
        return bearer(http.post(tiny.token_url(), data=form).json())


def search(
    http: httpx.Client, server: SandboxServer, auth: dict[str, str], path: str, **params: Any
) -> dict[str, Any]:
    response = http.get(f"{server.base_url()}/{path}", params=params, headers=auth)
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    Bundle.model_validate(bundle)  # every served bundle is valid R4B
    return bundle


CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    (
        "Observation",
        {"patient": "clinic-p1"},
        {"clinic-a1c-1", "clinic-a1c-2", "clinic-a1c-3", "clinic-ldl-1"},
    ),
    ("Observation", {"subject": "Patient/clinic-p2"}, {"clinic-a1c-4", "clinic-bmi-1"}),
    (
        "Observation",
        {"code": "http://loinc.org|4548-4", "patient": "clinic-p1"},
        {"clinic-a1c-1", "clinic-a1c-2", "clinic-a1c-3"},
    ),
    ("Observation", {"code": "18262-6,39156-5"}, {"clinic-ldl-1", "clinic-bmi-1"}),
    ("Observation", {"code": "http://snomed.info/sct|4548-4"}, set()),
    ("Observation", {"code:not": "4548-4"}, {"clinic-ldl-1", "clinic-bmi-1"}),
    ("Observation", {"date": "2021", "code": "4548-4"}, {"clinic-a1c-2", "clinic-a1c-4"}),
    ("Observation", {"date": "ge2021-06-15"}, {"clinic-a1c-2", "clinic-ldl-1", "clinic-a1c-3"}),
    ("Observation", {"date": "lt2021-01-01"}, {"clinic-a1c-1"}),
    ("Observation", {"date": "2020-05-01"}, {"clinic-a1c-1"}),  # wall clock, offset ignored
    ("Observation", {"date": "2022-01"}, {"clinic-a1c-3"}),
    ("Observation", {"date": "gt2022-01-10"}, set()),
    (
        "Observation",
        {"date": "le2021-02-01", "patient": "clinic-p2"},
        {"clinic-a1c-4", "clinic-bmi-1"},
    ),
    ("Observation", {"category": "vital-signs"}, {"clinic-bmi-1"}),
    (
        "Observation",
        {
            "category": "http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
            "patient": "clinic-p2",
        },
        {"clinic-a1c-4"},
    ),
    ("Observation", {"status": "preliminary"}, set()),
    ("Observation", {"_id": "clinic-a1c-1,clinic-bmi-1"}, {"clinic-a1c-1", "clinic-bmi-1"}),
    ("Observation", {"_lastUpdated": "lt2000-01-01"}, set()),
    (
        "Observation",
        {"unknown-param": "ignored", "patient": "clinic-p2"},
        {"clinic-a1c-4", "clinic-bmi-1"},
    ),
    ("Patient", {"identifier": "urn:mrn|CLINICMRN2"}, {"clinic-p2"}),
    ("Patient", {"identifier": "CLINICMRN3"}, {"clinic-p3"}),
    ("Patient", {"family": "alv"}, {"clinic-p1"}),
    ("Patient", {"name": "LEE"}, {"clinic-p3"}),
    ("Patient", {"gender": "male"}, {"clinic-p2"}),
    ("Patient", {"birthdate": "lt1970"}, {"clinic-p1"}),
    ("Condition", {"code": "http://hl7.org/fhir/sid/icd-10-cm|E11.9"}, {"clinic-dm"}),
    ("Condition", {"clinical-status": "active", "onset-date": "2019"}, {"clinic-dm"}),
    ("Encounter", {"practitioner": "clinic-dr", "date": "2021-06-15"}, {"clinic-enc-1"}),
    ("Encounter", {"class": "AMB", "status": "finished"}, {"clinic-enc-1"}),
    (
        "DocumentReference",
        {"patient": "clinic-p1", "type": "http://loinc.org|11506-3"},
        {"clinic-doc-1"},
    ),
    ("DocumentReference", {"date": "ge2021-03-01", "contenttype": "text/plain"}, {"clinic-doc-1"}),
    ("Practitioner", {"name": "osler"}, {"clinic-dr"}),
    ("Location", {"name": "Suite"}, {"clinic-loc"}),
]


@pytest.mark.parametrize(("path", "params", "expected"), CASES)
def test_search_parameters(
    tiny: SandboxServer,
    http: httpx.Client,
    system_token: dict[str, str],
    path: str,
    params: dict[str, Any],
    expected: set[str],
) -> None:
    bundle = search(http, tiny, system_token, path, **params)
    assert set(ids(bundle)) == expected
    assert bundle["total"] == len(expected)
    assert bundle["type"] == "searchset"


def test_bad_searches_are_400_outcomes(
    tiny: SandboxServer, http: httpx.Client, system_token: dict[str, str]
) -> None:
    for path, params in [
        ("Observation", {"date": "yesterday"}),
        ("Observation", {"code:text": "a1c"}),
        ("Observation", {"_sort": "code"}),
        ("Observation", {"_count": "many"}),
        ("Appointment", {"_include": "Appointment:nonsense"}),
    ]:
        response = http.get(f"{tiny.base_url()}/{path}", params=params, headers=system_token)
        assert response.status_code == 400, params
        assert response.json()["resourceType"] == "OperationOutcome"


def test_sort(tiny: SandboxServer, http: httpx.Client, system_token: dict[str, str]) -> None:
    ascending = ids(
        search(http, tiny, system_token, "Observation", patient="clinic-p1", _sort="date")
    )
    assert ascending == [
        "clinic-a1c-1",
        "clinic-a1c-2",
        "clinic-ldl-1",
        "clinic-a1c-3",
    ] or ascending == [
        "clinic-a1c-1",
        "clinic-ldl-1",
        "clinic-a1c-2",
        "clinic-a1c-3",
    ]
    descending = ids(
        search(http, tiny, system_token, "Observation", patient="clinic-p1", _sort="-date")
    )
    assert descending[0] == "clinic-a1c-3" and descending[-1] == "clinic-a1c-1"
    by_update = ids(search(http, tiny, system_token, "Observation", _sort="-_lastUpdated"))
    assert len(by_update) == 6


def test_appointments_come_from_the_schedule_on_demand(
    make_sandbox: SandboxFactory, http: httpx.Client, keys: dict[str, KeyPair]
) -> None:
    server = make_sandbox()
    auth = bearer(
        http.post(
            server.token_url(),
            data=backend_form(BACKEND, server.token_url(), keys["RS384"], "system/*.rs"),
        ).json()
    )
    source = server.org().source
    assert isinstance(source, TinyClinic)
    assert source.schedule_calls == []
    day = date(2026, 12, 1)  # a Tuesday
    bundle = search(
        http, server, auth, "Appointment", date="2026-12-01", _include="Appointment:patient"
    )
    assert source.schedule_calls == [day]
    assert set(ids(bundle)) == {"clinic-appt-20261201-1", "clinic-appt-20261201-2"}
    assert set(ids(bundle, "include")) == {"clinic-p1", "clinic-p2"}
    for resource in entries(bundle, None):
        validate(resource)
    # Asked again: served from the store, not regenerated.
    search(http, server, auth, "Appointment", date="2026-12-01")
    assert source.schedule_calls == [day]
    # Ranges, practitioner and location.
    two_days = search(
        http,
        server,
        auth,
        "Appointment",
        date=["ge2026-12-01", "lt2026-12-03"],
        practitioner="clinic-dr",
    )
    assert two_days["total"] == 4
    assert date(2026, 12, 2) in source.schedule_calls
    at = search(
        http,
        server,
        auth,
        "Appointment",
        date="2026-12-02",
        location="Location/clinic-loc",
        patient="clinic-p2",
    )
    assert ids(at) == ["clinic-appt-20261202-2"]
    assert search(http, server, auth, "Appointment", date="2026-12-05")["total"] == 0  # Saturday
    # An unbounded range does not generate years of schedules.
    calls = len(source.schedule_calls)
    search(http, server, auth, "Appointment", date="ge2026-01-01")
    assert len(source.schedule_calls) == calls


def test_include_and_revinclude(
    tiny: SandboxServer, http: httpx.Client, system_token: dict[str, str]
) -> None:
    bundle = search(
        http, tiny, system_token, "Patient", _id="clinic-p1", _revinclude="Observation:patient"
    )
    assert ids(bundle) == ["clinic-p1"]
    assert set(ids(bundle, "include")) == {
        "clinic-a1c-1",
        "clinic-a1c-2",
        "clinic-a1c-3",
        "clinic-ldl-1",
    }
    assert bundle["total"] == 1
    enc = search(http, tiny, system_token, "Encounter", _include="Encounter:practitioner")
    assert ids(enc, "include") == ["clinic-dr"]


@pytest.mark.parametrize("style", list(LinkStyle))
def test_paging_in_every_link_style(
    make_sandbox: SandboxFactory, http: httpx.Client, style: LinkStyle
) -> None:
    server = make_sandbox(link_style=style)
    token = login(http, server, scope="user/*.rs")
    base = server.base_url()
    url: str | None = f"{base}/Observation?_count=2&_sort=date"
    seen: list[str] = []
    pages = 0
    while url is not None:
        response = http.get(url, headers=bearer(token))
        assert response.status_code == 200
        bundle = response.json()
        Bundle.model_validate(bundle)
        assert bundle["total"] == 6
        seen += ids(bundle)
        pages += 1
        link = next_link(bundle)
        if link is None:
            break
        if style is LinkStyle.ABSOLUTE:
            assert link.startswith(base + "/Observation?")
            url = link
        elif style is LinkStyle.PATH:
            assert link.startswith("/org/clinic/fhir/Observation?")
            url = urljoin(server.url, link)
        else:  # relative to the FHIR base (not to the current URL)
            assert link.startswith("Observation?")
            url = f"{base}/{link}"
        if pages > 1:
            assert any(lnk["relation"] == "previous" for lnk in bundle["link"])
    assert pages == 3
    assert len(seen) == 6 and len(set(seen)) == 6
    assert seen == ids(search(http, server, bearer(token), "Observation", _sort="date"))


def test_paging_links_are_bound_to_the_token(tiny: SandboxServer, http: httpx.Client) -> None:
    first = login(http, tiny, scope="user/*.rs")
    bundle = http.get(
        f"{tiny.base_url()}/Observation", params={"_count": 1}, headers=bearer(first)
    ).json()
    link = next_link(bundle)
    assert link is not None
    p1 = login(http, tiny)  # another client context (a patient token)
    assert http.get(link, headers=bearer(p1)).status_code == 410
    assert http.get(link, headers=bearer(first)).status_code == 200


def test_conditional_reads(
    tiny: SandboxServer, http: httpx.Client, system_token: dict[str, str]
) -> None:
    url = f"{tiny.base_url()}/Patient/clinic-p2"
    first = http.get(url, headers=system_token)
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag == 'W/"1"'
    assert first.json()["meta"]["versionId"] == "1"
    assert http.get(url, headers={**system_token, "If-None-Match": etag}).status_code == 304
    assert http.get(url, headers={**system_token, "If-None-Match": 'W/"7"'}).status_code == 200
    assert http.get(url, headers={**system_token, "If-Modified-Since": modified}).status_code == 304
    old = formatdate(0, usegmt=True)
    assert http.get(url, headers={**system_token, "If-Modified-Since": old}).status_code == 200
    assert http.get(f"{url}/_history/1", headers=system_token).status_code == 200
    assert http.get(f"{url}/_history/9", headers=system_token).status_code == 404


def test_binary_read(tiny: SandboxServer, http: httpx.Client, system_token: dict[str, str]) -> None:
    url = f"{tiny.base_url()}/Binary/clinic-bin-1"
    raw = http.get(url, headers=system_token)
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.content == NOTE_TEXT
    as_json = http.get(url, headers={**system_token, "Accept": "application/fhir+json"})
    assert as_json.json()["resourceType"] == "Binary"
    validate(as_json.json())
    # The Binary belongs to the compartment of the patient whose document points at it.
    p1 = login(http, tiny)
    assert p1["patient"] == "clinic-p1"
    assert http.get(url, headers=bearer(p1)).content == NOTE_TEXT
    tiny.org().config.default_patient = "clinic-p2"  # auto-approve now picks patient 2
    try:
        p2 = login(http, tiny)
    finally:
        tiny.org().config.default_patient = None
    assert p2["patient"] == "clinic-p2"
    assert http.get(url, headers=bearer(p2)).status_code == 403


def test_everything(tiny: SandboxServer, http: httpx.Client) -> None:
    token = login(http, tiny)  # patient clinic-p1
    url = f"{tiny.base_url()}/Patient/clinic-p1/$everything"
    bundle = http.get(url, headers=bearer(token)).json()
    Bundle.model_validate(bundle)
    types = [r["resourceType"] for r in entries(bundle)]
    assert types[0] == "Patient"
    assert sorted(set(types)) == [
        "Binary",
        "Condition",
        "DocumentReference",
        "Encounter",
        "Observation",
        "Patient",
        "Practitioner",
    ]
    assert types.count("Observation") == 4
    assert bundle["total"] == len(types) == 10
    # Paged, and filtered by _type.
    paged: list[str] = []
    next_url: str | None = f"{url}?_count=3"
    while next_url:
        page = http.get(next_url, headers=bearer(token)).json()
        paged += ids(page)
        next_url = next_link(page)
    assert sorted(paged) == sorted(ids(bundle))
    only = http.get(url, params={"_type": "Observation"}, headers=bearer(token)).json()
    assert ids(only) and all(r["resourceType"] == "Observation" for r in entries(only))
    other = http.get(f"{tiny.base_url()}/Patient/clinic-p2/$everything", headers=bearer(token))
    assert other.status_code == 403


def test_batch(tiny: SandboxServer, http: httpx.Client, system_token: dict[str, str]) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/clinic-p1"}},
            {"request": {"method": "GET", "url": "Observation?patient=clinic-p2&_count=1"}},
            {"request": {"method": "GET", "url": "Patient/nobody"}},
            {"request": {"method": "GET", "url": f"{tiny.base_url()}/Condition?code=E11.9"}},
            {"request": {"method": "DELETE", "url": "Patient/clinic-p1"}},
        ],
    }
    response = http.post(
        tiny.base_url(),
        json=batch,
        headers={**system_token, "Content-Type": "application/fhir+json"},
    )
    assert response.status_code == 200
    result = response.json()
    Bundle.model_validate(result)
    assert result["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["200 OK", "200 OK", "404 Not Found", "200 OK", "405 Method Not Allowed"]
    assert result["entry"][0]["resource"]["id"] == "clinic-p1"
    assert result["entry"][0]["response"]["etag"] == 'W/"1"'
    assert result["entry"][1]["resource"]["total"] == 2
    assert result["entry"][2]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert result["entry"][3]["resource"]["total"] == 1
    transaction = {**batch, "type": "transaction"}
    assert http.post(tiny.base_url(), json=transaction, headers=system_token).status_code == 400


def _note(patient: str, text: str = "Prep sheet") -> dict[str, Any]:
    import base64

    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(text.encode()).decode(),
                }
            }
        ],
    }


def test_document_reference_create_and_update(
    make_sandbox: SandboxFactory, http: httpx.Client
) -> None:
    server = make_sandbox()
    token = login(http, server, scope="user/*.rs user/DocumentReference.cruds")
    base = server.base_url()
    headers = {**bearer(token), "Content-Type": "application/fhir+json"}

    created = http.post(f"{base}/DocumentReference", json=_note("clinic-p2"), headers=headers)
    assert created.status_code == 201
    assert created.content == b""  # no body without Prefer: return=representation
    assert created.headers["etag"] == 'W/"1"'
    location = created.headers["location"]
    assert location.startswith(f"{base}/DocumentReference/") and location.endswith("/_history/1")
    doc_id = location.split("/")[-3]
    fetched = http.get(f"{base}/DocumentReference/{doc_id}", headers=bearer(token)).json()
    validate(fetched)
    assert fetched["subject"]["reference"] == "Patient/clinic-p2"
    assert http.get(location, headers=bearer(token)).status_code == 200  # vread
    found = http.get(
        f"{base}/DocumentReference", params={"patient": "clinic-p2"}, headers=bearer(token)
    ).json()
    assert ids(found) == [doc_id]

    shown = http.post(
        f"{base}/DocumentReference",
        json=_note("clinic-p3"),
        headers={**headers, "Prefer": "return=representation"},
    )
    assert shown.status_code == 201 and shown.json()["meta"]["versionId"] == "1"

    update = {**fetched, "status": "superseded"}
    updated = http.put(
        f"{base}/DocumentReference/{doc_id}", json=update, headers={**headers, "If-Match": 'W/"1"'}
    )
    assert updated.status_code == 200 and updated.headers["etag"] == 'W/"2"'
    stale = http.put(
        f"{base}/DocumentReference/{doc_id}", json=update, headers={**headers, "If-Match": 'W/"1"'}
    )
    assert stale.status_code == 412
    assert (
        http.get(f"{base}/DocumentReference/{doc_id}/_history/1", headers=bearer(token)).json()[
            "status"
        ]
        == "current"
    )

    invalid = {**_note("clinic-p2"), "status": 42}
    rejected = http.post(f"{base}/DocumentReference", json=invalid, headers=headers)
    assert rejected.status_code == 422
    assert rejected.json()["resourceType"] == "OperationOutcome"
    nobody = http.post(f"{base}/DocumentReference", json=_note("nobody"), headers=headers)
    assert nobody.status_code == 422
    mismatch = http.put(f"{base}/DocumentReference/other-id", json=update, headers=headers)
    assert mismatch.status_code == 400
    not_json = http.post(f"{base}/DocumentReference", content=b"{", headers=headers)
    assert not_json.status_code == 400
    obs = http.post(f"{base}/Observation", json={"resourceType": "Observation"}, headers=headers)
    assert obs.status_code == 405


def test_patient_token_writes_only_for_its_patient(tiny: SandboxServer, http: httpx.Client) -> None:
    token = login(http, tiny, scope="launch/patient patient/*.read patient/DocumentReference.c")
    headers = {**bearer(token), "Content-Type": "application/fhir+json"}
    assert (
        http.post(
            f"{tiny.base_url()}/DocumentReference", json=_note("clinic-p1"), headers=headers
        ).status_code
        == 201
    )
    assert (
        http.post(
            f"{tiny.base_url()}/DocumentReference", json=_note("clinic-p2"), headers=headers
        ).status_code
        == 403
    )


def test_organizations_are_isolated(make_sandbox: SandboxFactory, http: httpx.Client) -> None:
    server = make_sandbox("north", "south")
    north = login(http, server, org="north", scope="user/*.rs")
    south = login(http, server, org="south", scope="user/*.rs")
    north_patients = http.get(f"{server.base_url('north')}/Patient", headers=bearer(north)).json()
    assert set(ids(north_patients)) == {"north-p1", "north-p2", "north-p3"}
    # A token from one organization means nothing at another.
    assert http.get(f"{server.base_url('south')}/Patient", headers=bearer(north)).status_code == 401
    assert (
        http.get(f"{server.base_url('south')}/Patient/north-p1", headers=bearer(south)).status_code
        == 404
    )
    config = http.get(f"{server.base_url('south')}/.well-known/smart-configuration").json()
    assert config["token_endpoint"] == server.token_url("south") != server.token_url("north")
    stats = http.get(f"{server.url}/_sandbox/stats").json()
    assert {"north", "south"} <= set(stats["by_org"])
    index = http.get(server.url).json()
    assert [o["fhir_base"] for o in index["organizations"]] == [
        server.base_url("north"),
        server.base_url("south"),
    ]


def test_errors_are_operation_outcomes(
    tiny: SandboxServer, http: httpx.Client, system_token: dict[str, str]
) -> None:
    base = tiny.base_url()
    for method, url, status in [
        ("GET", f"{base}/Spaceship", 404),
        ("GET", f"{base}/Patient/nobody", 404),
        ("DELETE", f"{base}/Patient/clinic-p1", 405),
        ("GET", f"{tiny.url}/org/nowhere/fhir/Patient", 404),
        ("POST", base, 400),
        ("GET", f"{tiny.url}/nothing/here", 404),
        ("GET", tiny.token_url(), 405),
    ]:
        response = http.request(method, url, headers=system_token, content=b"[]")
        assert response.status_code == status, url
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        validate(outcome)
        assert json.dumps(outcome).count("issue") == 1
