"""The panel's own shortcuts give exactly what the engine's public functions give: the
serialised results (``to_json``) and measure mode's population counts per year."""

from __future__ import annotations

from datetime import date
from typing import Any

from healthprep_desktop.panel.screen import panel_measures, result_json
from healthprep_desktop.panel.staging import patient_of
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.measures import MeasurementPeriod, evaluate_measures
from healthprep_desktop.screening.measures.populations import counts
from healthprep_desktop.screening.measures.report import measure_defs
from healthprep_desktop.screening.record import PatientRecord

AS_OF = date(2026, 12, 1)


def charts(n: int) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    clinic = SyntheticClinic(seed=5, patients=n, reference_date=AS_OF)
    patients: dict[str, dict[str, Any]] = {}
    rest: dict[str, list[dict[str, Any]]] = {}
    for resource in clinic.iter_resources():
        pid = patient_of(resource)
        if resource["resourceType"] == "Patient":
            patients[str(pid)] = resource
        elif pid is not None:
            rest.setdefault(pid, []).append(resource)
    return [(patients[p], rest.get(p, [])) for p in sorted(patients)]


def test_result_json_is_to_json() -> None:
    compared = 0
    for patient, resources in charts(12):
        for result in evaluate(PatientRecord(patient=patient, resources=resources), AS_OF):
            assert result_json(result) == result.to_json()
            compared += 1
    assert compared > 100


def test_panel_measures_are_evaluate_measures() -> None:
    years = (AS_OF.year, AS_OF.year - 1)
    in_population = 0
    for patient, resources in charts(25):
        fast, errors = panel_measures(patient, resources, years)
        assert errors == {}
        for year in years:
            computed = evaluate_measures(patient, resources, MeasurementPeriod.calendar_year(year))
            expected = {
                cms: {
                    g.id: counts(outcome)
                    for g, outcome in zip(measure_defs()[cms].groups, outcomes, strict=True)
                }
                for cms, outcomes in computed.outcomes.items()
            }
            assert fast[str(year)] == expected
            in_population += sum(
                c["initial-population"] for per in expected.values() for c in per.values()
            )
    assert in_population > 20  # the comparison saw real populations, not only zeros


def test_performance_rate_takes_exclusions_and_exceptions_off_the_denominator() -> None:
    from healthprep_desktop.panel.totals import performance_rate

    populations = {
        "initial-population": 10, "denominator": 10, "denominator-exclusion": 2,
        "denominator-exception": 1, "numerator": 4, "numerator-exclusion": 1,
    }  # fmt: skip
    assert performance_rate(populations) == round(3 / 7, 4)
    assert performance_rate({"denominator": 2, "denominator-exclusion": 2}) is None
