"""Merging charts: tags, re-keyed ids, de-duplication, conflicts kept, priority, provenance."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from healthprep_desktop.sources.merge import (
    SourceChart,
    SourceFailure,
    clinical_day,
    merge_charts,
    source_of,
)
from healthprep_desktop.sources.model import CONFLICT_EXTENSION_URL, Source, SourceKind

LOINC = "http://loinc.org"
CLINIC = Source("primary", "Riverbend Family Medicine", 0, primary=True)
HOSPITAL = Source("stmarys", "St Mary's Hospital", 10)
REGISTRY = Source("iis", "State Immunization Registry", 20, SourceKind.REGISTRY)


def hba1c(rid: str, patient: str, when: str, value: float, unit: str = "%") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "4548-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org"},
    }


def colonoscopy(rid: str, patient: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": rid,
        "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "73761001"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "performedDateTime": when,
        "encounter": {"reference": "Encounter/enc-9"},
    }


def test_hospital_only_procedure_is_screened_with_the_hospital_as_source() -> None:
    merged = merge_charts(
        [
            SourceChart(CLINIC, "pat-1", [{"resourceType": "Patient", "id": "pat-1"}]),
            SourceChart(
                HOSPITAL,
                "H77",
                [{"resourceType": "Patient", "id": "H77"}, colonoscopy("p1", "H77", "2022-03-14")],
            ),
        ]
    )
    procedures = [r for r in merged.screened if r["resourceType"] == "Procedure"]
    assert len(procedures) == 1
    procedure = procedures[0]
    assert procedure["id"] == "stmarys.p1"
    assert procedure["subject"] == {"reference": "Patient/pat-1"}  # the clinic's patient
    assert procedure["encounter"] == {"reference": "Encounter/stmarys.enc-9"}
    assert source_of(procedure) == "stmarys"
    assert procedure["meta"]["source"] == "#stmarys"
    origin = merged.origin(procedure)
    assert origin is not None and origin.label() == "2022-03-14 · St Mary's Hospital"
    # The hospital's Patient is not a second patient in the merged chart.
    assert [r["id"] for r in merged.screened if r["resourceType"] == "Patient"] == ["pat-1"]


def test_same_lab_in_two_sources_counts_once_and_the_priority_copy_wins() -> None:
    merged = merge_charts(
        [
            SourceChart(HOSPITAL, "H77", [hba1c("o9", "H77", "2026-05-02T08:00:00-05:00", 6.1)]),
            SourceChart(CLINIC, "pat-1", [hba1c("o1", "pat-1", "2026-05-02T14:30:00Z", 6.10)]),
        ]
    )
    assert [r["id"] for r in merged.screened] == ["o1"]  # the clinic (priority 0) copy
    assert merged.duplicates_dropped == 1
    assert merged.conflicts == []
    origin = merged.origin(merged.screened[0])
    assert origin is not None and origin.also_in == ("St Mary's Hospital",)


def test_priority_decides_between_two_secondary_sources() -> None:
    low = Source("low", "Low", 50)
    merged = merge_charts(
        [
            SourceChart(CLINIC, "pat-1", []),
            SourceChart(low, "L1", [hba1c("x", "L1", "2026-05-02", 7.0)]),
            SourceChart(HOSPITAL, "H77", [hba1c("y", "H77", "2026-05-02", 7.0)]),
        ]
    )
    assert [r["id"] for r in merged.screened] == ["stmarys.y"]


def test_conflicting_values_on_one_day_are_both_kept_and_marked() -> None:
    merged = merge_charts(
        [
            SourceChart(CLINIC, "pat-1", [hba1c("o1", "pat-1", "2026-05-02", 6.4)]),
            SourceChart(HOSPITAL, "H77", [hba1c("o9", "H77", "2026-05-02", 7.9)]),
        ]
    )
    assert [r["id"] for r in merged.screened] == ["o1"]  # used: the priority source's value
    assert len(merged.conflicts) == 1
    conflict = merged.conflicts[0]
    assert conflict.used["id"] == "o1"
    (other,) = conflict.others
    assert other["valueQuantity"]["value"] == 7.9
    assert {"url": CONFLICT_EXTENSION_URL, "valueString": "Observation/o1"} in other["extension"]
    assert [r["id"] for r in merged.visible()] == ["o1", "stmarys.o9"]
    origin = merged.origin(other)
    assert origin is not None and origin.source_name == "St Mary's Hospital"


def test_different_units_are_a_conflict_not_a_duplicate() -> None:
    merged = merge_charts(
        [
            SourceChart(CLINIC, "pat-1", [hba1c("o1", "pat-1", "2026-05-02", 6.0)]),
            SourceChart(HOSPITAL, "H77", [hba1c("o9", "H77", "2026-05-02", 6.0, "mmol/mol")]),
        ]
    )
    assert merged.duplicates_dropped == 0 and len(merged.conflicts) == 1


def test_within_one_source_nothing_is_merged() -> None:
    merged = merge_charts(
        [
            SourceChart(
                CLINIC,
                "pat-1",
                [hba1c("a", "pat-1", "2026-05-02", 6.0), hba1c("b", "pat-1", "2026-05-02", 6.0)],
            )
        ]
    )
    assert len(merged.screened) == 2 and merged.duplicates_dropped == 0


def test_other_day_is_not_a_duplicate() -> None:
    merged = merge_charts(
        [
            SourceChart(CLINIC, "pat-1", [hba1c("o1", "pat-1", "2026-05-02", 6.0)]),
            SourceChart(HOSPITAL, "H77", [hba1c("o9", "H77", "2026-05-03", 6.0)]),
        ]
    )
    assert len(merged.screened) == 2


def test_the_source_resources_are_not_modified() -> None:
    original = colonoscopy("p1", "H77", "2022-03-14")
    merge_charts([SourceChart(CLINIC, "pat-1", []), SourceChart(HOSPITAL, "H77", [original])])
    assert original == colonoscopy("p1", "H77", "2022-03-14")


def test_exactly_one_primary_chart_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one primary"):
        merge_charts([SourceChart(HOSPITAL, "H77", [])])


def test_clinical_day_reads_periods_and_ignores_partial_dates() -> None:
    assert clinical_day({"performedPeriod": {"start": "2022-03-14T09:00:00Z"}}) == date(2022, 3, 14)
    assert clinical_day({"effectiveDateTime": "2022"}) is None


def test_source_ids_must_be_fhir_id_safe() -> None:
    with pytest.raises(ValueError, match="source id"):
        Source("St Mary's", "St Mary's", 1)


def test_failed_source_is_named_and_the_rest_is_merged() -> None:
    read = datetime(2026, 12, 1, 7, 5)
    merged = merge_charts(
        [
            SourceChart(CLINIC, "pat-1", [hba1c("o1", "pat-1", "2026-05-02", 6.0)], read),
            SourceChart(HOSPITAL, "H77", [colonoscopy("p1", "H77", "2022-03-14")], read),
        ],
        failures=[SourceFailure(REGISTRY, "HTTP 503")],
    )
    assert len(merged.screened) == 2
    assert merged.warnings() == [
        "State Immunization Registry unavailable: immunizations may be incomplete."
    ]
    assert merged.footer() == [
        "Riverbend Family Medicine, read 2026-12-01 07:05",
        "St Mary's Hospital, read 2026-12-01 07:05",
    ]
    assert "503" not in " ".join(merged.warnings())
