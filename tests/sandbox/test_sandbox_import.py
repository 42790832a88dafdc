"""Importing real FHIR bundles: the 128 Synthea patients, and the other bundle shapes."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sandbox_smart import bearer, entries, login, validate

from healthprep_desktop.sandbox import SandboxServer, import_paths, resources_from_bundle


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def test_all_synthea_bundles_import_with_references_resolved(synthea_dir: Path) -> None:
    files = sorted(synthea_dir.glob("*.json"))
    assert len(files) == 128
    expected: Counter[str] = Counter()
    unique: set[tuple[str, str]] = set()
    for file in files:
        bundle = json.loads(file.read_text(encoding="utf-8"))
        for entry in bundle["entry"]:
            key = (entry["resource"]["resourceType"], entry["resource"]["id"])
            if key not in unique:
                unique.add(key)
                expected[key[0]] += 1

    resources = import_paths([synthea_dir])
    got = Counter(r["resourceType"] for r in resources)
    assert got == expected
    assert got["Patient"] == 128
    keys = {f"{r['resourceType']}/{r['id']}" for r in resources}
    references = [ref for r in resources for ref in _references(r)]
    assert len(references) > 10_000
    unresolved = [ref for ref in references if ref not in keys]
    assert unresolved == []
    assert "urn:uuid:" not in json.dumps(resources[:2000])


def test_synthea_is_served_and_valid(synthea_sandbox: SandboxServer, http: httpx.Client) -> None:
    store = synthea_sandbox.org().store
    assert store.count("Patient") == 128
    token = login(http, synthea_sandbox, scope="user/*.rs")
    base = synthea_sandbox.base_url()
    for patient in store.patient_ids()[:3]:
        url: str | None = f"{base}/Patient/{patient}/$everything?_count=200"
        served: list[dict[str, Any]] = []
        while url:
            page = http.get(url, headers=bearer(token)).json()
            served += entries(page)
            url = next((lnk["url"] for lnk in page["link"] if lnk["relation"] == "next"), None)
        assert len(served) == len({(r["resourceType"], r["id"]) for r in served}) > 50
        for resource in served:
            validate(resource)
        # Every reference the chart carries can be read back.
        for ref in sorted({ref for r in served[:40] for ref in _references(r)}):
            assert http.get(f"{base}/{ref}", headers=bearer(token)).status_code == 200, ref
    hba1c = http.get(
        f"{base}/Observation",
        params={"code": "http://loinc.org|4548-4", "_count": 5, "_sort": "-date"},
        headers=bearer(token),
    ).json()
    assert hba1c["total"] > 0
    dates = [r["effectiveDateTime"] for r in entries(hba1c)]
    assert dates == sorted(dates, reverse=True)
    # Imports carry no Appointments; the imported clinic source draws a schedule.
    day = http.get(f"{base}/Appointment", params={"date": "2026-12-01"}, headers=bearer(token))
    assert day.json()["total"] == 20


def test_other_bundle_shapes(tmp_path: Path) -> None:
    note = base64.b64encode(b"hello").decode()
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:mrn", "value": "42"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {"resourceType": "Practitioner", "id": "ignored"},
                "request": {"method": "PUT", "url": "Practitioner/dr-1"},
            },
            {
                "fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
                "resource": {"resourceType": "Binary", "contentType": "text/plain", "data": note},
                "request": {"method": "POST", "url": "Binary"},
            },
            {
                "resource": {
                    "resourceType": "DocumentReference",
                    "id": "doc-1",
                    "status": "current",
                    "subject": {"reference": "Patient?identifier=urn:mrn|42"},
                    "author": [{"reference": "Practitioner/dr-1"}],
                    "content": [
                        {
                            "attachment": {
                                "contentType": "text/plain",
                                "url": "urn:uuid:22222222-2222-2222-2222-222222222222",
                            }
                        }
                    ],
                },
                "request": {"method": "POST", "url": "DocumentReference"},
            },
        ],
    }
    resources = {f"{r['resourceType']}/{r['id']}": r for r in resources_from_bundle(transaction)}
    patient_id = "11111111-1111-1111-1111-111111111111"
    binary_id = "22222222-2222-2222-2222-222222222222"
    assert set(resources) == {
        f"Patient/{patient_id}",
        "Practitioner/dr-1",
        f"Binary/{binary_id}",
        "DocumentReference/doc-1",
    }
    doc = resources["DocumentReference/doc-1"]
    assert doc["subject"]["reference"] == f"Patient/{patient_id}"
    assert doc["content"][0]["attachment"]["url"] == f"Binary/{binary_id}"
    for resource in resources.values():
        validate(resource)

    collection = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "http://ehr.example/fhir/Patient/p9",
                "resource": {"resourceType": "Patient", "id": "p9"},
            },
            {
                "fullUrl": "http://ehr.example/fhir/Condition/c1",
                "resource": {
                    "resourceType": "Condition",
                    "id": "c1",
                    "subject": {"reference": "http://ehr.example/fhir/Patient/p9"},
                },
            },
        ],
    }
    (tmp_path / "collection.json").write_text(json.dumps(collection), encoding="utf-8")
    (tmp_path / "extra.ndjson").write_text(
        json.dumps(
            {
                "resourceType": "Observation",
                "id": "o1",
                "status": "final",
                "code": {"text": "x"},
                "subject": {"reference": "Patient/p9"},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    imported = {f"{r['resourceType']}/{r['id']}": r for r in import_paths([tmp_path])}
    assert set(imported) == {"Patient/p9", "Condition/c1", "Observation/o1"}
    assert imported["Condition/c1"]["subject"]["reference"] == "Patient/p9"


def test_copied_test_cases_keep_their_own_resources(tmp_path: Path) -> None:
    """Test decks copy one case to make the next: the same Encounter id with other content in
    another file (in a nested folder) must not overwrite the first patient's encounter."""

    def case(pid: str, day: str) -> dict[str, object]:
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": f"urn:uuid:{pid}", "resource": {"resourceType": "Patient", "id": pid}},
                {
                    "fullUrl": "urn:uuid:enc-1",
                    "resource": {
                        "resourceType": "Encounter",
                        "id": "enc-1",
                        "status": "finished",
                        "subject": {"reference": f"Patient/{pid}"},
                        "period": {"start": day, "end": day},
                    },
                },
                {
                    "fullUrl": "urn:uuid:obs-1",
                    "resource": {
                        "resourceType": "Observation",
                        "id": "obs-1",
                        "status": "final",
                        "subject": {"reference": f"Patient/{pid}"},
                        "encounter": {"reference": "Encounter/enc-1"},
                    },
                },
            ],
        }

    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "a" / "deep" / "one.json").write_text(json.dumps(case("p1", "2026-01-05")))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.json").write_text(json.dumps(case("p2", "2026-02-07")))
    resources = import_paths([tmp_path])
    encounters = [r for r in resources if r["resourceType"] == "Encounter"]
    assert len(encounters) == 2
    by_patient = {e["subject"]["reference"]: e for e in encounters}
    assert by_patient["Patient/p1"]["period"]["start"] == "2026-01-05"
    assert by_patient["Patient/p2"]["period"]["start"] == "2026-02-07"
    observations = {
        r["subject"]["reference"]: r for r in resources if r["resourceType"] == "Observation"
    }
    assert len(observations) == 2
    # Each observation still points at its own patient's encounter.
    for patient_ref, obs in observations.items():
        target = obs["encounter"]["reference"].split("/", 1)[1]
        assert (
            next(e for e in encounters if e["id"] == target)["subject"]["reference"] == patient_ref
        )
