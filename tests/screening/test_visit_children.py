"""Measure-backed prep-sheet screenings for children and young women (CMS117, CMS155, CMS153),
run through visit_status.refine so the registration path is exercised; each boundary from both
sides."""

from __future__ import annotations

from datetime import date

import pytest

from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.measures import cms117
from healthprep_desktop.screening.model import EvidenceKind, ScreeningResult, Status
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.visit_children import (
    CHLAMYDIA,
    IMMUNIZATIONS,
    VACCINES,
    WEIGHT_COUNSELLING,
    schedule_deadline,
)
from healthprep_desktop.screening.visit_status import refine
from tests.screening.measures.builders import CVX, LOINC, MALE, SNOMED, Case, cc, code_in

V = "2.16.840.1.113883.3.464.1003."
HOSPICE_ENC = code_in(V + "1003")
DTAP_ANAPHYLAXIS = code_in(V + "199.12.1031")
NUTRITION = code_in(V + "195.12.1003")
ACTIVITY = code_in(V + "118.12.1035")
PREGNANCY = code_in("2.16.840.1.113883.3.526.3.378")
CONTRACEPTIVE = code_in(V + "196.12.1080")
CHLAMYDIA_TEST = (LOINC, "14463-4")
PREGNANCY_TEST = (LOINC, "19080-1")
XRAY = (LOINC, "24533-2")

DTAP, IPV, MMR, HIB3, HIB4 = (CVX, "20"), (CVX, "10"), (CVX, "03"), (CVX, "49"), (CVX, "48")
HEPB, VZV, PCV, HEPA = (CVX, "08"), (CVX, "21"), (CVX, "133"), (CVX, "83")
ROTA2, FLU = (CVX, "119"), (CVX, "140")


def run(case: Case, as_of: date, screening_id: str) -> ScreeningResult | None:
    record = PatientRecord(patient=case.patient, resources=case.resources)
    found = [
        r for r in refine([], record, as_of, default_library()) if r.screening_id == screening_id
    ]
    assert len(found) <= 1
    return found[0] if found else None


def result(case: Case, as_of: date, screening_id: str) -> ScreeningResult:
    found = run(case, as_of, screening_id)
    assert found is not None
    return found


def shot(case: Case, code: tuple[str, str], day: str) -> None:
    case.add("Immunization", status="completed", vaccineCode=cc(*code),
             occurrenceDateTime=f"{day}T10:00:00Z")  # fmt: skip


def hospice(case: Case, day: str) -> None:
    case.encounter(HOSPICE_ENC, f"{day}T09:00:00Z")


# --- CMS117 ------------------------------------------------------------------------------------

# Born 2024-06-15: 42 days old on 2024-07-27, first birthday 2025-06-15, second 2026-06-15.
BIRTH = "2024-06-15"
SECOND_BIRTHDAY = date(2026, 6, 15)
FULL: dict[str, list[tuple[tuple[str, str], str]]] = {
    "dtap": [(DTAP, d) for d in ("2024-08-15", "2024-10-15", "2024-12-15", "2025-09-15")],
    "ipv": [(IPV, d) for d in ("2024-08-15", "2024-10-15", "2025-01-15")],
    "mmr": [(MMR, "2025-07-01")],
    "hib": [(HIB3, d) for d in ("2024-08-15", "2024-10-15", "2025-07-01")],
    "hepb": [(HEPB, d) for d in ("2024-06-15", "2024-08-15", "2025-01-15")],
    "vzv": [(VZV, "2025-07-01")],
    "pcv": [(PCV, d) for d in ("2024-08-15", "2024-10-15", "2024-12-15", "2025-07-01")],
    "hepa": [(HEPA, "2025-07-01")],
    "rota": [(ROTA2, d) for d in ("2024-08-15", "2024-10-15")],
    "flu": [(FLU, d) for d in ("2024-12-15", "2025-01-15", "2025-10-01")],
}


def toddler(pid: str = "t", *, skip: tuple[str, ...] = (), birth: str = BIRTH) -> Case:
    case = Case(pid, birth=birth)
    for name, doses in FULL.items():
        if name not in skip:
            for code, day in doses:
                shot(case, code, day)
    return case


def test_the_vaccine_table_follows_the_measure() -> None:
    assert tuple(x.rule for x in VACCINES) == cms117.VACCINES


def test_second_birthday_on_the_visit_day_switches_to_the_measure() -> None:
    before = result(toddler(), date(2026, 6, 14), IMMUNIZATIONS)
    on = result(toddler(), SECOND_BIRTHDAY, IMMUNIZATIONS)
    assert before.status is Status.COMPLETE and before.explanation.startswith("Up to date for age")
    assert on.status is Status.COMPLETE
    assert on.explanation == "All 10 vaccine series complete by the 2nd birthday (2026-06-15)"
    assert on.name == "Childhood immunizations (by age 2)"
    assert on.last_done == date(2025, 10, 1)
    assert {e.kind for e in on.evidence} == {EvidenceKind.CODE}
    assert any(e.description == "DTaP dose 4" and e.date == date(2025, 9, 15) for e in on.evidence)


def test_due_at_two_names_each_short_vaccine() -> None:
    case = toddler(skip=("dtap", "mmr"))
    for _, day in FULL["dtap"][:3]:
        shot(case, DTAP, day)
    r = result(case, date(2026, 8, 1), IMMUNIZATIONS)
    assert r.status is Status.DUE
    assert r.explanation == "By the 2nd birthday (2026-06-15): DTaP 3 of 4, MMR 0 of 1"


def test_a_dose_after_the_second_birthday_does_not_count_but_is_named() -> None:
    case = toddler(skip=("mmr",))
    shot(case, MMR, "2026-06-15")  # on the birthday: counts
    assert result(case, date(2026, 8, 1), IMMUNIZATIONS).status is Status.COMPLETE
    case = toddler(skip=("mmr",))
    shot(case, MMR, "2026-06-16")
    r = result(case, date(2026, 8, 1), IMMUNIZATIONS)
    assert r.status is Status.DUE
    assert r.explanation.endswith("MMR 0 of 1; given since (not counted by CMS117): MMR 1")


def test_anaphylaxis_is_the_measures_alternative_to_the_doses() -> None:
    case = toddler(skip=("dtap",))
    for _, day in FULL["dtap"][:3]:
        shot(case, DTAP, day)
    case.condition(DTAP_ANAPHYLAXIS, "2025-02-01T00:00:00Z", category="encounter-diagnosis")
    r = result(case, date(2026, 8, 1), IMMUNIZATIONS)
    assert r.status is Status.COMPLETE
    assert any("anaphylaxis" in e.description for e in r.evidence)


@pytest.mark.parametrize(
    ("as_of", "shown"), [(date(2027, 6, 14), True), (date(2027, 6, 15), False)]
)
def test_the_third_birthday_ends_the_screening(as_of: date, shown: bool) -> None:
    assert (run(toddler(), as_of, IMMUNIZATIONS) is not None) is shown


def test_hospice_in_the_rolling_year_leaves_it_off() -> None:
    case = toddler()
    hospice(case, "2026-03-01")
    assert run(case, date(2026, 8, 1), IMMUNIZATIONS) is None


# Born 2025-01-01: the "2 months" range ends 2025-03-31, the day before the 3-month birthday.
INFANT = "2025-01-01"


def infant(*, dtap: str | None = None) -> Case:
    case = Case("i", birth=INFANT)
    shot(case, HEPB, "2025-01-01")
    shot(case, HEPB, "2025-02-15")
    for code in (ROTA2, HIB4, PCV, IPV):
        shot(case, code, "2025-03-01")
    if dtap is not None:
        shot(case, DTAP, dtap)
    return case


def test_schedule_deadline_is_the_last_day_of_the_age() -> None:
    assert schedule_deadline(date(2025, 1, 1), 2) == date(2025, 3, 31)
    assert schedule_deadline(date(2025, 1, 31), 1) == date(2025, 3, 30)


def test_a_dose_is_missing_only_after_its_deadline() -> None:
    on = result(infant(), date(2025, 3, 31), IMMUNIZATIONS)
    assert on.status is Status.COMPLETE
    assert on.explanation == "Up to date for age; next: DTaP 1 by 2025-03-31"
    assert on.next_due == date(2025, 3, 31)
    after = result(infant(), date(2025, 4, 1), IMMUNIZATIONS)
    assert after.status is Status.DUE
    assert after.explanation == "Missing for age: DTaP 1 (by 2 months)"
    assert after.frequency is not None


def test_a_dose_given_before_42_days_old_does_not_count() -> None:
    early = result(infant(dtap="2025-02-11"), date(2025, 4, 1), IMMUNIZATIONS)  # day 41
    assert early.status is Status.DUE and "DTaP 1" in early.explanation
    on_time = result(infant(dtap="2025-02-12"), date(2025, 4, 1), IMMUNIZATIONS)  # day 42
    assert on_time.status is Status.COMPLETE
    assert on_time.next_due == date(2025, 5, 31)  # the "4 months" doses


def test_hib_third_dose_at_six_months_only_for_four_dose_products() -> None:
    def case(hib: tuple[str, str]) -> Case:
        c = Case("h", birth=INFANT)
        for day in ("2025-01-01", "2025-02-15", "2025-07-01"):
            shot(c, HEPB, day)
        for day in ("2025-03-01", "2025-05-01", "2025-07-01"):
            for code in (DTAP, PCV, IPV):
                shot(c, code, day)
        for day in ("2025-03-01", "2025-05-01"):
            shot(c, ROTA2, day)
            shot(c, hib, day)
        return c

    as_of = date(2025, 8, 1)  # past the end of "6 months" (2025-07-31); no flu yet needed
    four = result(case(HIB4), as_of, IMMUNIZATIONS)
    assert four.status is Status.DUE
    assert "Hib 3 (by 6 months)" in four.explanation
    three = result(case(HIB3), as_of, IMMUNIZATIONS)
    assert "Hib" not in three.explanation


def test_influenza_is_yearly_from_six_months() -> None:
    case = toddler(skip=("flu",))
    shot(case, FLU, "2025-01-15")
    # A year after 2025-01-15 the dose is no longer current: missing from 2026-01-15.
    current = result(case, date(2026, 1, 14), IMMUNIZATIONS)
    assert current.status is Status.COMPLETE
    assert current.explanation == "Up to date for age; next: influenza by 2026-01-14"
    r = result(case, date(2026, 1, 15), IMMUNIZATIONS)
    assert r.status is Status.DUE
    assert r.explanation == "Missing for age: influenza (yearly from 6 months)"


def test_rotavirus_past_its_maximum_age_is_not_listed_as_missing() -> None:
    case = toddler(skip=("rota",))
    r = result(case, date(2025, 3, 1), IMMUNIZATIONS)
    assert "RV 1" not in r.explanation
    assert "RV series incomplete" in r.explanation


# --- CMS155 ------------------------------------------------------------------------------------

AS_OF = date(2026, 12, 1)


def child(birth: str = "2016-05-05", *, counselled: str = "2026-03-01", skip: str = "") -> Case:
    case = Case("k", birth=birth)
    vitals = {"bmi": ("39156-5", 17.5), "height": ("8302-2", 140.0), "weight": ("29463-7", 34.3)}
    for name, (code, value) in vitals.items():
        if name != skip:
            case.observation((LOINC, code), "2026-03-01T09:10:00Z", category="vital-signs",
                             valueQuantity={"value": value})  # fmt: skip
    for name, concept in (("nutrition", NUTRITION), ("activity", ACTIVITY)):
        if name != skip:
            case.procedure(concept, f"{counselled}T09:20:00Z")
    return case


def test_complete_with_bmi_and_both_counsellings() -> None:
    r = result(child(), AS_OF, WEIGHT_COUNSELLING)
    assert r.status is Status.COMPLETE
    assert r.name == "Weight, nutrition and activity (ages 3-17)"
    assert r.last_done == date(2026, 3, 1) and r.next_due == date(2027, 3, 1)
    assert len(r.evidence) == 5 and r.frequency == "every 12 months"


@pytest.mark.parametrize(
    ("skip", "named"),
    [("bmi", "BMI"), ("height", "height"), ("nutrition", "nutrition counselling"),
     ("activity", "physical-activity counselling")],
)  # fmt: skip
def test_due_names_what_is_missing(skip: str, named: str) -> None:
    case = child(skip=skip)
    r = result(case, AS_OF, WEIGHT_COUNSELLING)
    assert r.status is Status.DUE
    assert r.explanation == f"Not in the last 12 months: {named}"


@pytest.mark.parametrize(
    ("day", "status"), [("2025-12-02", Status.COMPLETE), ("2025-12-01", Status.DUE)]
)
def test_counselling_window_is_the_year_ending_on_the_visit(day: str, status: Status) -> None:
    # The rolling year runs 2025-12-02 .. 2026-12-01: a year and a day before falls outside.
    r = result(child(counselled=day), AS_OF, WEIGHT_COUNSELLING)
    assert r.status is status
    if status is Status.DUE:
        assert r.explanation == (
            "Not in the last 12 months: nutrition counselling, physical-activity counselling"
        )


@pytest.mark.parametrize(
    ("birth", "shown"),
    [("2023-12-01", True), ("2023-12-02", False), ("2008-12-02", True), ("2008-12-01", False)],
)
def test_ages_three_to_seventeen_on_the_visit_day(birth: str, shown: bool) -> None:
    assert (run(child(birth), AS_OF, WEIGHT_COUNSELLING) is not None) is shown


def test_pregnancy_or_hospice_leaves_it_off() -> None:
    case = child("2010-01-01")
    case.condition(PREGNANCY, "2026-06-01T00:00:00Z")
    assert run(case, AS_OF, WEIGHT_COUNSELLING) is None
    old = child("2010-01-01")
    old.condition(PREGNANCY, "2024-06-01T00:00:00Z", clinical="resolved",
                  abatement="2025-02-01T00:00:00Z")  # fmt: skip
    assert run(old, AS_OF, WEIGHT_COUNSELLING) is not None
    case = child()
    hospice(case, "2026-06-01")
    assert run(case, AS_OF, WEIGHT_COUNSELLING) is None


# --- CMS153 ------------------------------------------------------------------------------------


def woman(birth: str = "2006-05-05", *, sex: str | None = None, tested: str | None = None) -> Case:
    case = Case("w", birth=birth) if sex is None else Case("w", birth=birth, sex=sex)
    case.add("MedicationRequest", status="active", intent="order", authoredOn="2026-04-01",
             medicationCodeableConcept=cc(*CONTRACEPTIVE))  # fmt: skip
    if tested is not None:
        case.observation(CHLAMYDIA_TEST, f"{tested}T10:00:00Z", category="laboratory",
                         valueCodeableConcept=cc(SNOMED, "260385009"))  # fmt: skip
    return case


def test_chlamydia_complete_and_due() -> None:
    done = result(woman(tested="2026-05-01"), AS_OF, CHLAMYDIA)
    assert done.status is Status.COMPLETE
    assert done.name == "Chlamydia screening (women 16-24)"
    assert done.last_done == date(2026, 5, 1) and done.next_due == date(2027, 5, 1)
    assert {e.description for e in done.evidence} == {
        "Sign of sexual activity (CMS153)",
        "Chlamydia test result",
    }
    due = result(woman(), AS_OF, CHLAMYDIA)
    assert due.status is Status.DUE
    assert due.explanation == "No chlamydia test result in the last 12 months"


@pytest.mark.parametrize(
    ("day", "status"), [("2025-12-02", Status.COMPLETE), ("2025-12-01", Status.DUE)]
)
def test_chlamydia_test_window(day: str, status: Status) -> None:
    r = result(woman(tested=day), AS_OF, CHLAMYDIA)
    assert r.status is status
    if status is Status.DUE:
        assert r.explanation.endswith("; last result 2025-12-01")
        assert r.last_done == date(2025, 12, 1)


@pytest.mark.parametrize(
    ("birth", "shown"),
    [("2010-12-01", True), ("2010-12-02", False), ("2001-12-02", True), ("2001-12-01", False)],
)
def test_chlamydia_ages_16_to_24(birth: str, shown: bool) -> None:
    assert (run(woman(birth), AS_OF, CHLAMYDIA) is not None) is shown


def test_chlamydia_needs_female_gender_and_a_sign_of_sexual_activity() -> None:
    assert run(woman(sex=MALE), AS_OF, CHLAMYDIA) is None
    assert run(Case("w", birth="2006-05-05"), AS_OF, CHLAMYDIA) is None


def _pregnancy_test_then_xray(case: Case) -> None:
    for code, day in ((PREGNANCY_TEST, "2026-04-01"), (XRAY, "2026-04-07")):
        case.add("ServiceRequest", status="completed", intent="order", code=cc(*code),
                 authoredOn=f"{day}T10:00:00Z")  # fmt: skip


def test_pregnancy_test_only_exclusion() -> None:
    case = Case("w", birth="2006-05-05")
    _pregnancy_test_then_xray(case)
    assert run(case, AS_OF, CHLAMYDIA) is None
    other = woman()  # a contraceptive order as well: not excluded
    _pregnancy_test_then_xray(other)
    assert result(other, AS_OF, CHLAMYDIA).status is Status.DUE


def test_chlamydia_hospice_leaves_it_off() -> None:
    case = woman()
    hospice(case, "2026-06-01")
    assert run(case, AS_OF, CHLAMYDIA) is None
