"""Hospice, PalliativeCare and AdvancedIllnessandFrailty at their boundaries, both editions.

Each window edge is tested on both sides, so making a window exclusive (or a day longer)
fails a test."""

from __future__ import annotations

import pytest

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures.base import MeasureContext, MeasurementPeriod
from healthprep_desktop.screening.measures.chart import Chart
from healthprep_desktop.screening.measures.qicore import Edition
from tests.screening.measures.builders import LOINC, SNOMED, Case, cc, code_in

MP = MeasurementPeriod.calendar_year(2026)
EDITIONS: tuple[Edition, ...] = ("2024", "2025")


def ctx(case: Case, edition: Edition = "2025") -> MeasureContext:
    return MeasureContext(Chart(case.patient, case.resources), MP, edition)


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize(
    ("start", "end", "met"),
    [
        ("2025-12-01", "2026-01-01", True),  # overlaps the first day
        ("2025-12-01", "2025-12-31", False),  # ends the day before
        ("2026-12-31", "2027-01-10", True),  # starts on the last day
        ("2027-01-01", "2027-01-10", False),
    ],
)
def test_hospice_encounter_overlaps_the_period(
    edition: Edition, start: str, end: str, met: bool
) -> None:
    case = Case("p", birth="1950-01-01")
    case.encounter(code_in(c.HOSPICE_ENCOUNTER), start, end)
    assert bool(c.has_hospice_services(ctx(case, edition))) is met


@pytest.mark.parametrize(
    ("end", "disposition", "met"),
    [
        ("2026-01-01", "428361000124107", True),
        ("2025-12-31", "428361000124107", False),
        ("2026-12-31", "428371000124100", True),
        ("2026-06-01", "306689006", False),  # discharged home, not to hospice
    ],
)
def test_discharge_to_hospice_ends_during_the_period(end: str, disposition: str, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.encounter(
        code_in(c.ENCOUNTER_INPATIENT),
        "2025-12-20",
        end,
        hospitalization={"dischargeDisposition": cc(SNOMED, disposition)},
    )
    assert bool(c.has_hospice_services(ctx(case))) is met


@pytest.mark.parametrize(
    ("authored", "intent", "met"),
    [("2026-01-01", "order", True), ("2025-12-31", "order", False), ("2026-05-01", "plan", False)],
)
def test_hospice_order_authored_in_the_period(authored: str, intent: str, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.add(
        "ServiceRequest",
        status="active",
        intent=intent,
        authoredOn=authored,
        code=cc(*code_in(c.HOSPICE_CARE_AMBULATORY)),
    )
    assert bool(c.has_hospice_services(ctx(case))) is met


def test_hospice_assessment_needs_yes() -> None:
    for answer, met in (("373066001", True), ("373067005", False)):
        case = Case("p", birth="1950-01-01")
        case.observation(
            (LOINC, "45755-6"),
            "2026-03-01",
            category="survey",
            valueCodeableConcept=cc(SNOMED, answer),
        )
        assert bool(c.has_hospice_services(ctx(case))) is met


@pytest.mark.parametrize(
    ("clinical", "abatement", "met"),
    [
        ("active", None, True),  # ongoing
        ("resolved", "2026-01-01", True),  # abated on the first day
        ("resolved", "2025-12-31", False),
        ("resolved", None, False),  # inactive with no abatement: end unknown
    ],
)
def test_palliative_diagnosis_prevalence(clinical: str, abatement: str | None, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    case.condition(
        code_in(c.PALLIATIVE_DIAGNOSIS), "2020-01-01", clinical=clinical, abatement=abatement
    )
    assert bool(c.has_palliative_care(ctx(case))) is met


def test_refuted_condition_is_ignored_in_2025_but_not_in_2024() -> None:
    # Status.verified() is a 2025-edition filter; the 2024 libraries retrieve every Condition.
    case = Case("p", birth="1950-01-01")
    case.condition(
        code_in(c.PALLIATIVE_DIAGNOSIS),
        "2020-01-01",
        verificationStatus=cc(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "refuted"
        ),
    )
    assert c.has_palliative_care(ctx(case, "2025")) == []
    assert c.has_palliative_care(ctx(case, "2024")) != []


def _frail(case: Case) -> None:
    case.encounter(code_in(c.FRAILTY_ENCOUNTER), "2026-02-01")


@pytest.mark.parametrize(
    ("birth", "met"),
    [("1960-12-31", True), ("1961-01-01", False)],  # 66 vs 65 at the end of MP
)
def test_advanced_illness_and_frailty_age_66(birth: str, met: bool) -> None:
    case = Case("p", birth=birth)
    _frail(case)
    case.condition(code_in(c.ADVANCED_ILLNESS), "2025-06-01", category="encounter-diagnosis")
    assert bool(c.advanced_illness_and_frailty_66(ctx(case))) is met


@pytest.mark.parametrize(
    ("onset", "met"), [("2025-01-01", True), ("2024-12-31", False), ("2026-12-31", True)]
)
def test_advanced_illness_starts_in_the_year_before_or_during(onset: str, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    _frail(case)
    case.condition(code_in(c.ADVANCED_ILLNESS), onset)
    assert bool(c.advanced_illness_and_frailty_66(ctx(case))) is met


def test_frailty_alone_is_not_enough_before_81() -> None:
    case = Case("p", birth="1950-01-01")
    _frail(case)
    assert c.advanced_illness_and_frailty_66(ctx(case)) == []
    assert c.advanced_illness_frailty_66_80_or_frailty_81(ctx(case)) == []
    old = Case("q", birth="1945-12-31")  # 81 at the end of the period
    _frail(old)
    assert c.advanced_illness_frailty_66_80_or_frailty_81(ctx(old)) != []


@pytest.mark.parametrize(
    ("authored", "met"),
    [
        ("2024-12-02", False),  # 30 days supply ends 2024-12-31: the day before the window
        ("2024-12-03", True),  # ends 2025-01-01: overlaps the window's first day
    ],
)
def test_dementia_medication_period_overlaps_the_window(authored: str, met: bool) -> None:
    case = Case("p", birth="1950-01-01")
    _frail(case)
    case.add(
        "MedicationRequest",
        status="active",
        intent="order",
        authoredOn=authored,
        medicationCodeableConcept=cc(*code_in(c.DEMENTIA_MEDICATIONS)),
        dispenseRequest={"expectedSupplyDuration": {"value": 30, "unit": "days", "code": "d"}},
    )
    assert bool(c.advanced_illness_and_frailty_66(ctx(case))) is met


def test_nursing_home_uses_the_last_housing_status() -> None:
    case = Case("p", birth="1950-01-01")
    case.observation(
        (LOINC, "71802-3"),
        "2026-03-01",
        category="survey",
        valueCodeableConcept=cc(SNOMED, "160734000"),
    )
    assert c.nursing_home_66(ctx(case)) != []
    case.observation(
        (LOINC, "71802-3"),
        "2026-09-01",
        category="survey",
        valueCodeableConcept=cc(SNOMED, "32911000"),
    )
    assert c.nursing_home_66(ctx(case)) == []
    case.observation(
        (LOINC, "71802-3"),
        "2027-01-01",
        category="survey",
        valueCodeableConcept=cc(SNOMED, "160734000"),
    )
    assert c.nursing_home_66(ctx(case)) == []  # after the period: not considered


@pytest.mark.parametrize(
    ("start", "end", "status", "met"),
    [
        ("2026-01-01", "2026-01-01", "finished", True),
        ("2025-12-31", "2026-01-01", "finished", False),  # must lie wholly in the period
        ("2026-12-31", "2026-12-31", "finished", True),
        ("2026-12-31", "2027-01-01", "finished", False),
        ("2026-05-01", "2026-05-01", "cancelled", False),
    ],
)
def test_qualifying_outpatient_encounter_during_the_period(
    start: str, end: str, status: str, met: bool
) -> None:
    case = Case("p", birth="1950-01-01")
    case.encounter(code_in(c.OFFICE_VISIT), start, end, status=status)
    assert bool(c.adult_outpatient_encounters(ctx(case))) is met


def test_2024_edition_counts_an_in_progress_encounter() -> None:
    case = Case("p", birth="1950-01-01")
    case.encounter(code_in(c.OFFICE_VISIT), "2026-05-01", status="in-progress")
    assert c.adult_outpatient_encounters(ctx(case, "2025")) == []
    assert c.adult_outpatient_encounters(ctx(case, "2024")) != []
