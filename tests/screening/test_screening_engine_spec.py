"""Boundary tests for the rules the clinical review changed, one measure at a time.

Each test names the specification it follows (the eCQM CQL in ../shared/measures or USPSTF);
the as-of date is 2021-06-30 unless a test says otherwise.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from engine_fixtures import (
    CPT,
    ESRD,
    FRAILTY_DIAGNOSIS,
    ICD10CM,
    LOINC,
    RXNORM,
    SNOMED,
    cc,
    code_in,
    condition,
    document,
    encounter,
    medication_request,
    observation,
    patient,
    procedure,
    run,
)

from healthprep_desktop.screening.mentions import (
    date_of_mention,
    reports_intent,
    sentence_at,
    stated_dates,
)
from healthprep_desktop.screening.model import Status

BILATERAL_HISTORY = "2.16.840.1.113883.3.464.1003.198.12.1068"
BILATERAL_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1005"
DIALYSIS = "2.16.840.1.113883.3.464.1003.109.12.1013"
ESRD_MONTHLY = "2.16.840.1.113883.3.464.1003.109.12.1014"
STATIN_ALLERGEN = "2.16.840.1.113762.1.4.1110.42"
SAMS = "2.16.840.1.113762.1.4.1108.85"
HEPATITIS_B = "2.16.840.1.113883.3.67.1.101.1.269"
PREGNANCY = "2.16.840.1.113883.3.526.3.378"
FALLS = "2.16.840.1.113883.3.464.1003.118.12.1028"
RETINOPATHY = "2.16.840.1.113883.3.526.3.327"

DIABETES = ("http://hl7.org/fhir/sid/icd-10-cm", "E11.9")
HTN = (ICD10CM, "I10")
STROKE = (SNOMED, "230690007")
SIMVASTATIN = "312961"


def bp(when: str, systolic: float, diastolic: float) -> dict[str, Any]:
    return observation(LOINC, "85354-9", when, components={"8480-6": systolic, "8462-4": diastolic})


# --- CMS124 / USPSTF cervical: 21-65 on the visit date ----------------------------------------


@pytest.mark.parametrize(
    ("birth", "status"),
    [
        ("2000-07-01", Status.NOT_APPLICABLE),  # 20, 21 tomorrow
        ("2000-06-30", Status.DUE),  # 21 today
        ("1955-07-01", Status.DUE),  # 65, 66 tomorrow (USPSTF screens through 65)
        ("1955-06-30", Status.NOT_APPLICABLE),  # 66 today
    ],
)
def test_cervical_ages_21_to_65(birth: str, status: Status) -> None:
    assert run(patient(birth, "female"))["cervical_cancer"].status is status


# --- CMS125: right plus left, undated procedures ------------------------------------------------


def test_undated_mastectomy_procedure_does_not_exclude_but_undated_history_does() -> None:
    # CQL: performed.toInterval() ends on or before ... is null for no date (not excluded); a
    # Condition's prevalence interval starts at an unknown early time (excluded).
    undated = procedure(*code_in(BILATERAL_MASTECTOMY, SNOMED), None)
    woman = patient("1961-03-01", "female")
    assert run(woman, undated)["breast_cancer"].status is Status.DUE
    history = condition(*code_in(BILATERAL_HISTORY, ICD10CM), None)
    assert run(woman, history)["breast_cancer"].status is Status.NOT_APPLICABLE
    dated = procedure(*code_in(BILATERAL_MASTECTOMY, SNOMED), "2021-06-30")
    assert run(woman, dated)["breast_cancer"].status is Status.NOT_APPLICABLE
    tomorrow = procedure(*code_in(BILATERAL_MASTECTOMY, SNOMED), "2021-07-01")
    assert run(woman, tomorrow)["breast_cancer"].status is Status.DUE


# --- CMS131: the retinopathy variant is for diabetics ------------------------------------------


def test_retinopathy_without_diabetes_selects_no_eye_exam() -> None:
    retinopathy = condition(*code_in(RETINOPATHY, ICD10CM))
    result = run(patient("1960-01-01"), retinopathy)["diabetic_eye_exam"]
    assert result.status is Status.NOT_APPLICABLE
    assert result.reason == "not eligible: no diabetes diagnosis on record"
    with_diabetes = run(patient("1960-01-01"), retinopathy, condition(*DIABETES))
    assert with_diabetes["diabetic_eye_exam"].variant_id == "diabetic_eye_exam_retinopathy"


# --- CMS165: exclusions and the control flag ---------------------------------------------------


def bp_control(birth: str, *resources: dict[str, Any]) -> Any:
    return run(patient(birth), condition(*HTN), bp("2021-05-01", 128, 78), *resources)[
        "blood_pressure"
    ]


def test_frailty_alone_excludes_bp_control_from_81() -> None:
    frailty = condition(*code_in(FRAILTY_DIAGNOSIS, ICD10CM), "2021-01-10")
    at_81 = bp_control("1940-06-30", frailty)
    assert at_81.status is Status.NOT_APPLICABLE
    assert "frailty (81 and over)" in (at_81.reason or "")
    at_80 = bp_control("1940-07-01", frailty)  # 80: frailty needs advanced illness too
    assert at_80.status is Status.COMPLETE


def test_dialysis_or_transplant_ever_excludes_bp_control() -> None:
    old_dialysis = procedure(*code_in(DIALYSIS, CPT), "2012-03-01")
    result = bp_control("1960-01-01", old_dialysis)
    assert result.status is Status.NOT_APPLICABLE
    assert (result.reason or "").startswith("excluded: kidney transplant or dialysis")
    recipient = condition(ICD10CM, "Z94.0", "2010-01-01")
    assert bp_control("1960-01-01", recipient).status is Status.NOT_APPLICABLE
    monthly = encounter(*code_in(ESRD_MONTHLY, CPT), "2015-01-01", "2015-01-31")
    assert bp_control("1960-01-01", monthly).status is Status.NOT_APPLICABLE
    esrd_resolved = condition(*code_in(ESRD, ICD10CM), "2015-01-01", abatement="2016-01-01")
    assert bp_control("1960-01-01", esrd_resolved).status is Status.COMPLETE
    future = procedure(*code_in(DIALYSIS, CPT), "2021-07-01")
    assert bp_control("1960-01-01", future).status is Status.COMPLETE


def test_pregnancy_in_the_last_year_excludes_bp_control() -> None:
    pregnancy = condition(*code_in(PREGNANCY, ICD10CM), "2021-02-01")
    assert bp_control("1985-01-01", pregnancy).status is Status.NOT_APPLICABLE
    old = condition(*code_in(PREGNANCY, ICD10CM), "2018-02-01", abatement="2018-10-01")
    assert bp_control("1985-01-01", old).status is Status.COMPLETE


def test_bp_flag_takes_the_lowest_systolic_and_diastolic_of_the_day_separately() -> None:
    pat = patient("1960-01-01")
    two = run(pat, condition(*HTN), bp("2021-05-01", 150, 80), bp("2021-05-01", 130, 95))
    assert two["blood_pressure"].flags == ()  # lowest 130/80: controlled (CMS165)
    high = run(pat, condition(*HTN), bp("2021-05-01", 150, 92), bp("2021-05-01", 145, 95))
    assert high["blood_pressure"].flags == (
        "Blood pressure 145/92 on 2021-05-01: systolic 145 ≥ 140 and diastolic 92 ≥ 90 "
        "(CMS165 goal: below 140/90)",
    )
    assert high["blood_pressure"].status is Status.NOT_AT_GOAL
    assert two["blood_pressure"].status is Status.COMPLETE
    at_limit = run(pat, condition(*HTN), bp("2021-05-01", 139, 90))
    assert at_limit["blood_pressure"].flags  # 90 diastolic is not below 90


# --- CMS2: screening status final or corrected --------------------------------------------------


@pytest.mark.parametrize(
    ("status", "counts"),
    [("final", True), ("corrected", True), ("amended", False), ("preliminary", False)],
)
def test_depression_screen_statuses(status: str, counts: bool) -> None:
    phq = observation(LOINC, "44261-6", "2021-01-01", value=3, status=status)
    result = run(patient("1980-01-01"), phq)["depression"]
    assert (result.status is Status.COMPLETE) is counts


# --- CMS347: exceptions overlapping the period, orders not to prescribe ------------------------


def allergy(code: tuple[str, str], onset: str, clinical: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": f"allergy-{onset}-{clinical}",
        "code": cc(*code),
        "onsetDateTime": onset,
        "clinicalStatus": cc(
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", clinical
        ),
    }


def statin_group(*resources: dict[str, Any]) -> Any:
    return run(patient("1951-01-01"), condition(*STROKE, "2019-05-26"), *resources)["lipids_statin"]


def test_statin_exceptions_must_overlap_the_last_year() -> None:
    code = code_in(STATIN_ALLERGEN)
    assert statin_group(allergy(code, "2015-01-01")).status is Status.NOT_APPLICABLE
    assert statin_group(allergy(code, "2015-01-01", "inactive")).status is Status.DUE
    resolved = condition(*code_in(SAMS), "2012-01-01", abatement="2013-01-01")
    assert statin_group(resolved).status is Status.DUE
    assert statin_group(condition(*code_in(SAMS), "2012-01-01")).status is Status.NOT_APPLICABLE
    hep_b = condition(*code_in(HEPATITIS_B, ICD10CM), "2019-01-01")
    result = statin_group(hep_b)
    assert result.status is Status.NOT_APPLICABLE
    assert (result.reason or "").startswith("excluded: hepatitis or liver disease")


def test_an_order_not_to_prescribe_is_not_a_statin() -> None:
    refused = dict(medication_request(SIMVASTATIN, "2021-01-01"), doNotPerform=True)
    assert statin_group(refused).status is Status.DUE
    assert statin_group(medication_request(SIMVASTATIN, "2021-01-01")).status is Status.COMPLETE
    assert RXNORM


# --- CMS69 BMI and CMS139 falls (added screenings) ---------------------------------------------


def test_bmi_screening_yearly_from_18_with_a_value() -> None:
    bmi = observation(LOINC, "39156-5", "2020-07-01", value=24.1, unit="kg/m2")
    adult = run(patient("1990-01-01"), bmi)["bmi_screening"]
    assert adult.status is Status.DUE_SOON
    assert adult.next_due == date(2021, 7, 1)
    assert run(patient("2003-07-01"))["bmi_screening"].status is Status.NOT_APPLICABLE  # 17
    assert run(patient("2003-06-30"))["bmi_screening"].status is Status.DUE  # 18 today
    blank = observation(LOINC, "39156-5", "2021-01-01")
    assert run(patient("1990-01-01"), blank)["bmi_screening"].status is Status.DUE
    pregnant = condition(*code_in(PREGNANCY, ICD10CM), "2021-03-01")
    assert run(patient("1990-01-01"), pregnant)["bmi_screening"].status is (Status.NOT_APPLICABLE)


def test_falls_screening_yearly_from_65() -> None:
    falls = observation(*code_in(FALLS), "2021-01-15")  # an assessment: no result needed
    assert run(patient("1956-06-30"), falls)["falls_screening"].status is Status.COMPLETE
    assert run(patient("1956-07-01"))["falls_screening"].status is Status.NOT_APPLICABLE  # 64
    stale = observation(*code_in(FALLS), "2020-06-29")
    assert run(patient("1950-01-01"), stale)["falls_screening"].status is Status.OVERDUE


# --- documents: intent is not evidence ----------------------------------------------------------


def test_a_referral_for_colonoscopy_does_not_complete_the_screening() -> None:
    man = patient("1961-01-15", "male")
    referral = document(
        "DocumentReference/r1",
        date(2021, 5, 1),
        "Date: 2021-05-01\nReferred to gastroenterology for screening colonoscopy.\n"
        "Patient will call to schedule; no procedure has been performed yet.",
        title="Referral",
    )
    assert run(man, documents=[referral])["colorectal_cancer"].status is Status.DUE
    ordered = document("DocumentReference/r2", date(2021, 5, 1), "FIT kit ordered today.")
    assert run(man, documents=[ordered])["colorectal_cancer"].status is Status.DUE
    report = document(
        "DocumentReference/r3",
        date(2021, 5, 1),
        "Referred by Dr Smith.\nColonoscopy performed 2021-05-01; no polyps. Cecum reached.",
        title="GI report",
    )
    done = run(man, documents=[report])["colorectal_cancer"]
    assert done.status is Status.COMPLETE
    assert done.next_due == date(2031, 5, 1)


def test_sentence_boundaries_ignore_decimal_points() -> None:
    text = "HbA1c 7.2 % on review. Mammogram scheduled.\nNext line"
    assert sentence_at(text, text.index("HbA1c")) == "HbA1c 7.2 % on review"
    assert sentence_at(text, text.index("Mammogram")) == " Mammogram scheduled"
    assert sentence_at(text, len(text)) == ""
    assert reports_intent("Mammogram scheduled for May")
    assert reports_intent("Results pending")
    assert not reports_intent("Screening mammogram: BI-RADS 1, negative")


def test_a_summary_is_dated_by_the_date_its_sentence_states() -> None:
    # An outside-records summary filed 2021-03-08 restating a colonoscopy of 2010-12-06.
    summary = document(
        "DocumentReference/s1",
        date(2021, 3, 8),
        "Patient: A B  DOB: 1961-01-15\nPreventive care history:\n"
        "Colonoscopy 2010-12-06: normal, no polyps.",
        title="Outside records",
    )
    result = run(patient("1961-01-15", "male"), documents=[summary])["colorectal_cancer"]
    assert result.status is Status.OVERDUE
    assert result.last_done == date(2010, 12, 6)
    assert result.next_due == date(2020, 12, 6)
    # A date after the document's own date is a plan, not the test: the document date stands.
    plan = document(
        "DocumentReference/s2", date(2021, 3, 8), "Colonoscopy normal; next one 2031-03-08."
    )
    later = run(patient("1961-01-15", "male"), documents=[plan])["colorectal_cancer"]
    assert later.last_done == date(2021, 3, 8)


def test_stated_dates_read_common_forms_and_skip_birth_dates() -> None:
    assert stated_dates("Mammogram 03/04/2019, March 5, 2019 and 6 Mar 2019") == [
        date(2019, 3, 4),
        date(2019, 3, 5),
        date(2019, 3, 6),
    ]
    assert stated_dates("Pap smear May 2020") == [date(2020, 5, 31)]
    assert stated_dates("DOB: 1960-02-06 colonoscopy") == []
    assert stated_dates("HbA1c 7.2 on 2019-13-40") == []


def test_the_date_of_a_mention_is_the_first_after_it_else_the_last_before() -> None:
    text = "Colonoscopy 2010-01-01 normal, repeat due 2020-01-01"
    assert date_of_mention(text, 0) == date(2010, 1, 1)
    assert date_of_mention("On 2019-04-02 colonoscopy done", 14) == date(2019, 4, 2)
    # After the document's own date a date is a plan: skipped.
    plan = "Colonoscopy next 2031-03-08, last 2021-03-01"
    assert date_of_mention(plan, 0, not_after=date(2021, 3, 8)) == date(2021, 3, 1)
    assert date_of_mention("Colonoscopy normal", 0) is None
