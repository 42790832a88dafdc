"""CMS122 (HbA1c / GMI > 9 %, an inverse measure) at the edges the case files leave open.

Each test answers as CMS122FHIRDiabetesAssessGreaterThan9Percent 0.5.000 does, read definition
by definition; each kills mutants that survived a mutmut round (docs/measures/README.md).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from healthprep_desktop.screening.measures import cms122 as m
from tests.screening.measures.builders import CPT, HCPCS, VALUESETS, Case, code_in
from tests.screening.measures.edges import evaluated, membership, ref
from tests.screening.measures.make.cms122 import DIABETES, GMI, HBA1C, OFFICE, _pct, a1c, base

CMS = "CMS122"
UCUM = "http://unitsofmeasure.org"
VISIT_SETS = {
    "office": m.OFFICE_VISIT,
    "annual-wellness": m.ANNUAL_WELLNESS_VISIT,
    "preventive-established": m.PREVENTIVE_ESTABLISHED_18,
    "preventive-initial": m.PREVENTIVE_INITIAL_18,
    "home-health": m.HOME_HEALTHCARE,
    "nutrition-services": m.NUTRITION_SERVICES,
    "telephone": m.TELEPHONE_VISITS,
}


def _only_in(oid: str) -> tuple[str, str]:
    """A code of this visit value set that no other visit value set of the measure holds."""
    others: set[tuple[str, str]] = set()
    for other in VISIT_SETS.values():
        if other != oid:
            data = json.loads((VALUESETS / f"{other}.json").read_text(encoding="utf-8"))
            others.update((s, c) for s, c, _ in data["codes"])
    data = json.loads((VALUESETS / f"{oid}.json").read_text(encoding="utf-8"))
    return next((s, c) for s, c, _ in data["codes"] if (s, c) not in others)


def _patient(visit: tuple[str, str] | None = None, when: str = "2026-03-01T09:00:00Z") -> Case:
    case = base("p", visit=False)  # born 1970-05-05, diabetes since 2015
    if visit is not None:
        case.encounter(visit, when)
    return case


# ---- Initial Population ----------------------------------------------------------------------


@pytest.mark.parametrize("oid", list(VISIT_SETS.values()), ids=list(VISIT_SETS))
def test_each_visit_value_set_qualifies_on_its_own(oid: str) -> None:
    assert membership(CMS, _patient(_only_in(oid))).initial_population is True


@pytest.mark.parametrize(
    "code",
    [(CPT, "97802"), (CPT, "97803"), (CPT, "97804"), (HCPCS, "G0270"), (HCPCS, "G0271")],
    ids=lambda c: c[1],
)
def test_each_medical_nutrition_therapy_code_qualifies(code: tuple[str, str]) -> None:
    # Encounter.type ~ the direct-reference code; G0270/G0271 are in no visit value set.
    assert membership(CMS, _patient(code)).initial_population is True


def test_a_nutrition_therapy_visit_counts_beside_a_visit_outside_the_period() -> None:
    case = _patient(code_in(m.OFFICE_VISIT), when="2025-12-31T09:00:00Z")
    case.encounter((HCPCS, "G0270"), "2026-01-01T09:00:00Z")
    assert membership(CMS, case).initial_population is True


def test_an_unfinished_visit_does_not_qualify_in_the_2025_edition() -> None:
    case = _patient()
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", status="in-progress")
    assert membership(CMS, case).initial_population is False


@pytest.mark.parametrize(("age", "ipp"), [(56, True), (57, False)])
def test_diabetes_onset_as_an_age(age: int, ipp: bool) -> None:
    # Born 1970-05-05: onsetAge 56 starts 2026-05-05 (overlaps the period), 57 starts in 2027.
    case = base("p", diabetes=False)
    case.condition(DIABETES, None, category="encounter-diagnosis",
                   onsetAge={"value": age, "unit": "a", "code": "a"})  # fmt: skip
    assert membership(CMS, case).initial_population is ipp


# ---- Numerator: which results count --------------------------------------------------------


def test_a_result_without_the_laboratory_category_counts_in_the_2025_edition() -> None:
    case = base("p")
    case.observation(HBA1C, "2026-04-01T08:00:00Z", valueQuantity=_pct(7.0))
    assert membership(CMS, case).numerator is False  # a 7 % result: not poor control


def test_a_later_gmi_is_the_most_recent_result() -> None:
    case = base("p")
    a1c(case, "2026-03-01T08:00:00Z", 7.0)
    a1c(case, "2026-06-01T08:00:00Z", 9.5, code=GMI)
    assert membership(CMS, case).numerator is True


def test_a_month_precision_result_leaves_no_lowest_reading() -> None:
    # "Most Recent Glycemic Status Date" is 2026-05 (month precision); `same day as` it is null,
    # so the lowest reading is null: not "without result" (it is null itself), not elevated,
    # and a record exists -- the numerator is false.
    case = base("p")
    a1c(case, "2026-05", 10.0)
    assert membership(CMS, case).numerator is False


# ---- Numerator: the lowest reading of the day ----------------------------------------------


def test_a_reading_without_a_value_sorts_before_a_zero() -> None:
    # sort by value as Quantity: null first, so the lowest reading has no value.
    case = base("p")
    a1c(case, "2026-06-01T08:00:00Z", 0.0)
    a1c(case, "2026-06-01T10:00:00Z", None)
    assert membership(CMS, case).numerator is True


def test_two_readings_without_a_value_on_the_same_day() -> None:
    case = base("p")
    a1c(case, "2026-06-01T08:00:00Z", None)
    a1c(case, "2026-06-01T10:00:00Z", None)
    assert membership(CMS, case).numerator is True


@pytest.mark.parametrize(
    ("quantity", "elevated"),
    [
        ({"value": 8.0, "unit": "%"}, False),  # Coalesce(code, unit, '1') = '%'
        ({"value": 9.5, "unit": "%"}, True),
        ({"value": 0.095}, True),  # unit '1': 0.095 is 9.5 %
        ({"value": 0.08}, False),
        ({"value": 80, "system": UCUM, "code": "mmol/mol"}, False),  # UCUM: 80 mmol/mol = 8 %
        ({"value": 95, "system": UCUM, "code": "mmol/mol"}, True),
        ({"value": 10, "system": UCUM, "code": "mg/dL"}, False),  # not comparable with '%'
        ({"value": 10, "comparator": ">", "system": UCUM, "code": "%"}, False),
        ({"value": 10, "system": "http://example.org/units", "code": "%"}, False),
        ({"value": "9.5", "system": UCUM, "code": "%"}, False),  # not a JSON number
    ],
)
def test_result_quantity_shapes(quantity: dict[str, Any], elevated: bool) -> None:
    case = base("p")
    a1c(case, "2026-06-01T08:00:00Z", None, valueQuantity=quantity)
    assert membership(CMS, case).numerator is elevated


# ---- Evidence -------------------------------------------------------------------------------


def test_the_report_lists_the_deciding_resources() -> None:
    case = base("p")
    a1c(case, "2026-06-01T08:00:00Z", 9.5)
    visit, diabetes, result = (ref(r) for r in case.resources)
    assert evaluated(CMS, case) == [visit, diabetes, result]


def test_the_no_record_branch_reports_no_placeholder() -> None:
    case = base("p")
    visit, diabetes = (ref(r) for r in case.resources)
    assert evaluated(CMS, case) == [visit, diabetes]


# ---- The end of the period at sub-millisecond precision -----------------------------------------
# CQL DateTimes hold milliseconds: the engine truncates 23:59:59.9995 to 23:59:59.999, the last
# millisecond of the period, so every "day of" comparison keeps it inside the period.

LAST = "2026-12-31T23:59:59.9995Z"


def test_a_visit_and_a_diagnosis_on_the_last_instant_qualify() -> None:
    case = base("p", visit=False, diabetes=False)
    case.encounter(OFFICE, LAST)
    case.condition(DIABETES, LAST, category="encounter-diagnosis")
    assert membership(CMS, case).initial_population is True


def test_a_result_on_the_last_instant_is_a_record() -> None:
    case = base("p")
    a1c(case, LAST, 7.0)
    assert membership(CMS, case).numerator is False
