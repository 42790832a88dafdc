"""Measure-backed prep-sheet screenings for bone density (CMS249) and statins (CMS347 population 4
and the statin exceptions), run through visit_status.refine so the registration path is
exercised; each boundary from both sides."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.measures import cms249, cms347
from healthprep_desktop.screening.measures import cms249_exclusions as x
from healthprep_desktop.screening.measures.base import MeasureContext
from healthprep_desktop.screening.measures.chart import Chart
from healthprep_desktop.screening.model import EvidenceKind, ScreeningResult, Status
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.visit_bone_heart import (
    DXA_INDICATION,
    NOT_INDICATED,
    STATIN_RISK,
    statin_exception,
)
from healthprep_desktop.screening.visit_measures import VisitInput
from healthprep_desktop.screening.visit_status import refine, visit_period
from tests.screening.measures.builders import CPT, LOINC, MALE, Case, cc, code_in

AS_OF = date(2026, 6, 15)  # rolling year 2025-06-16 .. 2026-06-15
UCUM = "http://unitsofmeasure.org"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
DXA_CPT = (CPT, "77080")  # the library's local DXA procedures
DXA_LOINC = code_in(cms249.DXA_SCAN)  # CMS249's DXA value set
STATIN = code_in(cms347.LOW_STATIN)
GLUCOCORTICOID = code_in(x.GLUCOCORTICOIDS_ORAL)

WOMAN_55 = "1971-01-10"
MAN_55 = "1971-01-10"


def run(case: Case, *, engine: bool = False, as_of: date = AS_OF) -> dict[str, ScreeningResult]:
    record = PatientRecord(patient=case.patient, resources=case.resources)
    results = evaluate(record, as_of) if engine else []
    out = refine(results, record, as_of, default_library())
    assert len({r.screening_id for r in out}) == len(out)
    return {r.screening_id: r for r in out}


def row(case: Case, screening_id: str, **kw: Any) -> ScreeningResult:
    found = run(case, **kw).get(screening_id)
    assert found is not None
    return found


def visit_input(case: Case, results: tuple[ScreeningResult, ...] = ()) -> VisitInput:
    record = PatientRecord(patient=case.patient, resources=case.resources)
    ctx = MeasureContext(Chart(case.patient, case.resources), visit_period(AS_OF), "2025")
    return VisitInput(ctx, record, AS_OF, default_library(), results)


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


# --- CMS249 risk factors ------------------------------------------------------------------------


def dxa(case: Case, day: str) -> None:
    case.procedure(DXA_CPT, f"{day}T10:00:00Z")


def rheumatoid_arthritis(case: Case) -> None:
    case.condition(code_in(x.RHEUMATOID_ARTHRITIS), "2019-05-01")


def low_bmi(value: float) -> Callable[[Case], None]:
    def add(case: Case) -> None:
        case.observation((LOINC, x.BMI), "2026-01-10T10:00:00Z",
                         valueQuantity=quantity(value, "kg/m2"))  # fmt: skip

    return add


def drinks(case: Case) -> None:
    case.observation((LOINC, x.ALCOHOLIC_DRINKS_PER_DAY), "2026-02-01T10:00:00Z",
                     category="survey", valueQuantity=quantity(3, "{drinks}/d"))  # fmt: skip


def osteopenia_this_year(case: Case) -> None:
    case.condition(code_in(x.OSTEOPENIA), "2026-04-01")  # after the rolling year's start


def aromatase_inhibitor(case: Case) -> None:
    case.add("MedicationRequest", status="active", intent="order",
             medicationCodeableConcept=cc(*code_in(x.AROMATASE_INHIBITORS)),
             authoredOn="2024-03-01")  # fmt: skip


def parent_hip_fracture(case: Case) -> None:
    case.observation(code_in(x.PARENT_HIP_FRACTURE), "2023-09-01", category="survey")


def glucocorticoids(days: int) -> Callable[[Case], None]:
    def add(case: Case) -> None:
        case.add("MedicationRequest", status="active", intent="order",
                 medicationCodeableConcept=cc(*GLUCOCORTICOID), authoredOn="2026-01-01",
                 dispenseRequest={"expectedSupplyDuration": {
                     "value": days, "unit": "days", "system": UCUM, "code": "d"}})  # fmt: skip

    return add


def procedure(oid: str) -> Callable[[Case], None]:
    def add(case: Case) -> None:
        case.procedure(code_in(oid), "2015-07-01T10:00:00Z")

    return add


def risk_tool(code: str, **value: Any) -> Callable[[Case], None]:
    def add(case: Case) -> None:
        case.observation((LOINC, code), "2025-11-01T10:00:00Z", category="survey", **value)

    return add


RISK_FACTORS: list[tuple[str, Callable[[Case], None], str]] = [
    ("bmi", low_bmi(19.5), "low BMI (19.5 kg/m2) (2026-01-10)"),
    ("bmi-20", low_bmi(20), "low BMI (20 kg/m2) (2026-01-10)"),
    ("alcohol", drinks, "more than 2 alcoholic drinks a day (3) (2026-02-01)"),
    ("osteopenia", osteopenia_this_year, "osteopenia (2026-04-01)"),
    ("aromatase", aromatase_inhibitor, "aromatase inhibitor (2024-03-01)"),
    ("parent", parent_hip_fracture, "hip fracture in a parent (2023-09-01)"),
    ("glucocorticoids", glucocorticoids(90), "oral glucocorticoids for 90 days (2026-01-01)"),
    ("condition", rheumatoid_arthritis, "rheumatoid arthritis (2019-05-01)"),
    ("chemotherapy", procedure(x.CHEMOTHERAPY), "chemotherapy (2015-07-01)"),
    ("transplant", procedure(x.KIDNEY_TRANSPLANT), "kidney transplant (2015-07-01)"),
    ("oophorectomy", procedure(x.BILATERAL_OOPHORECTOMY), "bilateral oophorectomy (2015-07-01)"),
    ("frax", risk_tool(cms249.FRAX_MAJOR, valueQuantity=quantity(8.4, "%")),
     "FRAX 10-year major osteoporotic fracture risk 8.4 % (2025-11-01)"),
    ("orai", risk_tool(cms249.ORAI, valueInteger=9), "ORAI score 9 (2025-11-01)"),
    ("osiris", risk_tool(cms249.OSIRIS, valueQuantity={"value": 0.9}),
     "OSIRIS index 0.9 (2025-11-01)"),
    ("ost", risk_tool(cms249.OST, valueQuantity={"value": 1.9}), "OST score 1.9 (2025-11-01)"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "add", "words"), RISK_FACTORS, ids=[r[0] for r in RISK_FACTORS])
def test_each_risk_factor_family_indicates_dxa(
    name: str, add: Callable[[Case], None], words: str
) -> None:
    case = Case(f"dxa-{name}", birth=WOMAN_55)
    add(case)
    result = row(case, DXA_INDICATION)
    assert result.status is Status.DUE
    assert result.explanation == f"DXA indicated: {words}; no DXA on record"
    assert result.name == "Bone density (DXA) under 65"
    assert "2.16.840" not in result.explanation  # words, not OIDs
    assert result.evidence and all(e.kind is EvidenceKind.CODE for e in result.evidence)
    assert all("/" in e.reference and e.date is not None for e in result.evidence)


NOT_RISK_FACTORS: list[tuple[str, Callable[[Case], None]]] = [
    ("bmi-20.1", low_bmi(20.1)),
    ("glucocorticoids-89", glucocorticoids(89)),
    ("frax-8.3", risk_tool(cms249.FRAX_MAJOR, valueQuantity=quantity(8.3, "%"))),
    ("orai-8", risk_tool(cms249.ORAI, valueInteger=8)),
    ("osiris-1", risk_tool(cms249.OSIRIS, valueQuantity={"value": 1.0})),
    ("ost-2", risk_tool(cms249.OST, valueQuantity={"value": 2.0})),
    ("one-ovary", procedure(x.OOPHORECTOMY_LEFT)),
]


@pytest.mark.parametrize(("name", "add"), NOT_RISK_FACTORS, ids=[r[0] for r in NOT_RISK_FACTORS])
def test_just_outside_a_threshold_is_no_risk_factor(name: str, add: Callable[[Case], None]) -> None:
    case = Case(f"dxa-no-{name}", birth=WOMAN_55)
    add(case)
    result = row(case, DXA_INDICATION)
    assert result.status is Status.NOT_APPLICABLE
    assert result.explanation == "DXA not indicated (no CMS249 risk factor on record)"
    assert result.reason == NOT_INDICATED


def test_left_and_right_oophorectomy_make_a_bilateral_one() -> None:
    case = Case("dxa-both-ovaries", birth=WOMAN_55)
    procedure(x.OOPHORECTOMY_LEFT)(case)
    procedure(x.OOPHORECTOMY_RIGHT)(case)
    result = row(case, DXA_INDICATION)
    assert result.status is Status.DUE
    assert "bilateral oophorectomy (2015-07-01)" in result.explanation


def test_every_risk_factor_is_named_even_with_glucocorticoids() -> None:
    # The measure's "history or period" definition stops at 90 glucocorticoid days.
    case = Case("dxa-several", birth=WOMAN_55)
    glucocorticoids(120)(case)
    rheumatoid_arthritis(case)
    result = row(case, DXA_INDICATION)
    assert "oral glucocorticoids for 120 days (2026-01-01)" in result.explanation
    assert "rheumatoid arthritis (2019-05-01)" in result.explanation


@pytest.mark.parametrize(
    ("birth", "shown"),
    [
        ("1976-06-16", False),  # 49 on the visit day (50 tomorrow)
        ("1976-06-15", True),  # 50 today
        ("1961-06-16", True),  # 64 (65 tomorrow)
        ("1961-06-15", False),  # 65 today: the library's osteoporosis screening
    ],
)
def test_ages_50_to_64_on_the_visit_day(birth: str, shown: bool) -> None:
    case = Case(f"dxa-age-{birth}", birth=birth)
    rheumatoid_arthritis(case)
    results = run(case, engine=True)
    assert (DXA_INDICATION in results) is shown
    if shown:
        assert results[DXA_INDICATION].status is Status.DUE
    if birth == "1961-06-15":
        assert results["osteoporosis"].status is Status.DUE  # the 65+ row takes over


def test_without_risk_factors_dxa_is_not_indicated() -> None:
    case = Case("dxa-none", birth=WOMAN_55)
    dxa(case, "2025-01-01")
    result = row(case, DXA_INDICATION)
    assert result.status is Status.NOT_APPLICABLE
    assert result.explanation == "DXA not indicated (no CMS249 risk factor on record)"
    assert result.reason == "not indicated: no risk factor on record"
    assert result.last_done == date(2025, 1, 1)


def test_men_and_unknown_age_get_no_dxa_row() -> None:
    man = Case("dxa-man", birth=MAN_55, sex=MALE)
    rheumatoid_arthritis(man)
    assert DXA_INDICATION not in run(man)
    unknown = Case("dxa-no-birth", birth=None)
    rheumatoid_arthritis(unknown)
    assert DXA_INDICATION not in run(unknown)


@pytest.mark.parametrize(
    ("day", "status"),
    [
        ("2025-06-15", Status.COMPLETE),  # a year ago: next due 2027-06-15
        ("2024-06-16", Status.DUE_SOON),  # 2 years - 1 day: next due tomorrow
        ("2024-06-15", Status.DUE),  # exactly 2 years: falls due today (as the 65+ row)
        ("2024-06-14", Status.DUE),  # 2 years + 1 day
    ],
)
def test_dxa_within_two_years(day: str, status: Status) -> None:
    case = Case(f"dxa-done-{day}", birth=WOMAN_55)
    rheumatoid_arthritis(case)
    dxa(case, day)
    result = row(case, DXA_INDICATION)
    assert result.status is status
    done = date.fromisoformat(day)
    assert result.last_done == done
    assert result.next_due == date(done.year + 2, done.month, done.day)
    assert result.explanation.startswith("DXA indicated: rheumatoid arthritis (2019-05-01); ")
    assert any(e.description == "DXA scan" for e in result.evidence)


def test_cms249_dxa_order_counts_and_a_future_one_does_not() -> None:
    case = Case("dxa-order", birth=WOMAN_55)
    rheumatoid_arthritis(case)
    case.add("ServiceRequest", status="completed", intent="order", code=cc(*DXA_LOINC),
             authoredOn="2025-09-01")  # fmt: skip
    assert row(case, DXA_INDICATION).status is Status.COMPLETE
    later = Case("dxa-future", birth=WOMAN_55)
    rheumatoid_arthritis(later)
    dxa(later, "2026-06-16")  # the day after the visit
    assert row(later, DXA_INDICATION).status is Status.DUE


def test_hospice_makes_the_dxa_row_not_applicable() -> None:
    case = Case("dxa-hospice", birth=WOMAN_55)
    rheumatoid_arthritis(case)
    case.encounter(code_in("2.16.840.1.113883.3.464.1003.1003"), "2026-05-01T09:00:00Z")
    result = row(case, DXA_INDICATION)
    assert result.status is Status.NOT_APPLICABLE
    assert result.reason == "hospice care"


# --- CMS347 population 4 ------------------------------------------------------------------------


def cvd_risk(case: Case, percent: float, day: str = "2026-01-10") -> None:
    case.observation((LOINC, cms347.CVD_RISK_10Y), f"{day}T10:00:00Z",
                     valueQuantity=quantity(percent, "%"))  # fmt: skip


def statin(case: Case, day: str = "2026-02-01") -> None:
    case.add("MedicationRequest", status="active", intent="order",
             medicationCodeableConcept=cc(*STATIN), authoredOn=day)  # fmt: skip


def statin_allergy(case: Case) -> None:
    case.add("AllergyIntolerance", code=cc(*code_in(cms347.STATIN_ALLERGEN)),
             clinicalStatus=cc(ALLERGY_CLINICAL, "active"),
             onsetDateTime="2026-03-01")  # fmt: skip


def statin_adverse_event(case: Case) -> None:
    case.add("AdverseEvent", event=cc(*code_in(cms347.STATIN_ALLERGEN)),
             recordedDate="2026-02-20")  # fmt: skip


def man(pid: str, birth: str = MAN_55) -> Case:
    return Case(pid, birth=birth, sex=MALE)


@pytest.mark.parametrize(
    ("birth", "shown"),
    [
        ("1986-06-16", False),  # 39 on the visit day
        ("1986-06-15", True),  # 40 today
        ("1950-06-16", True),  # 75 (76 tomorrow)
        ("1950-06-15", False),  # 76 today
    ],
)
def test_statin_risk_ages_40_to_75_on_the_visit_day(birth: str, shown: bool) -> None:
    case = man(f"cvd-age-{birth}", birth)
    cvd_risk(case, 22)
    assert (STATIN_RISK in run(case)) is shown


@pytest.mark.parametrize(("percent", "shown"), [(19.9, False), (20, True), (22, True)])
def test_ten_year_risk_of_20_percent_or_more(percent: float, shown: bool) -> None:
    case = man(f"cvd-{percent}")
    cvd_risk(case, percent)
    results = run(case)
    assert (STATIN_RISK in results) is shown
    if shown:
        result = results[STATIN_RISK]
        assert result.status is Status.DUE
        assert result.name == "Statin therapy (10-year CVD risk >= 20 %)"
        assert result.explanation == (
            f"10-year CVD risk {percent:g} % on 2026-01-10: statin recommended "
            "(CMS347 population 4)"
        )
        assert result.evidence[0].kind is EvidenceKind.CODE
        assert result.evidence[0].date == date(2026, 1, 10)


def test_a_risk_older_than_the_rolling_year_does_not_count() -> None:
    case = man("cvd-old")
    cvd_risk(case, 25, day="2025-06-15")  # the day before the rolling year
    assert STATIN_RISK not in run(case)


def test_a_prescribed_statin_completes_population_4() -> None:
    case = man("cvd-statin")
    cvd_risk(case, 22)
    statin(case)
    statin_allergy(case)  # exceptions only matter when no statin is prescribed
    result = row(case, STATIN_RISK)
    assert result.status is Status.COMPLETE
    assert result.last_done == date(2026, 2, 1)
    assert result.explanation.startswith("Statin prescribed on 2026-02-01")


def test_statin_allergy_is_a_medical_reason() -> None:
    case = man("cvd-allergy")
    cvd_risk(case, 22)
    statin_allergy(case)
    result = row(case, STATIN_RISK)
    assert result.status is Status.MEDICAL_REASON
    assert result.explanation == "Statin allergy on record (2026-03-01)"
    assert any(e.reference.startswith("AllergyIntolerance/") for e in result.evidence)


def test_statin_adverse_reaction_is_a_medical_reason() -> None:
    case = man("cvd-adverse")
    cvd_risk(case, 22)
    statin_adverse_event(case)
    result = row(case, STATIN_RISK)
    assert result.status is Status.MEDICAL_REASON
    assert result.explanation == "Adverse reaction to a statin on record (2026-02-20)"


@pytest.mark.parametrize(
    ("oid", "words"),
    [
        (cms347.ESRD, "End-stage renal disease on record (2024-01-01)"),
        (cms347.LIVER_DISEASE, "Hepatitis or liver disease on record (2024-01-01)"),
        (cms347.STATIN_MUSCLE_SYMPTOMS, "Statin-associated muscle symptoms on record (2024-01-01)"),
    ],
)
def test_medical_reason_conditions(oid: str, words: str) -> None:
    case = man(f"cvd-{oid}")
    cvd_risk(case, 22)
    case.condition(code_in(oid), "2024-01-01")
    result = row(case, STATIN_RISK)
    assert result.status is Status.MEDICAL_REASON
    assert result.explanation == words


def test_medical_reason_for_not_ordering_a_statin_needs_no_encounter() -> None:
    case = man("cvd-not-ordered")
    cvd_risk(case, 22)
    case.add("MedicationRequest", status="completed", intent="order", doNotPerform=True,
             medicationCodeableConcept=cc(*STATIN), authoredOn="2026-04-01T10:00:00Z",
             reasonCode=[cc(*code_in(cms347.MEDICAL_REASON))])  # fmt: skip
    result = row(case, STATIN_RISK)
    assert result.status is Status.MEDICAL_REASON
    assert result.explanation == "Medical reason for not ordering a statin on record (2026-04-01)"


def test_breastfeeding_leaves_the_row_out() -> None:
    case = Case("cvd-breastfeeding", birth="1980-01-01")
    cvd_risk(case, 22)
    case.condition(code_in(cms347.BREASTFEEDING), "2026-03-01")
    assert STATIN_RISK not in run(case)


def test_population_1_gets_no_extra_statin_row() -> None:
    case = man("cvd-ascvd")
    cvd_risk(case, 30)
    case.condition(code_in(cms347.ISCHEMIC_HEART_DISEASE), "2020-01-01")
    results = run(case, engine=True)
    assert STATIN_RISK not in results
    assert results["lipids_statin"].variant_id == "statin_therapy"
    assert results["lipids_statin"].status is Status.DUE
    # The measure's own population 1 keeps the row out even without the library's results.
    assert STATIN_RISK not in run(case)


def test_population_3_gets_no_extra_statin_row() -> None:
    case = man("cvd-diabetes")
    cvd_risk(case, 30)
    case.condition(code_in(cms347.DIABETES), "2020-01-01")
    results = run(case, engine=True)
    assert STATIN_RISK not in results
    assert results["lipids_statin"].variant_id == "statin_therapy_diabetes"


# --- statin_exception on the library's rows ------------------------------------------------------


def test_statin_exception_on_a_library_statin_row() -> None:
    case = man("lib-adverse")
    case.condition(code_in(cms347.ISCHEMIC_HEART_DISEASE), "2020-01-01")
    statin_adverse_event(case)  # the library does not read AdverseEvent
    record = PatientRecord(patient=case.patient, resources=case.resources)
    engine = tuple(evaluate(record, AS_OF))
    data = visit_input(case, engine)
    by_id = {r.screening_id: r for r in engine}
    statin_row = by_id["lipids_statin"]
    assert statin_row.status is Status.DUE
    changed = statin_exception(data, statin_row)
    assert changed.status is Status.MEDICAL_REASON
    assert changed.explanation == "Adverse reaction to a statin on record (2026-02-20)"
    assert changed.name == statin_row.name
    # Rows that are not about statins pass unchanged.
    for other in engine:
        if other.screening_id != "lipids_statin":
            assert statin_exception(data, other) is other


def library_row(case: Case) -> ScreeningResult:
    record = PatientRecord(patient=case.patient, resources=case.resources)
    return {r.screening_id: r for r in evaluate(record, AS_OF)}["lipids_statin"]


def test_statin_exception_on_an_overdue_library_row() -> None:
    case = man("lib-overdue")
    case.condition(code_in(cms347.ISCHEMIC_HEART_DISEASE), "2020-01-01")
    statin_adverse_event(case)
    case.add("MedicationRequest", status="completed", intent="order",
             medicationCodeableConcept=cc(*STATIN), authoredOn="2025-05-01")  # fmt: skip
    overdue = library_row(case)
    assert overdue.status is Status.OVERDUE
    assert statin_exception(visit_input(case), overdue).status is Status.MEDICAL_REASON


def test_statin_exception_leaves_a_current_or_excluded_library_row_alone() -> None:
    case = man("lib-current")
    case.condition(code_in(cms347.ISCHEMIC_HEART_DISEASE), "2020-01-01")
    statin_adverse_event(case)
    statin(case, "2025-05-01")  # an active order: current for the library
    current = library_row(case)
    assert current.status is Status.COMPLETE
    assert statin_exception(visit_input(case), current) is current
    allergic = man("lib-allergy")
    allergic.condition(code_in(cms347.ISCHEMIC_HEART_DISEASE), "2020-01-01")
    statin_allergy(allergic)
    excluded = library_row(allergic)
    assert excluded.status is Status.NOT_APPLICABLE  # the library excludes statin allergies
    assert statin_exception(visit_input(allergic), excluded) is excluded


def test_a_do_not_perform_dxa_order_is_no_dxa() -> None:
    case = Case("dxa-not-ordered", birth=WOMAN_55)
    rheumatoid_arthritis(case)
    case.add("ServiceRequest", status="active", intent="order", code=cc(*DXA_LOINC),
             authoredOn="2025-09-01", doNotPerform=True)  # fmt: skip
    assert row(case, DXA_INDICATION).status is Status.DUE


def test_no_exception_without_a_reason() -> None:
    case = man("lib-plain")
    case.condition(code_in(cms347.ISCHEMIC_HEART_DISEASE), "2020-01-01")
    plain = library_row(case)
    assert plain.status is Status.DUE
    assert statin_exception(visit_input(case), plain) is plain
