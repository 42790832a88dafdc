"""CMS165 (controlling high blood pressure) at the edges the case files leave open.

Each test answers as CMS165FHIRControllingHighBloodPressure 0.5.000 does, read definition by
definition; each kills mutants that survived a mutmut round (docs/measures/README.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.screening.measures.builders import LOINC, Case, cc, code_in
from tests.screening.measures.edges import evaluated, membership, ref
from tests.screening.measures.make.cms165 import (
    BP_PROFILE,
    DIALYSIS,
    ED,
    ESRD,
    ESRD_MONTHLY,
    HYPERTENSION,
    INPATIENT,
    KIDNEY_TRANSPLANT,
    OFFICE,
    PREGNANCY,
    _mmhg,
    base,
    bp,
    stay,
)

CMS = "CMS165"
UCUM = "http://unitsofmeasure.org"
KIDNEY_TRANSPLANT_RECIPIENT = code_in("2.16.840.1.113883.3.464.1003.109.12.1029")
CKD_STAGE_5 = code_in("2.16.840.1.113883.3.526.3.1002")


# ---- Initial Population: the six-month hypertension window -----------------------------------


@pytest.mark.parametrize(
    ("onset", "ipp"),
    [
        ("2026-06-30T23:59:59.999Z", True),  # the last millisecond of the half-open window
        ("2026-07-01T00:00:00.000Z", False),  # start of MP + 6 months is excluded
        ("2026-06-30", True),
        ("2026-07-01", False),
        ("2026-01-01T00:00:00.000Z", True),
    ],
)
def test_hypertension_window_is_half_open_at_full_precision(onset: str, ipp: bool) -> None:
    # overlaps Interval[start of "Measurement Period", start of "Measurement Period" + 6 months )
    assert membership(CMS, base("p", onset=onset)).initial_population is ipp


@pytest.mark.parametrize(("age", "ipp"), [(60, True), (61, False)])
def test_hypertension_onset_as_an_age(age: int, ipp: bool) -> None:
    # Born 1966-05-05: onsetAge 60 is 2026-05-05 (in the window), 61 is 2027 (after it).
    case = Case("p", birth="1966-05-05")
    case.encounter(OFFICE, "2026-03-01T09:00:00Z", "2026-03-01T09:30:00Z")
    case.condition(HYPERTENSION, None, onsetAge={"value": age, "unit": "a", "code": "a"})
    assert membership(CMS, case).initial_population is ipp


# ---- Denominator Exclusions --------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [PREGNANCY, ESRD, KIDNEY_TRANSPLANT_RECIPIENT, CKD_STAGE_5],
    ids=["pregnancy", "esrd", "kidney-transplant-recipient", "ckd-stage-5"],
)
def test_each_pregnancy_or_renal_value_set_excludes(code: tuple[str, str]) -> None:
    case = base("p")
    case.condition(code, "2026-02-01T00:00:00Z")
    assert membership(CMS, case).denominator_exclusion is True


@pytest.mark.parametrize(("age", "excluded"), [(60, True), (61, False)])
def test_renal_diagnosis_onset_as_an_age(age: int, excluded: bool) -> None:
    case = base("p")  # born 1966-05-05
    case.condition(ESRD, None, onsetAge={"value": age, "unit": "a", "code": "a"})
    assert membership(CMS, case).denominator_exclusion is excluded


@pytest.mark.parametrize(("age", "excluded"), [(59, True), (60, False)])
def test_dialysis_performed_as_an_age(age: int, excluded: bool) -> None:
    # Born 1966-05-05: performedAge 59 is [2025-05-05, 2026-05-04], which ends on or before the
    # end of the period; performedAge 60 ends in 2027.
    case = base("p")
    case.add("Procedure", status="completed", code=cc(*DIALYSIS),
             performedAge={"value": age, "unit": "a", "code": "a"})  # fmt: skip
    assert membership(CMS, case).denominator_exclusion is excluded


def test_esrd_procedure_or_encounter_without_a_time_does_not_exclude() -> None:
    case = base("p")
    case.add("Procedure", status="completed", code=cc(*KIDNEY_TRANSPLANT))
    enc = case.encounter(ESRD_MONTHLY, "2026-02-01")
    del enc["period"]
    assert membership(CMS, case).denominator_exclusion is False


@pytest.mark.parametrize(("status", "excluded"), [("finished", True), ("in-progress", False)])
def test_esrd_encounter_must_be_finished(status: str, excluded: bool) -> None:
    case = base("p")
    case.encounter(ESRD_MONTHLY, "2026-12-31T10:00:00Z", status=status)
    assert membership(CMS, case).denominator_exclusion is excluded


# ---- Numerator: which observations are blood pressure readings ------------------------------


def _reading(case: Case, when: str, components: list[Any], **more: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"component": components, "meta": {"profile": [BP_PROFILE]}}
    fields.update(more)
    return case.observation((LOINC, "55284-4"), when, category="vital-signs", **fields)


def _comp(code: str, quantity: Any) -> dict[str, Any]:
    return {"code": cc(LOINC, code), "valueQuantity": quantity}


def test_an_observation_with_another_profile_is_not_a_reading() -> None:
    case = base("p")
    bp(case, "2026-10-01T10:00:00Z", 120, 70)
    later = _reading(case, "2026-11-01T10:00:00Z", [], valueQuantity={"value": 72})
    later["meta"] = {
        "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-heart-rate"]
    }
    assert membership(CMS, case).numerator is True


def test_a_versioned_profile_tag_is_the_profile() -> None:
    case = base("p")
    reading = _reading(case, "2026-10-01T10:00:00Z",
                       [_comp("8480-6", _mmhg(120)), _comp("8462-4", _mmhg(70))])  # fmt: skip
    reading["meta"] = {"profile": [BP_PROFILE + "|6.1.0"]}
    assert membership(CMS, case).numerator is True


def test_an_in_progress_inpatient_stay_does_not_disqualify_its_readings() -> None:
    # isEncounterPerformed (2025): finished only; an unfinished stay removes nothing, so the
    # first branch of the union keeps the reading.
    case = base("p")
    enc = stay(case, INPATIENT, "2026-11-01T10:00:00Z", "2026-11-03T10:00:00Z", "IMP")
    enc["status"] = "in-progress"
    bp(case, "2026-03-01T09:10:00Z", 150, 95)
    bp(case, "2026-11-02T09:00:00Z", 120, 70, encounter=enc)
    assert membership(CMS, case).numerator is True


def test_get_encounter_matches_on_the_id_alone() -> None:
    # getEncounter: [Encounter] E where E.id = reference.reference.getId() -- the type segment is
    # not compared, so an ED visit referenced oddly still marks the reading as emergency.
    case = base("p")
    bp(case, "2026-03-01T09:10:00Z", 120, 70)
    enc = stay(case, ED, "2026-10-01T10:00:00Z", "2026-10-01T14:00:00Z", "EMER")
    high = bp(case, "2026-10-01T11:00:00Z", 150, 95)
    high["encounter"] = {"reference": f"Observation/{enc['id']}"}
    assert membership(CMS, case).numerator is True


def test_a_malformed_encounter_class_is_ignored() -> None:
    case = base("p")
    enc = stay(case, OFFICE, "2026-11-01T10:00:00Z", "2026-11-01T10:30:00Z", "AMB")
    enc["class"] = {"code": ["AMB"]}
    bp(case, "2026-11-01T10:10:00Z", 120, 70, encounter=enc)
    assert membership(CMS, case).numerator is True


# ---- Numerator: the most recent day ---------------------------------------------------------


def test_a_reading_without_an_effective_time_has_no_day() -> None:
    case = base("p")
    bp(case, "2026-10-01T10:00:00Z", 120, 70)
    undated = bp(case, "2026-10-01T10:00:00Z", 150, 95)
    del undated["effectiveDateTime"]
    assert membership(CMS, case).numerator is True


def test_a_month_precision_reading_makes_the_most_recent_day_uncertain() -> None:
    # "Blood Pressure Days" returns `date from effective.latest()`: 2026-12 (month precision),
    # which sorts after 2026-10-01; Last() is 2026-12, and `same day as 2026-12` is null for
    # every reading, so First() of nothing is null and "< 140 'mm[Hg]'" is not true.
    case = base("p")
    bp(case, "2026-10-01T10:00:00Z", 120, 70)
    bp(case, "2026-12", 118, 72)
    assert membership(CMS, case).numerator is False


def test_an_earlier_month_precision_reading_does_not_hide_a_later_day() -> None:
    case = base("p")
    bp(case, "2026-03", 150, 95)
    bp(case, "2026-10-01T10:00:00Z", 120, 70)
    assert membership(CMS, case).numerator is True


# ---- Numerator: component values -----------------------------------------------------------


def _one_reading(systolic: Any, diastolic: Any = None, extra: list[Any] | None = None) -> Case:
    case = base("p")
    comps = [_comp("8480-6", systolic), _comp("8462-4", diastolic or _mmhg(70)), *(extra or [])]
    _reading(case, "2026-10-01T10:00:00Z", comps)
    return case


def test_two_systolic_components_are_never_controlled() -> None:
    # `singleton from` over two matching components is a run-time error in CQL.
    case = _one_reading(_mmhg(120), extra=[_comp("8480-6", _mmhg(118))])
    assert membership(CMS, case).numerator is False


@pytest.mark.parametrize(
    ("quantity", "controlled"),
    [
        ({"value": 120, "unit": "mm[Hg]"}, True),  # Coalesce(code, unit, '1')
        ({"value": 120, "system": UCUM, "code": "mm[Hg]"}, True),
        ({"value": 120, "comparator": "<", "system": UCUM, "code": "mm[Hg]"}, False),
        ({"value": 120, "system": "http://example.org/units", "code": "mm[Hg]"}, False),
        ({"value": 120, "system": UCUM, "code": "/min"}, False),  # not comparable with mm[Hg]
        # UCUM converts pressures for the comparison: mm[Hg] is 133.3220 Pa.
        ({"value": 18.6, "system": UCUM, "code": "kPa"}, True),  # 139.5 mm[Hg]
        ({"value": 18.7, "system": UCUM, "code": "kPa"}, False),  # 140.3 mm[Hg]
        ({"value": 13.9, "system": UCUM, "code": "cm[Hg]"}, True),
        ({"value": 14.0, "system": UCUM, "code": "cm[Hg]"}, False),
        ({"value": 120}, False),  # unit '1'
        ({"value": "120", "system": UCUM, "code": "mm[Hg]"}, False),  # not a JSON number
    ],
)
def test_systolic_quantity_shapes(quantity: dict[str, Any], controlled: bool) -> None:
    assert membership(CMS, _one_reading(quantity)).numerator is controlled


# ---- Evidence -------------------------------------------------------------------------------


def test_the_report_lists_the_deciding_resources() -> None:
    case = base("p")
    reading = bp(case, "2026-10-01T10:00:00Z", 120, 70)
    refs = evaluated(CMS, case)
    assert ref(case.resources[0]) in refs  # the office visit
    assert ref(case.resources[1]) in refs  # the hypertension diagnosis
    assert ref(reading) in refs


# ---- The end of the period at sub-millisecond precision -----------------------------------------


def test_an_office_reading_on_the_last_instant_during_a_stay_counts() -> None:
    # CQL truncates 23:59:59.9995 to 23:59:59.999. The reading falls on a day of a finished
    # inpatient stay (first branch drops it), but its own encounter is an office visit, so the
    # second branch keeps it when it is during day of the period -- which it is.
    case = base("p")
    bp(case, "2026-03-01T09:10:00Z", 150, 95)
    stay(case, INPATIENT, "2026-12-30T10:00:00Z", "2027-01-02T10:00:00Z", "IMP")
    visit = stay(case, OFFICE, "2026-12-31T23:00:00Z", "2026-12-31T23:59:59Z", "AMB")
    bp(case, "2026-12-31T23:59:59.9995Z", 120, 70, encounter=visit)
    assert membership(CMS, case).numerator is True
