"""All 128 Synthea patients (data this team did not write) evaluate cleanly as of 2021-06-30,
and a handful of statuses checked by reading the bundles by hand."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.model import ScreeningResult, Status
from healthprep_desktop.screening.record import PatientRecord

AS_OF = date(2021, 6, 30)


def load_bundle(path: Path) -> PatientRecord:
    bundle = json.loads(path.read_text(encoding="utf-8"))
    resources = [entry["resource"] for entry in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    return PatientRecord(patient=patient, resources=[r for r in resources if r is not patient])


@pytest.fixture(scope="module")
def synthea(shared_dir: Path) -> dict[str, dict[str, ScreeningResult]]:
    paths = sorted((shared_dir / "synthea" / "bundles").glob("*.json"))
    assert len(paths) == 128
    out: dict[str, dict[str, ScreeningResult]] = {}
    lib = default_library()
    for path in paths:
        record = load_bundle(path)
        out[record.patient_id] = {r.screening_id: r for r in evaluate(record, AS_OF, lib)}
    return out


def test_every_patient_gets_every_screening(synthea: dict[str, dict[str, ScreeningResult]]) -> None:
    groups = {g for g, _ in default_library().groups()}
    statuses: Counter[Status] = Counter()
    for results in synthea.values():
        assert set(results) == groups
        for r in results.values():
            statuses[r.status] += 1
            assert r.explanation and "\n" not in r.explanation
            if r.status in (Status.COMPLETE, Status.DUE_SOON, Status.OVERDUE):
                assert r.last_done is not None and r.last_done <= AS_OF
                assert r.evidence
            if r.status in (Status.NOT_APPLICABLE, Status.INSUFFICIENT_DATA):
                assert r.reason
            json.dumps(r.to_json())  # serialisable for the store and batch output
    # Real-world-shaped data exercises every status but "insufficient" is rare and explained.
    assert {Status.COMPLETE, Status.DUE, Status.OVERDUE, Status.NOT_APPLICABLE} <= set(statuses)


def by_prefix(
    synthea: dict[str, dict[str, ScreeningResult]], prefix: str
) -> dict[str, ScreeningResult]:
    (match,) = [v for k, v in synthea.items() if k.startswith(prefix)]
    return match


def test_diabetic_woman_with_stroke(synthea: dict[str, dict[str, ScreeningResult]]) -> None:
    # b2eeab29: female, born 1951-11-25 (69). Active "Diabetes" (44054006) and "Prediabetes"
    # (15777000) since 2002; HbA1c 4548-4 = 5.42 % on 2021-03-28; eGFR 33914-3 and uACR
    # 14959-1 on 2021-03-28; "Stroke" (230690007) 2019-05-26; no statin ever ordered
    # (clopidogrel, alteplase, warfarin, verapamil, digoxin, metformin only).
    r = by_prefix(synthea, "b2eeab29")
    assert r["diabetes_hba1c"].status is Status.COMPLETE
    assert r["diabetes_hba1c"].last_done == date(2021, 3, 28)
    assert r["diabetes_hba1c"].flags == ()  # 5.4 % is not above 9 %
    # Diagnosed diabetes outranks the prediabetes code: no diabetes screening for her.
    assert r["diabetes_screening"].status is Status.NOT_APPLICABLE
    assert r["kidney_health"].status is Status.COMPLETE
    assert r["kidney_health"].next_due == date(2022, 3, 28)
    assert r["lipids_statin"].variant_id == "statin_therapy"
    assert r["lipids_statin"].status is Status.DUE
    assert r["cervical_cancer"].reason == "not eligible: age 69 (eligible 21-65)"
    assert r["breast_cancer"].status is Status.DUE  # 69, no mammogram in the bundle


def test_man_with_colonoscopies_and_uncontrolled_hypertension(
    synthea: dict[str, dict[str, ScreeningResult]],
) -> None:
    # 4648ad42: male, born 1952-07-23 (68). Colonoscopy (SNOMED 73761001) procedures completed
    # 2012-07-21, 2013-12-13 and 2018-12-12; "Hypertension" (38341003) since 1970; latest
    # blood pressure 2020-09-09 = 166/104; smoking status "Former smoker" at every visit, no
    # pack-years recorded.
    r = by_prefix(synthea, "4648ad42")
    col = r["colorectal_cancer"]
    assert col.status is Status.COMPLETE
    assert col.last_done == date(2018, 12, 12)
    assert col.next_due == date(2028, 12, 12)
    assert col.explanation == "Colonoscopy 2018-12-12 (SNOMED 73761001); next due 2028-12-12"
    bp = r["blood_pressure"]
    assert bp.variant_id == "blood_pressure_control"
    # Measured within the year (2020-09-09) but 166.3/103.9: not at goal (CMS165), not Complete.
    assert bp.status is Status.NOT_AT_GOAL
    assert bp.flags and "166.3/103.9" in bp.flags[0]
    assert "systolic 166.3 ≥ 140 and diastolic 103.9 ≥ 90" in bp.explanation
    assert r["lung_cancer"].status is Status.INSUFFICIENT_DATA  # former smoker, pack-years unknown
    assert r["abdominal_aortic_aneurysm"].status is Status.DUE  # man 65-75 who ever smoked
    assert r["breast_cancer"].status is Status.NOT_APPLICABLE


def test_young_man_with_a_lapsed_flu_shot(synthea: dict[str, dict[str, ScreeningResult]]) -> None:
    # 2cda5aad: male, born 1992-07-03 (28). Last flu shot (CVX 140) 2019-05-17, last Td (CVX 113)
    # 2015-06-05; never an HIV or hepatitis C test.
    r = by_prefix(synthea, "2cda5aad")
    # A new season without a dose is Due (not Overdue); the last dose is still shown.
    assert r["influenza_vaccine"].status is Status.DUE
    assert r["influenza_vaccine"].last_done == date(2019, 5, 17)
    assert r["influenza_vaccine"].next_due == date(2019, 8, 1)  # the season after the dose
    assert r["td_tdap_vaccine"].status is Status.COMPLETE
    assert r["td_tdap_vaccine"].next_due == date(2025, 6, 5)
    assert r["hiv"].status is Status.DUE
    assert r["hepatitis_c"].status is Status.DUE
    assert r["colorectal_cancer"].reason == "not eligible: age 28 (eligible 45-75)"


def test_deceased_patient(synthea: dict[str, dict[str, ScreeningResult]]) -> None:
    # d92a3a52: male, born 1936-08-18, deceasedDateTime 1994-04-11.
    for result in by_prefix(synthea, "d92a3a52").values():
        assert result.status is Status.NOT_APPLICABLE
        assert result.reason == "patient is deceased"
