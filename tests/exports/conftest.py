"""Export fixtures: a real store (SQLCipher) on the test's own HEALTHPREP_HOME, holding a small
clinic whose stored charts and results carry every kind of identifier an export could leak.

Results are built with the engine's own contract (ScreeningResult.to_json), so the envelopes
have exactly the shape a batch or a panel run stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from healthprep_desktop.screening.model import Evidence, EvidenceKind, ScreeningResult, Status
from healthprep_desktop.sources.model import SOURCE_TAG_SYSTEM
from healthprep_desktop.store import Store, TenantScope
from healthprep_desktop.store.repos.panel_results import PanelResult

CLINIC_DAY = date(2026, 12, 4)
MRN_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"


@pytest.fixture
def store() -> Iterator[Store]:
    opened = Store.open()
    try:
        yield opened
    finally:
        opened.close()


@dataclass
class Clinic:
    scope: TenantScope
    connection_id: int
    connection_name: str
    day: date
    patients: list[dict[str, Any]] = field(default_factory=list)  # the Patient resources


def _patient(
    pid: str, family: str, given: str, mrn: str, born: str, sex: str, zip_code: str, phone: str
) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [
            {"type": {"coding": [{"system": MRN_SYSTEM, "code": "MR"}]}, "value": mrn},
        ],
        "name": [{"use": "official", "family": family, "given": [given]}],
        "birthDate": born,
        "gender": sex,
        "address": [{"use": "home", "line": ["12 Elm St"], "postalCode": zip_code}],
        "telecom": [{"system": "phone", "value": phone}],
    }


def _results(name: str, crc_done: date | None, stmarys: bool) -> list[dict[str, Any]]:
    evidence = (
        Evidence(
            kind=EvidenceKind.CODE,
            reference="Procedure/stmarys.colo-1" if stmarys else "Procedure/colo-1",
            date=crc_done,
            description="Colonoscopy",
            snippet=f"{name} had a colonoscopy on {crc_done}",
        ),
    )
    crc = ScreeningResult(
        screening_id="colorectal",
        name="Colorectal cancer screening",
        status=Status.COMPLETE if crc_done else Status.DUE,
        explanation=f"Colonoscopy {crc_done}" if crc_done else "nothing on record",
        last_done=crc_done,
        next_due=date(crc_done.year + 10, crc_done.month, crc_done.day) if crc_done else None,
        evidence=evidence if crc_done else (),
    )
    a1c = ScreeningResult(
        screening_id="diabetes-a1c",
        name="HbA1c control",
        status=Status.NOT_AT_GOAL,
        explanation="HbA1c 9.6 %",
        reason=f"Declined by {name} on 2025-11-02",
        last_done=date(2026, 3, 1),
        flags=("HbA1c 9.6 % on 2026-03-01 is above 9 %",),
    )
    return [crc.to_json(), a1c.to_json()]


def _chart(patient: dict[str, Any], stmarys: bool, done: date | None) -> dict[str, Any]:
    observation = {
        "resourceType": "Observation",
        "id": "a1c-1",
        "effectiveDateTime": "2026-03-01T09:30:00Z",
    }
    procedure: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": "colo-1",
        "performedDateTime": done.isoformat() if done else None,
    }
    if stmarys:
        procedure["id"] = "stmarys.colo-1"
        procedure["meta"] = {
            "tag": [{"system": SOURCE_TAG_SYSTEM, "code": "stmarys", "display": "St Mary's"}],
            "source": "#stmarys",
        }
    resources = [observation] + ([procedure] if done else [])
    documents = [{"reference": "DocumentReference/d1", "date": "2025-06-30", "title": "Note"}]
    return {"patient": patient, "resources": resources, "documents": documents}


PEOPLE = [
    # id, family, given, MRN, born, sex, ZIP, phone, colonoscopy, from St Mary's
    ("pat-aa11", "Okafor", "Adaeze", "MRN-700101", "1961-05-17", "female", "02139", "617-555-0142",
     date(2019, 4, 23), False),
    ("pat-bb22", "Lindqvist", "Henrik", "MRN-700102", "1933-02-11", "male", "03601", "603-555-0177",
     None, False),
    ("pat-cc33", "Ramirez", "Lucia", "MRN-700103", "1958-09-30", "female", "10025-1234",
     "212-555-0199", date(2022, 8, 9), True),
]  # fmt: skip


@pytest.fixture
def clinic(store: Store) -> Clinic:
    scope = store.tenant(store.create_tenant("Clinic").id)
    connection = scope.connections.add("Main EHR", "generic", "https://ehr.example/fhir")
    job = scope.jobs.create(CLINIC_DAY, connection_id=connection.id)
    made = Clinic(scope, connection.id, connection.name, CLINIC_DAY)
    for pid, family, given, mrn, born, sex, zip_code, phone, done, stmarys in PEOPLE:
        patient = _patient(pid, family, given, mrn, born, sex, zip_code, phone)
        made.patients.append(patient)
        results = _results(f"{given} {family}", done, stmarys)
        envelope = {"as_of": CLINIC_DAY.isoformat(), "summary": {}, "results": results}
        # An older sheet of the same day first: the export must take the newest.
        stale = {"as_of": CLINIC_DAY.isoformat(), "results": results[:1]}
        scope.sheets.save(pid, CLINIC_DAY, b"%PDF-old", stale, job_id=job.id)
        scope.sheets.save(pid, CLINIC_DAY, b"%PDF", envelope, job_id=job.id)
        scope.records.put(
            connection.id,
            pid,
            fetched_at="2026-12-03T08:00:00+00:00",
            etags={},
            record=_chart(patient, stmarys, done),
            record_hash=pid,
        )
        population = {"initial-population": 1, "denominator": 1, "numerator": int(bool(done))}
        scope.panel.put(
            PanelResult(
                connection_id=connection.id,
                patient_id=pid,
                results=envelope,
                record_hash=pid,
                measures={"2026": {"CMS130": {"Group_1": population}}},
            )
        )
    return made
