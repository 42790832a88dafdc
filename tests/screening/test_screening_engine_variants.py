"""Condition-triggered variants: diabetes over prediabetes over plain screening, hypertension,
retinopathy, cardiovascular disease; and the flags on the latest result."""

from __future__ import annotations

from datetime import date

from engine_fixtures import (
    DIABETIC_RETINOPATHY,
    ESRD,
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
    code_in,
    condition,
    medication_request,
    observation,
    patient,
    run,
)

from healthprep_desktop.screening.model import EvidenceKind, Status

ADULT = "1975-01-01"  # 46 on the as-of date


def a1c(when: str, value: float | None) -> dict:
    return observation(LOINC, "4548-4", when, value=value, unit="%")


def test_diabetes_gets_hba1c_monitoring_not_screening() -> None:
    results = run(patient(ADULT), condition(ICD10CM, "E11.9"), a1c("2021-02-01", 7.1))
    hba1c = results["diabetes_hba1c"]
    assert hba1c.status is Status.COMPLETE
    assert hba1c.next_due == date(2022, 2, 1)
    assert hba1c.evidence[0].kind is EvidenceKind.TRIGGER
    assert hba1c.flags == ()
    screening = results["diabetes_screening"]
    assert screening.status is Status.NOT_APPLICABLE
    assert (screening.reason or "").startswith("excluded: diabetes diagnosis")


def test_prediabetes_does_not_match_diabetes() -> None:
    results = run(patient(ADULT), condition(SNOMED, "15777000"))
    assert results["diabetes_hba1c"].status is Status.NOT_APPLICABLE
    assert results["diabetes_hba1c"].reason == "not eligible: no diabetes diagnosis on record"
    # The prediabetes variant overrides plain screening (no BMI needed, yearly).
    assert results["diabetes_screening"].variant_id == "prediabetes_monitoring"
    assert results["diabetes_screening"].status is Status.DUE
    tested = run(patient(ADULT), condition(ICD10CM, "R73.03"), a1c("2020-03-01", 6.0))
    assert tested["diabetes_screening"].status is Status.OVERDUE  # yearly for prediabetes


def test_diabetes_overrides_prediabetes_when_both_are_present() -> None:
    both = run(patient(ADULT), condition(SNOMED, "15777000"), condition(SNOMED, "44054006"))
    assert both["diabetes_hba1c"].status is Status.DUE
    assert both["diabetes_screening"].status is Status.NOT_APPLICABLE


def test_general_diabetes_screening_needs_overweight() -> None:
    bmi = observation(LOINC, "39156-5", "2021-01-01", value=31.2)
    obese = run(patient(ADULT), bmi)["diabetes_screening"]
    assert obese.variant_id == "diabetes_screening"
    assert obese.status is Status.DUE
    lean_bmi = observation(LOINC, "39156-5", "2021-01-01", value=22)
    lean = run(patient(ADULT), lean_bmi)["diabetes_screening"]
    assert lean.status is Status.NOT_APPLICABLE
    assert "BMI 22" in (lean.reason or "")
    unknown = run(patient(ADULT))["diabetes_screening"]
    assert unknown.status is Status.INSUFFICIENT_DATA
    assert "no BMI" in (unknown.reason or "")
    # The latest BMI decides.
    lost_weight = run(
        patient(ADULT),
        observation(LOINC, "39156-5", "2019-01-01", value=31),
        observation(LOINC, "39156-5", "2021-01-01", value=24.9),
    )["diabetes_screening"]
    assert lost_weight.status is Status.NOT_APPLICABLE
    # An obesity diagnosis stands in for a missing BMI.
    dx = run(patient(ADULT), condition(ICD10CM, "E66.9"))["diabetes_screening"]
    assert dx.status is Status.DUE


def test_diabetes_screening_every_three_years() -> None:
    bmi = observation(LOINC, "39156-5", "2021-01-01", value=28)
    recent = run(patient(ADULT), bmi, a1c("2019-01-01", 5.4))["diabetes_screening"]
    assert recent.status is Status.COMPLETE
    assert recent.next_due == date(2022, 1, 1)
    old = run(patient(ADULT), bmi, a1c("2018-01-01", 5.4))["diabetes_screening"]
    assert old.status is Status.OVERDUE


def test_resolved_diabetes_long_ago_does_not_trigger() -> None:
    old = condition(SNOMED, "44054006", "2010-01-01", clinical="resolved", abatement="2012-01-01")
    bmi = observation(LOINC, "39156-5", "2021-01-01", value=28)
    results = run(patient(ADULT), old, bmi)
    assert results["diabetes_hba1c"].status is Status.NOT_APPLICABLE
    assert results["diabetes_screening"].status is Status.DUE


def test_hba1c_above_nine_is_flagged_lowest_of_the_latest_day() -> None:
    dx = condition(ICD10CM, "E11.9")
    high = run(patient(ADULT), dx, a1c("2021-03-01", 9.6))["diabetes_hba1c"]
    assert high.status is Status.NOT_AT_GOAL
    assert high.flags == ("HbA1c 9.6 % on 2021-03-01: 9.6 > 9 % (CMS122 goal: 9 % or below)",)
    exactly_nine = run(patient(ADULT), dx, a1c("2021-03-01", 9.0))["diabetes_hba1c"]
    assert exactly_nine.flags == ()
    # Two results on the latest day: the lowest counts (CMS122); an older high one does not.
    same_day = run(
        patient(ADULT), dx, a1c("2020-01-01", 11), a1c("2021-03-01", 9.8), a1c("2021-03-01", 8.2)
    )["diabetes_hba1c"]
    assert same_day.flags == ()


def test_hba1c_without_a_result_does_not_count() -> None:
    dx = condition(ICD10CM, "E11.9")
    result = run(patient(ADULT), dx, a1c("2021-03-01", None))["diabetes_hba1c"]
    assert result.status is Status.DUE


def test_diabetic_over_75_is_not_applicable() -> None:
    result = run(patient("1940-01-01"), condition(ICD10CM, "E11.9"))["diabetes_hba1c"]
    assert result.status is Status.NOT_APPLICABLE
    assert result.reason == "not eligible: age 81 (eligible 18-75)"


def test_hypertensive_over_85_is_not_eligible_for_either_bp_variant() -> None:
    # CMS165 stops at 85 and CMS22 excludes a hypertension diagnosis: no fallback to screening.
    bp = observation(LOINC, "85354-9", "2021-05-01", components={"8480-6": 150, "8462-4": 80})
    htn = condition(ICD10CM, "I10")
    aged_out = run(patient("1935-06-30"), htn, bp)["blood_pressure"]  # 86 on the as-of day
    assert aged_out.variant_id == "blood_pressure_control"
    assert aged_out.status is Status.NOT_APPLICABLE
    assert aged_out.reason == "not eligible: age 86 (eligible 18-85)"
    still_85 = run(patient("1935-07-01"), htn, bp)["blood_pressure"]  # 86 tomorrow
    assert still_85.status is Status.NOT_AT_GOAL  # eligible; 150/80 is not at goal
    # Without hypertension the same 86-year-old gets yearly BP screening (CMS22: 18+).
    assert run(patient("1935-06-30"), bp)["blood_pressure"].status is Status.COMPLETE


def test_retinopathy_tightens_the_eye_exam_interval() -> None:
    exam = observation(SNOMED, "722161008", "2020-03-01")  # diabetic retinal eye exam
    dx = condition(ICD10CM, "E11.9")
    plain = run(patient(ADULT), dx, exam)["diabetic_eye_exam"]
    assert plain.variant_id == "diabetic_eye_exam"
    assert plain.status is Status.COMPLETE
    assert plain.next_due == date(2022, 3, 1)
    retinopathy = condition(*code_in(DIABETIC_RETINOPATHY, ICD10CM))
    strict = run(patient(ADULT), dx, retinopathy, exam)["diabetic_eye_exam"]
    assert strict.variant_id == "diabetic_eye_exam_retinopathy"
    assert strict.status is Status.OVERDUE
    none = run(patient(ADULT))["diabetic_eye_exam"]
    assert none.status is Status.NOT_APPLICABLE
    assert none.reason == "not eligible: no diabetes diagnosis on record"


def test_kidney_health_needs_both_egfr_and_uacr() -> None:
    dx = condition(ICD10CM, "E11.9")
    egfr = observation(LOINC, "62238-1", "2021-01-10", value=75)
    uacr = observation(LOINC, "9318-7", "2021-02-10", value=12)
    only_egfr = run(patient(ADULT), dx, egfr)["kidney_health"]
    assert only_egfr.status is Status.DUE
    assert "no uACR" in only_egfr.explanation
    both = run(patient(ADULT), dx, egfr, uacr)["kidney_health"]
    assert both.status is Status.COMPLETE
    assert both.next_due == date(2022, 1, 10)  # the older of the two sets the date
    assert both.last_done == date(2021, 1, 10)
    stale = observation(LOINC, "62238-1", "2020-05-01", value=75)
    assert run(patient(ADULT), dx, stale, uacr)["kidney_health"].status is Status.OVERDUE
    esrd = condition(*code_in(ESRD, ICD10CM))
    assert run(patient(ADULT), dx, esrd)["kidney_health"].status is Status.NOT_APPLICABLE


def test_hypertension_selects_bp_control_and_flags_uncontrolled() -> None:
    bp = observation(LOINC, "85354-9", "2021-05-01", components={"8480-6": 152, "8462-4": 84})
    htn = condition(ICD10CM, "I10")
    control = run(patient(ADULT), htn, bp)["blood_pressure"]
    assert control.variant_id == "blood_pressure_control"
    assert control.status is Status.NOT_AT_GOAL
    assert control.flags == (
        "Blood pressure 152/84 on 2021-05-01: systolic 152 ≥ 140 (CMS165 goal: below 140/90)",
    )
    ok = observation(LOINC, "85354-9", "2021-05-01", components={"8480-6": 128, "8462-4": 78})
    assert run(patient(ADULT), htn, ok)["blood_pressure"].flags == ()
    screening = run(patient(ADULT), ok)["blood_pressure"]
    assert screening.variant_id == "blood_pressure_screening"
    assert screening.status is Status.COMPLETE


def test_statin_for_cardiovascular_disease() -> None:
    stroke = condition(SNOMED, "230690007", "2019-05-26")
    due = run(patient("1951-01-01"), stroke)["lipids_statin"]
    assert due.variant_id == "statin_therapy"
    assert due.status is Status.DUE
    statin = medication_request("312961", "2016-01-01")  # simvastatin 20 mg, active
    on_it = run(patient("1951-01-01"), stroke, statin)["lipids_statin"]
    assert on_it.status is Status.COMPLETE
    assert on_it.next_due is None  # current until stopped
    assert on_it.explanation == "Statin (active order since 2016-01-01, RxNorm 312961)"
    stopped = medication_request("312961", "2016-01-01", status="stopped")
    assert run(patient("1951-01-01"), stroke, stopped)["lipids_statin"].status is Status.DUE
    finished = medication_request("312961", "2016-01-01", status="completed")
    assert run(patient("1951-01-01"), stroke, finished)["lipids_statin"].status is Status.OVERDUE
    plan = dict(statin, intent="plan")
    assert run(patient("1951-01-01"), stroke, plan)["lipids_statin"].status is Status.DUE
    assert RXNORM  # the statin codes are RxNorm


def test_lipid_screening_without_cardiovascular_disease() -> None:
    lipid = observation(LOINC, "2093-3", "2017-01-01", value=190)
    result = run(patient("1970-01-01"), lipid)["lipids_statin"]
    assert result.variant_id == "lipid_screening"
    assert result.status is Status.COMPLETE
    assert result.next_due == date(2022, 1, 1)
