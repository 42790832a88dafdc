"""The DEQM gaps-in-care document of one patient: it parses with the R4B models, every
reference resolves inside it, and the gaps it states follow the measures' outcomes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from healthprep_desktop.screening.measures import MeasurementPeriod, measure_defs
from healthprep_desktop.screening.measures.gaps_bundle import (
    GAP_STATUS_EXTENSION,
    ClinicOrganization,
    gaps_bundle,
)
from healthprep_desktop.workers.gaps_cli import patient_gaps
from tests.screening.measures.builders import MALE, Case, code_in
from tests.screening.measures.make.cms122 import a1c
from tests.screening.measures.make.cms122 import base as diabetic

PERIOD = MeasurementPeriod.calendar_year(2026)
AS_OF = date(2026, 6, 1)
BASE = "https://ehr.example/fhir"
CLINIC = ClinicOrganization("tenant-1", "Test clinic")
OFFICE = code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt")
MAMMOGRAM = code_in("2.16.840.1.113883.3.464.1003.108.12.1018", "loinc")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _document(
    case: Case, due: dict[str, date] | None = None, now: datetime = NOW
) -> dict[str, Any] | None:
    reports, gaps, errors = patient_gaps(case.patient, case.resources, PERIOD, due or {}, AS_OF)
    assert errors == {}
    return gaps_bundle(case.patient, PERIOD, reports, gaps, CLINIC, BASE, now=now)


def _gaps(bundle: dict[str, Any]) -> dict[str, str]:
    """CMS id -> gap status of each DetectedIssue (one group per measure here)."""
    out: dict[str, str] = {}
    for entry in bundle["entry"]:
        issue = entry["resource"]
        if issue["resourceType"] != "DetectedIssue":
            continue
        (ext,) = issue["modifierExtension"]
        assert ext["url"] == GAP_STATUS_EXTENSION
        out[issue["detail"].split()[0]] = ext["valueCodeableConcept"]["coding"][0]["code"]
    return out


def _woman_with_mammogram(when: str) -> Case:
    case = Case("pat-1", birth="1970-05-05")
    case.encounter(OFFICE, "2026-03-01T09:00:00Z")
    case.observation(MAMMOGRAM, when, category="imaging")
    return case


def test_one_patient_several_measures_document_shape() -> None:
    bundle = _document(_woman_with_mammogram("2025-06-01T08:00:00Z"))
    assert bundle is not None
    Bundle.model_validate(bundle)  # R4B parses it (and every resource inside)
    assert bundle["type"] == "document" and bundle["timestamp"] == "2026-06-01T12:00:00Z"
    assert bundle["identifier"]["value"] == f"urn:uuid:{bundle['id']}"
    resources = [e["resource"] for e in bundle["entry"]]
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert len(by_url) == len(resources)
    composition = resources[0]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "96315-7",
        "display": "Gaps in care report",
    }
    assert composition["subject"] == {"reference": "Patient/pat-1"}
    (author,) = composition["author"]
    assert by_url[f"{BASE}/{author['reference']}"]["name"] == "Test clinic"

    def resolve(reference: str) -> dict[str, Any]:
        return by_url[f"{BASE}/{reference}"]

    gaps = _gaps(bundle)
    # A woman of 56 with a visit: several measures have her in the denominator at once.
    assert gaps["CMS125"] == "closed-gap"  # mammogram within the look-back
    assert gaps["CMS130"] == "open-gap"  # no colorectal screening
    assert gaps["CMS249"] == "closed-gap"  # inverse: no DXA scan ordered
    assert len(gaps) >= 4
    assert len(composition["section"]) == len(gaps)
    for section in composition["section"]:
        report = resolve(section["focus"]["reference"])
        assert report["resourceType"] == "MeasureReport" and report["type"] == "individual"
        assert resolve(report["subject"]["reference"])["resourceType"] == "Patient"
        assert resolve(report["reporter"]["reference"])["resourceType"] == "Organization"
        for ref in section["entry"]:
            issue = resolve(ref["reference"])
            assert issue["code"]["coding"][0]["code"] == "CAREGAP"
            (evidence,) = issue["evidence"]
            assert evidence["detail"] == [section["focus"]]
            assert issue["patient"] == {"reference": "Patient/pat-1"}
            closed = issue["modifierExtension"][0]["valueCodeableConcept"]["coding"][0]["code"]
            assert issue["status"] == ("final" if closed == "closed-gap" else "preliminary")
    # CMS22 counts encounters: the open gap names the visit without a BP screening.
    (cms22,) = [r for r in resources if r.get("detail", "").startswith("CMS22 ")]
    assert cms22["implicated"] == [{"reference": "Encounter/pat-1-encounter-1"}]
    # Not in the initial population: no section, no DetectedIssue (e.g. childhood measures).
    assert "CMS117" not in gaps and "CMS155" not in gaps and "CMS122" not in gaps
    urls = {d.url: cms for cms, d in measure_defs().items()}
    notations = {
        urls[r["measure"]]: r["improvementNotation"]["coding"][0]["code"]
        for r in resources
        if r["resourceType"] == "MeasureReport"
    }
    assert notations["CMS249"] == "decrease" and notations["CMS125"] == "increase"


def test_prospective_gap_from_the_screening_due_date() -> None:
    case = _woman_with_mammogram("2024-11-01T08:00:00Z")
    # Biennial screening: due again 2026-11-01, inside the period; the measure still counts it.
    bundle = _document(case, {"CMS125": date(2026, 11, 1)})
    assert bundle is not None
    Bundle.model_validate(bundle)
    assert _gaps(bundle)["CMS125"] == "prospective-gap"
    later = _document(case, {"CMS125": date(2027, 1, 1)})
    assert later is not None and _gaps(later)["CMS125"] == "closed-gap"


def test_inverse_measure_gap_is_poor_control() -> None:
    poor = diabetic("dm-poor")
    a1c(poor, "2026-05-01T08:00:00Z", 9.5)
    good = diabetic("dm-good")
    a1c(good, "2026-05-01T08:00:00Z", 7.0)
    poor_doc, good_doc = _document(poor), _document(good)
    assert poor_doc is not None and good_doc is not None
    Bundle.model_validate(poor_doc)
    assert _gaps(poor_doc)["CMS122"] == "open-gap"
    assert _gaps(good_doc)["CMS122"] == "closed-gap"


def test_no_denominator_no_document() -> None:
    # A young man with no qualifying visit is in no measure's denominator.
    case = Case("pat-2", birth="1996-01-01", sex=MALE)
    assert _document(case) is None


def test_same_gaps_same_document_ids() -> None:
    case = _woman_with_mammogram("2025-06-01T08:00:00Z")
    first = _document(case)
    again = _document(case, now=datetime(2026, 6, 2, tzinfo=UTC))
    assert first is not None and again is not None
    ids = [e["fullUrl"] for e in first["entry"]]
    assert ids == [e["fullUrl"] for e in again["entry"]]
    assert first["identifier"] == again["identifier"]
    # Another gap status is another document.
    changed = _document(case, {"CMS125": date(2026, 11, 1)})
    assert changed is not None and changed["identifier"] != first["identifier"]
