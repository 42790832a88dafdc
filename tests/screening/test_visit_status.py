"""The visit-day statuses after the engine: follow-up needed, declined or medical reason from
the chart, and a user's entries, each on both sides of its boundary."""

from __future__ import annotations

from datetime import date

import pytest

from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.model import ScreeningResult, Status
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.visit_status import UserEntry, refine, visit_period
from tests.screening.measures.builders import LOINC, SNOMED, Case, cc, code_in

AS_OF = date(2026, 12, 1)
COLONOSCOPY = "2.16.840.1.113883.3.464.1003.108.12.1020"
PATIENT_DECLINED = "2.16.840.1.113883.3.526.3.1582"
MEDICAL_REASON = "2.16.840.1.113883.3.526.3.1007"
REFERRAL_ADULT = "2.16.840.1.113883.3.526.3.1571"
ABOVE_NORMAL_FOLLOW_UP = "2.16.840.1.113883.3.600.1.1525"
OVERWEIGHT_OR_OBESE = "2.16.840.1.113762.1.4.1047.502"
TOBACCO_SCREENING = "2.16.840.1.113883.3.526.3.1278"
TOBACCO_USER = "2.16.840.1.113883.3.526.3.1170"
CESSATION_COUNSELING = "2.16.840.1.113883.3.526.3.509"


def run(
    case: Case, *results: ScreeningResult, entries: tuple[UserEntry, ...] = ()
) -> list[ScreeningResult]:
    """The refined rows for the screenings given (measure-backed rows the sheet adds for this
    patient, e.g. DXA under 65, are tested in their own modules)."""
    record = PatientRecord(patient=case.patient, resources=case.resources)
    wanted = {r.screening_id for r in results}
    refined = refine(list(results), record, AS_OF, default_library(), entries=entries)
    return [r for r in refined if r.screening_id in wanted]


def done(screening_id: str, day: date = date(2026, 6, 1)) -> ScreeningResult:
    return ScreeningResult(screening_id, screening_id, Status.COMPLETE, "done", last_done=day)


def due(screening_id: str) -> ScreeningResult:
    return ScreeningResult(screening_id, screening_id, Status.DUE, "never done")


def test_the_visit_period_is_the_year_ending_on_the_visit_day() -> None:
    period = visit_period(AS_OF)
    assert (period.first_day, period.last_day) == (date(2025, 12, 2), AS_OF)


# --- follow-up needed ---------------------------------------------------------------------------


def _depression(case: Case, day: str, value: str) -> None:
    case.observation(
        (LOINC, "73832-8"), day, category="survey", valueCodeableConcept=cc(SNOMED, value)
    )


def test_positive_depression_screen_without_follow_up() -> None:
    case = Case("p", birth="1970-01-01")
    _depression(case, "2026-10-02", "428181000124104")
    (result,) = run(case, done("depression"))
    assert result.status is Status.FOLLOW_UP_NEEDED
    assert "positive on 2026-10-02" in result.explanation and "CMS2" in result.explanation


def test_positive_depression_screen_with_a_referral_after_it() -> None:
    case = Case("p", birth="1970-01-01")
    _depression(case, "2026-10-02", "428181000124104")
    case.add("ServiceRequest", status="completed", intent="order", authoredOn="2026-10-02",
             code=cc(*code_in(REFERRAL_ADULT)))  # fmt: skip
    (result,) = run(case, done("depression"))
    assert result.status is Status.COMPLETE
    assert "followed up on 2026-10-02" in result.explanation


def test_a_referral_before_the_positive_screen_is_not_its_follow_up() -> None:
    case = Case("p", birth="1970-01-01")
    _depression(case, "2026-10-02", "428181000124104")
    case.add("ServiceRequest", status="completed", intent="order", authoredOn="2026-10-01",
             code=cc(*code_in(REFERRAL_ADULT)))  # fmt: skip
    (result,) = run(case, done("depression"))
    assert result.status is Status.FOLLOW_UP_NEEDED


def test_negative_depression_screen_needs_nothing() -> None:
    case = Case("p", birth="1970-01-01")
    _depression(case, "2026-10-02", "428171000124102")
    (result,) = run(case, done("depression"))
    assert result.status is Status.COMPLETE and result.explanation == "done"


@pytest.mark.parametrize(
    ("bmi", "needed"), [(24.9, False), (25.0, True), (18.5, False), (18.4, True)]
)
def test_bmi_outside_the_normal_range_needs_a_plan(bmi: float, needed: bool) -> None:
    case = Case("p", birth="1970-01-01")
    case.observation((LOINC, "39156-5"), "2026-09-01", category="vital-signs",
                     valueQuantity={"value": bmi, "unit": "kg/m2", "code": "kg/m2"})  # fmt: skip
    (result,) = run(case, done("bmi_screening"))
    assert (result.status is Status.FOLLOW_UP_NEEDED) is needed


def test_high_bmi_with_a_follow_up_plan() -> None:
    case = Case("p", birth="1970-01-01")
    case.observation((LOINC, "39156-5"), "2026-09-01", category="vital-signs",
                     valueQuantity={"value": 31, "unit": "kg/m2", "code": "kg/m2"})  # fmt: skip
    # CMS69 counts an intervention made for the high BMI: its reason says so.
    case.procedure(code_in(ABOVE_NORMAL_FOLLOW_UP), "2026-09-01T10:00:00Z",
                   reasonCode=[cc(*code_in(OVERWEIGHT_OR_OBESE))])  # fmt: skip
    (result,) = run(case, done("bmi_screening"))
    assert result.status is Status.COMPLETE


def test_tobacco_user_needs_a_cessation_intervention() -> None:
    case = Case("p", birth="1970-01-01")
    case.observation(code_in(TOBACCO_SCREENING), "2026-08-01", category="survey",
                     valueCodeableConcept=cc(*code_in(TOBACCO_USER)))  # fmt: skip
    (result,) = run(case, done("tobacco_use"))
    assert result.status is Status.FOLLOW_UP_NEEDED
    case.procedure(code_in(CESSATION_COUNSELING), "2026-08-01T10:00:00Z")
    (result,) = run(case, done("tobacco_use"))
    assert result.status is Status.COMPLETE


@pytest.mark.parametrize(
    ("systolic", "diastolic", "needed"),
    [(119, 79, False), (120, 79, True), (119, 80, True), (135, 85, True)],
)
def test_elevated_blood_pressure_needs_a_follow_up(
    systolic: int, diastolic: int, needed: bool
) -> None:
    case = Case("p", birth="1970-01-01")
    case.observation(
        (LOINC, "85354-9"), "2026-11-01", category="vital-signs",
        component=[
            {"code": cc(LOINC, "8480-6"), "valueQuantity": {"value": systolic, "unit": "mm[Hg]"}},
            {"code": cc(LOINC, "8462-4"), "valueQuantity": {"value": diastolic, "unit": "mm[Hg]"}},
        ],
    )  # fmt: skip
    (result,) = run(case, done("blood_pressure_screening"))
    assert (result.status is Status.FOLLOW_UP_NEEDED) is needed


# --- declined / medical reason from the chart ---------------------------------------------------


def _not_done(case: Case, day: str, reason_oid: str) -> None:
    case.add("Procedure", status="not-done", code=cc(*code_in(COLONOSCOPY)),
             performedDateTime=day, statusReason=cc(*code_in(reason_oid)))  # fmt: skip


@pytest.mark.parametrize(
    ("day", "status"),
    [
        ("2025-12-02", Status.DECLINED),  # the first day of the year before the visit
        ("2025-12-01", Status.DUE),  # a year and a day: asked again
        ("2026-12-01", Status.DECLINED),
    ],
)
def test_documented_refusal_in_the_year_before_the_visit(day: str, status: Status) -> None:
    case = Case("p", birth="1960-01-01")
    _not_done(case, day, PATIENT_DECLINED)
    (result,) = run(case, due("colorectal_cancer"))
    assert result.status is status
    if status is Status.DECLINED:
        assert result.explanation.startswith(f"Declined on {day}")


def test_documented_medical_reason() -> None:
    case = Case("p", birth="1960-01-01")
    _not_done(case, "2026-05-01", MEDICAL_REASON)
    (result,) = run(case, due("colorectal_cancer"))
    assert result.status is Status.MEDICAL_REASON


def test_not_done_without_a_reason_or_for_another_screening_changes_nothing() -> None:
    case = Case("p", birth="1960-01-01")
    case.add(
        "Procedure",
        status="not-done",
        code=cc(*code_in(COLONOSCOPY)),
        performedDateTime="2026-05-01",
    )
    result, _ = run(case, due("colorectal_cancer"), due("breast_cancer"))
    assert result.status is Status.DUE
    _not_done(case, "2026-05-01", PATIENT_DECLINED)
    _, breast = run(case, due("colorectal_cancer"), due("breast_cancer"))
    assert breast.status is Status.DUE  # a refused colonoscopy says nothing of a mammogram


def test_refused_immunization() -> None:
    case = Case("p", birth="1960-01-01")
    flu = ("http://hl7.org/fhir/sid/cvx", "88")  # influenza vaccine, unspecified
    objection = cc("http://terminology.hl7.org/CodeSystem/v3-ActReason", "PATOBJ")
    case.add(
        "Immunization",
        status="not-done",
        vaccineCode=cc(*flu),
        occurrenceDateTime="2026-10-01",
        statusReason=objection,
    )
    (result,) = run(case, due("influenza_vaccine"))
    assert result.status is Status.DECLINED


# --- a user's entries ---------------------------------------------------------------------------


def entry(kind: str, **kw: object) -> UserEntry:
    return UserEntry("colorectal_cancer", kind, "jdoe", "2026-11-02T10:00:00+00:00", **kw)  # type: ignore[arg-type]


def test_done_elsewhere_takes_the_shortest_interval() -> None:
    case = Case("p", birth="1960-01-01")
    (result,) = run(
        case, due("colorectal_cancer"), entries=(entry("done_elsewhere", on_date=date(2026, 3, 1)),)
    )
    # Which test was done is not said: FOBT's yearly interval asks again soonest.
    assert result.status is Status.COMPLETE and result.next_due == date(2027, 3, 1)
    assert result.last_done == date(2026, 3, 1)
    assert result.entry == "done elsewhere: entered by jdoe on 2026-11-02"


def test_done_elsewhere_within_the_due_soon_window() -> None:
    case = Case("p", birth="1960-01-01")
    on = date(2025, 12, 20)  # next due 2026-12-20: 19 days after the visit
    (result,) = run(case, due("colorectal_cancer"), entries=(entry("done_elsewhere", on_date=on),))
    assert result.status is Status.DUE_SOON


def test_done_elsewhere_long_ago_is_due_again() -> None:
    case = Case("p", birth="1960-01-01")
    (result,) = run(
        case,
        due("colorectal_cancer"),
        entries=(entry("done_elsewhere", on_date=date(2025, 12, 1)),),
    )
    assert result.status is Status.DUE  # next due on the visit day itself: due


def test_declined_entry_lasts_a_year() -> None:
    case = Case("p", birth="1960-01-01")
    fresh = entry("declined", on_date=date(2025, 12, 2))
    (result,) = run(case, due("colorectal_cancer"), entries=(fresh,))
    assert result.status is Status.DECLINED and "jdoe" in (result.entry or "")
    stale = entry("declined", on_date=date(2025, 12, 1))
    (result,) = run(case, due("colorectal_cancer"), entries=(stale,))
    assert result.status is Status.DUE


@pytest.mark.parametrize(
    ("until", "status"), [(date(2026, 12, 2), Status.POSTPONED), (AS_OF, Status.DUE)]
)
def test_postponed_until(until: date, status: Status) -> None:
    case = Case("p", birth="1960-01-01")
    (result,) = run(case, due("colorectal_cancer"), entries=(entry("postponed", until_date=until),))
    assert result.status is status


def test_entries_never_touch_a_screening_that_does_not_apply() -> None:
    case = Case("p", birth="1960-01-01")
    na = ScreeningResult(
        "colorectal_cancer", "c", Status.NOT_APPLICABLE, "hospice", reason="hospice"
    )
    (result,) = run(case, na, entries=(entry("declined"),))
    assert result.status is Status.NOT_APPLICABLE


def test_a_failing_measure_backed_row_is_left_out_not_the_sheet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from healthprep_desktop.screening.visit_registry import VISIT_SCREENINGS

    def broken(_data: object) -> None:
        raise KeyError("boom")

    # A fake family member that raises, as a hostile chart could make a real one do.
    monkeypatch.setattr(
        "healthprep_desktop.screening.visit_measures.VISIT_SCREENINGS",
        [("broken_row", broken), *VISIT_SCREENINGS],
    )
    case = Case("p", birth="1960-01-01")
    (result,) = run(case, due("colorectal_cancer"))
    assert result.status is Status.DUE
