"""Exclusions: mastectomy, no cervix, colectomy, colorectal cancer, hospice, palliative care,
frailty with advanced illness at 66+, long-term care at 66+."""

from __future__ import annotations

from engine_fixtures import (
    ADVANCED_ILLNESS,
    BILATERAL_MASTECTOMY,
    CPT,
    FRAILTY_DIAGNOSIS,
    HYSTERECTOMY,
    ICD10CM,
    LEFT_MASTECTOMY,
    LOINC,
    PALLIATIVE_ENCOUNTER,
    RIGHT_MASTECTOMY,
    SNOMED,
    STATUS_POST_LEFT,
    UNSPECIFIED_MASTECTOMY,
    code_in,
    condition,
    encounter,
    observation,
    patient,
    procedure,
    run,
)

from healthprep_desktop.screening.model import EvidenceKind, Status

WOMAN_60 = "1961-03-01"
RIGHT = (SNOMED, "24028007")
LEFT = (SNOMED, "7771000")


def breast(*resources: dict) -> object:
    return run(patient(WOMAN_60, "female"), *resources)["breast_cancer"]


def test_bilateral_mastectomy_procedure_excludes_with_the_fact_named() -> None:
    result = breast(procedure(*code_in(BILATERAL_MASTECTOMY, SNOMED), "2015-02-03"))
    assert result.status is Status.NOT_APPLICABLE
    assert result.reason == "excluded: bilateral mastectomy (Procedure, 2015-02-03)"
    assert result.evidence[0].kind is EvidenceKind.EXCLUSION


def test_right_plus_left_mastectomy_excludes_but_one_side_does_not() -> None:
    right = procedure(*code_in(RIGHT_MASTECTOMY, SNOMED), "2010-01-01")
    left = procedure(*code_in(LEFT_MASTECTOMY, SNOMED), "2012-01-01")
    assert breast(right).status is Status.DUE
    assert breast(left).status is Status.DUE
    assert breast(right, left).status is Status.NOT_APPLICABLE


def test_two_mastectomies_on_the_same_side_do_not_exclude() -> None:
    # CMS125 (2026) needs a right and a left mastectomy; two right ones are not bilateral.
    first = procedure(*code_in(RIGHT_MASTECTOMY, SNOMED), "2010-01-01")
    second = procedure(*code_in(RIGHT_MASTECTOMY, SNOMED), "2014-06-01")
    assert breast(first, second).status is Status.DUE
    left = procedure(*code_in(LEFT_MASTECTOMY, SNOMED), "2014-06-01")
    result = breast(first, left)
    assert result.status is Status.NOT_APPLICABLE
    assert (result.reason or "").startswith("excluded: right and left mastectomy")


def test_unspecified_laterality_with_body_site_and_status_post_left() -> None:
    right_dx = condition(*code_in(UNSPECIFIED_MASTECTOMY, SNOMED), body_site=RIGHT)
    left_dx = condition(*code_in(STATUS_POST_LEFT, ICD10CM))
    assert breast(right_dx).status is Status.DUE
    assert breast(right_dx, left_dx).status is Status.NOT_APPLICABLE
    # Without a body site the unspecified code says nothing about the side.
    assert breast(condition(*code_in(UNSPECIFIED_MASTECTOMY, SNOMED)), left_dx).status is Status.DUE


def test_refuted_or_entered_in_error_conditions_do_not_exclude() -> None:
    hist = "2.16.840.1.113883.3.464.1003.198.12.1068"
    assert breast(condition(*code_in(hist, ICD10CM))).status is Status.NOT_APPLICABLE
    for verification in ("refuted", "entered-in-error"):
        cond = condition(*code_in(hist, ICD10CM), verification=verification)
        assert breast(cond).status is Status.DUE
    assert breast(condition(*code_in(hist, ICD10CM), verification="provisional")).status is (
        Status.NOT_APPLICABLE
    )


def test_hysterectomy_excludes_cervical_but_not_breast() -> None:
    results = run(patient(WOMAN_60, "female"), procedure(*code_in(HYSTERECTOMY, CPT), "2008-05-05"))
    assert results["cervical_cancer"].status is Status.NOT_APPLICABLE
    assert "hysterectomy" in (results["cervical_cancer"].reason or "")
    assert results["breast_cancer"].status is Status.DUE


def test_colorectal_cancer_and_total_colectomy_exclude() -> None:
    pat = patient("1961-01-01", "male")
    cancer = condition(ICD10CM, "C18.9", "2019-01-01", clinical="resolved", abatement="2019-06-01")
    assert run(pat, cancer)["colorectal_cancer"].status is Status.NOT_APPLICABLE
    colectomy = procedure(CPT, "44150", "2017-01-01")
    assert run(pat, colectomy)["colorectal_cancer"].reason == (
        "excluded: total colectomy (Procedure, 2017-01-01)"
    )
    # A future-dated diagnosis does not exclude today.
    later = condition(ICD10CM, "C18.9", "2021-07-15")
    assert run(pat, later)["colorectal_cancer"].status is Status.DUE


def test_hospice_encounter_in_the_last_twelve_months_excludes() -> None:
    pat = patient("1961-01-01", "male")
    recent = encounter(SNOMED, "183919006", "2020-07-01", "2020-07-02")
    assert run(pat, recent)["colorectal_cancer"].reason == (
        "excluded: hospice encounter (Encounter, 2020-07-01)"
    )
    old = encounter(SNOMED, "183919006", "2020-05-01", "2020-05-02")
    assert run(pat, old)["colorectal_cancer"].status is Status.DUE
    cancelled = encounter(SNOMED, "183919006", "2021-01-01", status="cancelled")
    assert run(pat, cancelled)["colorectal_cancer"].status is Status.DUE


def test_discharge_to_hospice_excludes() -> None:
    pat = patient("1961-01-01", "male")
    inpatient = code_in("2.16.840.1.113883.3.666.5.307")
    home = (SNOMED, "428361000124107")
    discharged = encounter(*inpatient, "2021-03-01", "2021-03-05", discharge=home)
    assert "discharge to hospice" in (run(pat, discharged)["colorectal_cancer"].reason or "")
    plain = encounter(*inpatient, "2021-03-01", "2021-03-05", discharge=(SNOMED, "306689006"))
    assert run(pat, plain)["colorectal_cancer"].status is Status.DUE


def test_hospice_assessment_needs_a_yes() -> None:
    pat = patient("1961-01-01", "male")
    yes = observation(LOINC, "45755-6", "2021-02-01", value_code=(SNOMED, "373066001"))
    no = observation(LOINC, "45755-6", "2021-02-01", value_code=(SNOMED, "373067005"))
    assert run(pat, yes)["colorectal_cancer"].status is Status.NOT_APPLICABLE
    assert run(pat, no)["colorectal_cancer"].status is Status.DUE


def test_palliative_care_encounter_excludes_cancer_screening() -> None:
    pat = patient("1961-01-01", "male")
    pal = encounter(*code_in(PALLIATIVE_ENCOUNTER, SNOMED), "2021-05-01", "2021-05-01")
    assert run(pat, pal)["colorectal_cancer"].status is Status.NOT_APPLICABLE
    # Immunizations carry no palliative exclusion.
    assert run(pat, pal)["td_tdap_vaccine"].status is Status.DUE


def test_frailty_with_advanced_illness_only_from_66() -> None:
    frailty = condition(*code_in(FRAILTY_DIAGNOSIS, ICD10CM), "2021-01-10")
    illness = condition(*code_in(ADVANCED_ILLNESS, ICD10CM), "2020-11-01")
    at_66 = run(patient("1955-06-30", "male"), frailty, illness)["colorectal_cancer"]
    assert at_66.status is Status.NOT_APPLICABLE
    assert "frailty with advanced illness" in (at_66.reason or "")
    at_65 = run(patient("1955-07-01", "male"), frailty, illness)["colorectal_cancer"]
    assert at_65.status is Status.DUE
    only_frail = run(patient("1950-01-01", "male"), frailty)["colorectal_cancer"]
    assert only_frail.status is Status.DUE
    # Advanced illness diagnosed more than two years back does not count.
    old_illness = condition(*code_in(ADVANCED_ILLNESS, ICD10CM), "2018-01-01")
    assert run(patient("1950-01-01", "male"), frailty, old_illness)["colorectal_cancer"].status is (
        Status.DUE
    )


def test_long_term_care_uses_the_latest_housing_status_from_66() -> None:
    nursing = observation(LOINC, "71802-3", "2020-01-01", value_code=(SNOMED, "160734000"))
    home = observation(LOINC, "71802-3", "2021-01-01", value_code=(SNOMED, "160903007"))
    old = patient("1950-01-01", "male")
    assert run(old, nursing)["colorectal_cancer"].status is Status.NOT_APPLICABLE
    assert run(old, nursing, home)["colorectal_cancer"].status is Status.DUE  # moved home since
    young = patient("1960-01-01", "male")
    assert run(young, nursing)["colorectal_cancer"].status is Status.DUE


def test_hiv_diagnosis_excludes_hiv_screening() -> None:
    pat = patient("1990-01-01", "male")
    assert run(pat, condition(ICD10CM, "B20", "2018-01-01"))["hiv"].status is Status.NOT_APPLICABLE
