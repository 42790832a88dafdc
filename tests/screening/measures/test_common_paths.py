"""Every path of the shared libraries on its own, with the edition filters that tell the
2024 and 2025 libraries apart (each test kills mutants the boundary tests leave alive)."""

from __future__ import annotations

import pytest

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures.qicore import Edition
from tests.screening.measures.builders import LOINC, SNOMED, Case, cc, code_in
from tests.screening.measures.test_common_libraries import ctx


def _procedure(case: Case, oid: str, when: str, status: str = "completed") -> None:
    case.procedure(code_in(oid), when, status=status)


@pytest.mark.parametrize(
    ("when", "status", "met"),
    [
        ("2026-01-01T10:00:00Z", "completed", True),
        ("2025-12-31T10:00:00Z", "completed", False),
        ("2026-05-01T10:00:00Z", "in-progress", False),
    ],
)
def test_hospice_procedure(when: str, status: str, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    _procedure(case, c.HOSPICE_CARE_AMBULATORY, when, status)
    assert (c.has_hospice_services(ctx(case)) == [f"Procedure/{case.resources[0]['id']}"]) is met


@pytest.mark.parametrize(("edition", "met"), [("2025", True), ("2024", False)])
def test_hospice_order_original_order_intent_is_2025_only(edition: Edition, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.add("ServiceRequest", status="active", intent="original-order", authoredOn="2026-02-01",
             code=cc(*code_in(c.HOSPICE_CARE_AMBULATORY)))  # fmt: skip
    assert bool(c.has_hospice_services(ctx(case, edition))) is met


@pytest.mark.parametrize(("edition", "met"), [("2025", True), ("2024", False)])
def test_hospice_assessment_needs_the_survey_category_in_2024(edition: Edition, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.observation((LOINC, "45755-6"), "2026-03-01", valueCodeableConcept=cc(SNOMED, "373066001"))
    assert bool(c.has_hospice_services(ctx(case, edition))) is met


@pytest.mark.parametrize(("edition", "met"), [("2025", False), ("2024", True)])
def test_an_in_progress_hospice_stay_counts_in_2024_only(edition: Edition, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.encounter(code_in(c.HOSPICE_ENCOUNTER), "2026-05-01", "2026-05-02", status="in-progress")
    assert bool(c.has_hospice_services(ctx(case, edition))) is met
    discharged = Case("q", birth="1950-01-01")
    discharged.encounter(
        code_in(c.ENCOUNTER_INPATIENT), "2026-05-01", "2026-05-03", status="in-progress",
        hospitalization={"dischargeDisposition": cc(SNOMED, c.DISCHARGE_HOSPICE_HOME)},
    )  # fmt: skip
    assert bool(c.has_hospice_services(ctx(discharged, edition))) is met


@pytest.mark.parametrize(
    ("when", "met"), [("2026-01-01T09:00:00Z", True), ("2025-12-31T09:00:00Z", False)]
)
def test_palliative_assessment_and_procedure(when: str, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.observation((LOINC, c.FACIT_PAL), when, category="survey")
    assert bool(c.has_palliative_care(ctx(case))) is met
    case = Case("q", birth="1950-01-01")
    _procedure(case, c.PALLIATIVE_INTERVENTION, when)
    assert bool(c.has_palliative_care(ctx(case))) is met
    case = Case("r", birth="1950-01-01")
    case.encounter(code_in(c.PALLIATIVE_ENCOUNTER), when)
    assert bool(c.has_palliative_care(ctx(case))) is met


@pytest.mark.parametrize(("edition", "met"), [("2025", True), ("2024", False)])
def test_palliative_assessment_without_survey_category(edition: Edition, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.observation((LOINC, c.FACIT_PAL), "2026-04-01")
    assert bool(c.has_palliative_care(ctx(case, edition))) is met


@pytest.mark.parametrize(
    ("authored", "intent", "met"),
    [
        ("2026-01-01", "order", True),
        ("2025-12-31", "order", False),
        ("2026-12-31", "order", True),
        ("2026-06-01", "plan", False),
    ],
)
def test_frailty_device_order(authored: str, intent: str, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.add("DeviceRequest", status="active", intent=intent, authoredOn=authored,
             codeCodeableConcept=cc(*code_in(c.FRAILTY_DEVICE)))  # fmt: skip
    assert bool(c.has_frailty(ctx(case))) is met


@pytest.mark.parametrize(
    ("when", "device", "met"),
    [("2026-02-01", True, True), ("2025-12-31", True, False), ("2026-02-01", False, False)],
)
def test_frailty_equipment_observation(when: str, device: bool, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    value = cc(*code_in(c.FRAILTY_DEVICE)) if device else cc(SNOMED, "26175008")
    case.observation((LOINC, c.MEDICAL_EQUIPMENT_USED), when, category="survey",
                     valueCodeableConcept=value)  # fmt: skip
    assert bool(c.has_frailty(ctx(case))) is met


@pytest.mark.parametrize(
    ("builder", "when", "met"),
    [
        ("symptom", "2026-12-31", True),
        ("symptom", "2027-01-01", False),
        ("diagnosis", "2026-06-01", True),
        ("diagnosis", "2027-01-01", False),
    ],
)
def test_frailty_symptom_and_diagnosis(builder: str, when: str, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    if builder == "symptom":
        case.observation(code_in(c.FRAILTY_SYMPTOM), when, status="preliminary")
    else:
        case.condition(code_in(c.FRAILTY_DIAGNOSIS), when)
    assert bool(c.has_frailty(ctx(case))) is met


@pytest.mark.parametrize(("birth", "met"), [("1960-12-31", True), ("1961-01-01", False)])
def test_66_to_80_variant_starts_at_66(birth: str, met: bool) -> None:
    case = Case("p", birth=birth)
    case.encounter(code_in(c.FRAILTY_ENCOUNTER), "2026-02-01")
    case.condition(code_in(c.ADVANCED_ILLNESS), "2026-02-01")
    assert bool(c.advanced_illness_frailty_66_80_or_frailty_81(ctx(case))) is met


def test_nursing_home_reads_the_latest_by_date_not_by_chart_order() -> None:
    case = Case("p", birth="1950-01-01")
    case.observation((LOINC, c.HOUSING_STATUS), "2026-09-01", category="survey",
                     valueCodeableConcept=cc(SNOMED, c.LIVES_IN_NURSING_HOME))  # fmt: skip
    case.observation((LOINC, c.HOUSING_STATUS), "2026-03-01", category="survey",
                     valueCodeableConcept=cc(SNOMED, "32911000"))  # fmt: skip
    assert c.nursing_home_66(ctx(case)) == [f"Observation/{case.resources[0]['id']}"]
    case.resources.reverse()
    assert c.nursing_home_66(ctx(case)) != []
    # In 2024 the assessment needs the survey category; without it nothing is read.
    bare = Case("q", birth="1950-01-01")
    bare.observation((LOINC, c.HOUSING_STATUS), "2026-09-01",
                     valueCodeableConcept=cc(SNOMED, c.LIVES_IN_NURSING_HOME))  # fmt: skip
    assert c.nursing_home_66(ctx(bare, "2025")) != []
    assert c.nursing_home_66(ctx(bare, "2024")) == []


@pytest.mark.parametrize(("edition", "met"), [("2025", True), ("2024", False)])
def test_dementia_medication_original_order_is_2025_only(edition: Edition, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.encounter(code_in(c.FRAILTY_ENCOUNTER), "2026-02-01")
    case.add("MedicationRequest", status="active", intent="original-order", authoredOn="2026-03-01",
             medicationCodeableConcept=cc(*code_in(c.DEMENTIA_MEDICATIONS)),
             dispenseRequest={"expectedSupplyDuration": {"value": 30, "code": "d"}})  # fmt: skip
    assert bool(c.advanced_illness_and_frailty_66(ctx(case, edition))) is met


@pytest.mark.parametrize(
    "oid",
    [
        c.OFFICE_VISIT,
        c.ANNUAL_WELLNESS_VISIT,
        c.PREVENTIVE_ESTABLISHED_18,
        c.PREVENTIVE_INITIAL_18,
        c.HOME_HEALTHCARE,
        c.VIRTUAL_ENCOUNTER,
        c.TELEPHONE_VISITS,
    ],
)
def test_every_outpatient_value_set_qualifies(oid: str) -> None:
    case = Case("p", birth="1950-01-01")
    case.encounter(code_in(oid), "2026-05-01")
    assert len(c.adult_outpatient_encounters(ctx(case))) == 1


def test_2025_filters_on_the_palliative_and_frailty_paths() -> None:
    """In progress is not performed in 2025; 'original-order' is an order; no survey category
    is needed for an assessment (each differs from the 2024 library)."""
    case = Case("p", birth="1950-01-01")
    case.encounter(code_in(c.PALLIATIVE_ENCOUNTER), "2026-05-01", status="in-progress")
    assert c.has_palliative_care(ctx(case, "2025")) == []
    assert c.has_palliative_care(ctx(case, "2024")) != []
    case = Case("q", birth="1950-01-01")
    case.encounter(code_in(c.FRAILTY_ENCOUNTER), "2026-05-01", status="in-progress")
    assert c.has_frailty(ctx(case, "2025")) == []
    assert c.has_frailty(ctx(case, "2024")) != []
    case = Case("r", birth="1950-01-01")
    case.add("DeviceRequest", status="active", intent="original-order", authoredOn="2026-02-01",
             codeCodeableConcept=cc(*code_in(c.FRAILTY_DEVICE)))  # fmt: skip
    assert c.has_frailty(ctx(case, "2025")) != []
    assert c.has_frailty(ctx(case, "2024")) == []
    case = Case("s", birth="1950-01-01")
    case.observation((LOINC, c.MEDICAL_EQUIPMENT_USED), "2026-02-01",
                     valueCodeableConcept=cc(*code_in(c.FRAILTY_DEVICE)))  # fmt: skip
    assert c.has_frailty(ctx(case, "2025")) != []
    assert c.has_frailty(ctx(case, "2024")) == []


def test_ages_as_event_times() -> None:
    """performedAge / onsetAge (Procedure, Condition): the year of life the age names."""
    born = "1950-01-01"  # 76 during 2026
    for oid in (c.HOSPICE_CARE_AMBULATORY, c.PALLIATIVE_INTERVENTION):
        case = Case("p", birth=born)
        case.add("Procedure", status="completed", code=cc(*code_in(oid)),
                 performedAge={"value": 76, "unit": "a", "code": "a"})  # fmt: skip
        assert (
            c.has_hospice_services if oid == c.HOSPICE_CARE_AMBULATORY else c.has_palliative_care
        )(ctx(case)) != []
    for oid, check in (
        (c.HOSPICE_DIAGNOSIS, c.has_hospice_services),
        (c.PALLIATIVE_DIAGNOSIS, c.has_palliative_care),
        (c.FRAILTY_DIAGNOSIS, c.has_frailty),
    ):
        case = Case("p", birth=born)
        case.condition(code_in(oid), None, clinical="resolved",
                       onsetAge={"value": 76, "unit": "a", "code": "a"},
                       abatementAge={"value": 76, "unit": "a", "code": "a"})  # fmt: skip
        assert check(ctx(case)) != [], oid
        case = Case("q", birth=born)
        case.condition(code_in(oid), None, clinical="resolved",
                       onsetAge={"value": 70, "unit": "a", "code": "a"},
                       abatementAge={"value": 71, "unit": "a", "code": "a"})  # fmt: skip
        assert check(ctx(case)) == [], oid
    case = Case("p", birth=born)
    case.encounter(code_in(c.FRAILTY_ENCOUNTER), "2026-02-01")
    case.condition(
        code_in(c.ADVANCED_ILLNESS), None, onsetAge={"value": 75, "unit": "a", "code": "a"}
    )
    assert c.has_advanced_illness(ctx(case)) != []  # onset in 2025: the year before


def test_no_birth_date_means_no_age_based_exclusion() -> None:
    case = Case("p", birth=None)
    case.encounter(code_in(c.FRAILTY_ENCOUNTER), "2026-02-01")
    assert c.advanced_illness_frailty_66_80_or_frailty_81(ctx(case)) == []
    assert c.advanced_illness_and_frailty_66(ctx(case)) == []
    assert c.nursing_home_66(ctx(case)) == []
