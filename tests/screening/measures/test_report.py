"""The individual MeasureReport's shape: what a reader of the report relies on."""

from __future__ import annotations

import pytest
from fhir.resources.R4B.measurereport import MeasureReport

from healthprep_desktop.screening.measures import (
    MeasurementPeriod,
    evaluate_measures,
    measure_report,
)
from healthprep_desktop.screening.measures.base import patient_outcome
from tests.screening.measures.builders import Case, code_in

PERIOD = MeasurementPeriod.calendar_year(2026)


def test_report_shape_and_evidence() -> None:
    case = Case("pat-1", birth="1970-05-05")
    visit = case.encounter(
        code_in("2.16.840.1.113883.3.464.1003.101.12.1001", "cpt"), "2026-03-01T09:00:00Z"
    )
    mammo = case.observation(code_in("2.16.840.1.113883.3.464.1003.108.12.1018", "loinc"),
                             "2025-06-01T08:00:00Z", category="imaging")  # fmt: skip
    result = evaluate_measures(case.patient, case.resources, PERIOD, only=["CMS125"])
    report = result.reports(PERIOD)["CMS125"]
    MeasureReport.model_validate(report)
    assert report["type"] == "individual" and report["status"] == "complete"
    assert report["measure"] == "https://madie.cms.gov/Measure/CMS125FHIRBreastCancerScreening"
    assert report["subject"] == {"reference": "Patient/pat-1"}
    assert report["period"] == {"start": "2026-01-01", "end": "2026-12-31"}
    (group,) = report["group"]
    assert group["id"] == "Group_1"
    codes = [p["code"]["coding"][0]["code"] for p in group["population"]]
    assert codes == ["initial-population", "denominator", "denominator-exclusion", "numerator"]
    assert [p["count"] for p in group["population"]] == [1, 1, 0, 1]
    assert group["measureScore"] == {"value": 1.0}
    refs = {r["reference"] for r in report["evaluatedResource"]}
    assert refs == {f"Encounter/{visit['id']}", f"Observation/{mammo['id']}"}


def test_a_report_needs_one_outcome_per_group() -> None:
    with pytest.raises(ValueError, match="1 outcomes for 3 groups"):
        measure_report("CMS138", "p", PERIOD, [patient_outcome(ipp=True, denom=True)])


def test_a_failing_measure_does_not_stop_the_others() -> None:
    # A hostile chart: a resource whose dates are not strings must not sink the batch.
    case = Case("p", birth="1970-05-05")
    case.add(
        "Encounter",
        status="finished",
        type=[{"coding": [{"code": 5}]}],
        period=["not", "a", "period"],
    )
    result = evaluate_measures(case.patient, case.resources, PERIOD)
    assert result.errors == {}
    assert len(result.outcomes) == 18


def test_one_measure_that_raises_is_reported_without_patient_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from healthprep_desktop.screening.measures.base import MeasureContext, MeasureSpec
    from healthprep_desktop.screening.measures.registry import MEASURES

    def broken(ctx: MeasureContext) -> list:  # type: ignore[type-arg]
        raise KeyError(ctx.chart.patient_id)  # would leak the id if echoed

    monkeypatch.setitem(MEASURES, "CMS999", MeasureSpec("CMS999", "broken", "2025", broken))
    case = Case("secret-patient-id", birth="1970-05-05")
    result = evaluate_measures(case.patient, case.resources, PERIOD, only=["CMS125", "CMS999"])
    assert set(result.outcomes) == {"CMS125"}
    assert result.errors == {"CMS999": "KeyError while evaluating CMS999"}
