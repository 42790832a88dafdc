"""Two sources with different values for one fact on one day: the priority source's value is
screened, and the sheet line, the results JSON and the viewer say what the other source had."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.sources.merge import SourceChart, merge_charts
from healthprep_desktop.sources.model import Source
from healthprep_desktop.ui.sheet_details import _evidence_text
from healthprep_desktop.workers.evidence_sources import (
    evidence_sources,
    label_results,
    label_results_json,
    value_text,
)

LOINC = "http://loinc.org"
CLINIC = Source("primary", "Riverbend Family Medicine", 0, primary=True)
HOSPITAL = Source("stmarys", "St Mary's Hospital", 10)
PATIENT = {"resourceType": "Patient", "id": "pat-1", "birthDate": "1962-03-04", "gender": "female"}


def _diabetes(rid: str, patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "onsetDateTime": "2015-01-01",
    }


def _hba1c(rid: str, patient: str, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "4548-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-10-02",
        "valueQuantity": {"value": value, "unit": "%", "system": "http://unitsofmeasure.org"},
    }


def test_a_conflicting_value_is_named_on_the_line_in_json_and_in_the_viewer() -> None:
    merged = merge_charts(
        [
            SourceChart(
                CLINIC, "pat-1", [PATIENT, _diabetes("c1", "pat-1"), _hba1c("o1", "pat-1", 7.2)]
            ),
            SourceChart(HOSPITAL, "H77", [_hba1c("o9", "H77", 9.6)], datetime(2026, 12, 1, 7)),
        ]
    )
    assert len(merged.conflicts) == 1
    sources = evidence_sources(merged, CLINIC)
    assert sources.conflicts == {"Observation/o1": ("St Mary's Hospital had 9.6 %",)}

    record = PatientRecord(
        patient=PATIENT, resources=[r for r in merged.screened if r is not PATIENT]
    )
    results = evaluate(record, date(2026, 12, 1), default_library())
    hba1c = next(r for r in results if any(e.reference == "Observation/o1" for e in r.evidence))
    assert "9.6" not in hba1c.explanation  # the priority source's 7.2 % is what was screened

    labelled = label_results(results, sources)
    line = next(r for r in labelled if r.screening_id == hba1c.screening_id)
    assert line.explanation.endswith(" · St Mary's Hospital had 9.6 %")
    untouched = [r for r in labelled if r.screening_id != hba1c.screening_id]
    assert all("St Mary's" not in r.explanation for r in untouched)

    as_json = [r.to_json() for r in results]
    label_results_json(as_json, sources)
    item = next(e for r in as_json for e in r["evidence"] if e["reference"] == "Observation/o1")
    assert item["conflicts"] == ["St Mary's Hospital had 9.6 %"]
    assert item["source"] == "Riverbend Family Medicine"
    assert "St Mary's Hospital had 9.6 %" in _evidence_text(item)


def test_value_text() -> None:
    assert value_text({"valueQuantity": {"value": 8.1, "unit": "%"}}) == "8.1 %"
    assert value_text({"valueCodeableConcept": {"text": "positive"}}) == "positive"
    assert value_text({"valueBoolean": False}) == "no"
    assert value_text({"status": "final"}) == ""
