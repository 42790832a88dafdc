"""The visit-day data shapes of the synthetic clinic, and what the real engine makes of them.

Every shape `screening.visit_status.refine` reads (a positive screen with and without its
follow-up, a not-done record or a do-not-perform order with a coded reason, an ordinary order)
and the toddlers' CMS117 immunization series must exist in a demo-sized clinic, read straight
from the FHIR JSON with the shipped value sets; then the engine plus refine must give
FOLLOW_UP_NEEDED, DECLINED and MEDICAL_REASON, and keep a followed-up screening COMPLETE.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from healthprep_desktop.sandbox.clinic import ENGINE_GROUPS, SyntheticClinic
from healthprep_desktop.sandbox.clinic import history_followup as hf
from healthprep_desktop.sandbox.clinic.codes import valueset
from healthprep_desktop.sandbox.clinic.visit_scenarios import VISIT_RULES, expected_visit_status
from healthprep_desktop.screening.engine import evaluate
from healthprep_desktop.screening.library import default_library
from healthprep_desktop.screening.measures import MeasurementPeriod, evaluate_measures
from healthprep_desktop.screening.model import ScreeningResult, Status
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.visit_status import refine

JSON = dict[str, Any]
LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ADULT_DEPRESSION_SCREEN, SCREEN_POSITIVE = "73832-8", "428181000124104"
REFERRAL_ADULT_DEPRESSION = "2.16.840.1.113883.3.526.3.1571"
FOLLOW_UP_ABOVE_NORMAL_BMI = "2.16.840.1.113883.3.600.1.1525"
OVERWEIGHT_OR_OBESE = "2.16.840.1.113762.1.4.1047.502"
TOBACCO_USE_SCREENING = "2.16.840.1.113883.3.526.3.1278"
TOBACCO_USER = "2.16.840.1.113883.3.526.3.1170"
CESSATION_COUNSELING = "2.16.840.1.113883.3.526.3.509"
PATIENT_DECLINED = "2.16.840.1.113883.3.526.3.1582"
MEDICAL_REASON = "2.16.840.1.113883.3.526.3.1007"
COLONOSCOPY = "2.16.840.1.113883.3.464.1003.108.12.1020"
MAMMOGRAPHY = "2.16.840.1.113883.3.464.1003.108.12.1018"
FRAILTY_DEVICE = "2.16.840.1.113883.3.464.1003.118.12.1300"
# CMS117's ten vaccines (value sets of cms117_vaccines): each toddler series names them all.
CMS117_VACCINES = {
    "DTaP": "2.16.840.1.113883.3.464.1003.196.12.1214",
    "IPV": "2.16.840.1.113883.3.464.1003.196.12.1219",
    "MMR": "2.16.840.1.113883.3.464.1003.196.12.1224",
    "HiB": "2.16.840.1.113883.3.464.1003.110.12.1083",
    "HepB": "2.16.840.1.113883.3.464.1003.196.12.1216",
    "VZV": "2.16.840.1.113883.3.464.1003.196.12.1170",
    "PCV": "2.16.840.1.113883.3.464.1003.196.12.1221",
    "HepA": "2.16.840.1.113883.3.464.1003.196.12.1215",
    "RV": "2.16.840.1.113883.3.464.1003.196.12.1223",
    "influenza": "2.16.840.1.113883.3.464.1003.196.12.1218",
}
# Screening key of a visit scenario -> library screening id (bmi has no profile key).
VISIT_GROUPS = {**ENGINE_GROUPS, "bmi": "bmi_screening"}


@pytest.fixture(scope="module")
def clinic() -> SyntheticClinic:
    return SyntheticClinic(seed=1, patients=500)


@pytest.fixture(scope="module")
def charts(clinic: SyntheticClinic) -> dict[str, list[JSON]]:
    return {pid: clinic.patient_resources(pid) for pid in clinic.patient_ids()}


@pytest.fixture(scope="module")
def as_of(clinic: SyntheticClinic) -> date:
    return clinic.reference_date


# --- reading charts ---------------------------------------------------------------------------


def _codings(concept: Any) -> list[tuple[str, str]]:
    if not isinstance(concept, dict):
        return []
    return [(c.get("system", ""), c.get("code", "")) for c in concept.get("coding") or ()]


def _code(resource: JSON) -> Any:
    return (
        resource.get("code") or resource.get("vaccineCode") or resource.get("codeCodeableConcept")
    )


def in_set(concept: Any, oid: str) -> bool:
    vs = valueset(oid)
    return any(vs.matches(system, code) for system, code in _codings(concept))


def is_code(concept: Any, system: str, code: str) -> bool:
    return (system, code) in _codings(concept)


def day_of(resource: JSON) -> date:
    for key in ("effectiveDateTime", "performedDateTime", "occurrenceDateTime", "authoredOn"):
        if key in resource:
            value = resource[key]
            return (
                datetime.fromisoformat(value).date() if "T" in value else date.fromisoformat(value)
            )
    raise AssertionError(f"{resource['resourceType']}/{resource['id']} has no date")


def of_type(chart: list[JSON], rtype: str, oid: str | None = None) -> list[JSON]:
    found = [r for r in chart if r["resourceType"] == rtype]
    return found if oid is None else [r for r in found if in_set(_code(r), oid)]


def in_last_year(day: date, as_of: date) -> bool:
    return as_of - timedelta(days=364) <= day <= as_of


def positive_depression_screens(chart: list[JSON], as_of: date) -> list[JSON]:
    return [
        o
        for o in of_type(chart, "Observation")
        if is_code(o["code"], LOINC, ADULT_DEPRESSION_SCREEN)
        and is_code(o.get("valueCodeableConcept"), SNOMED, SCREEN_POSITIVE)
        and o["status"] == "final"
        and any(c["coding"][0]["code"] == "survey" for c in o["category"])
        and in_last_year(day_of(o), as_of)
    ]


def depression_referrals(chart: list[JSON], after: date) -> list[JSON]:
    return [
        r
        for r in of_type(chart, "ServiceRequest", REFERRAL_ADULT_DEPRESSION)
        if r["status"] == "completed" and r["intent"] == "order" and day_of(r) >= after
    ]


def latest_bmi(chart: list[JSON]) -> tuple[date, float] | None:
    found = [
        (day_of(o), o["valueQuantity"]["value"])
        for o in of_type(chart, "Observation")
        if is_code(o["code"], LOINC, "39156-5") and o["status"] == "final"
    ]
    return max(found) if found else None


def bmi_plans(chart: list[JSON], after: date) -> list[JSON]:
    return [
        p
        for p in of_type(chart, "Procedure", FOLLOW_UP_ABOVE_NORMAL_BMI)
        if day_of(p) >= after and any(in_set(r, OVERWEIGHT_OR_OBESE) for r in p["reasonCode"])
    ]


def tobacco_user_screen(chart: list[JSON], as_of: date) -> date | None:
    found = [
        day_of(o)
        for o in of_type(chart, "Observation", TOBACCO_USE_SCREENING)
        if in_set(o.get("valueCodeableConcept"), TOBACCO_USER) and in_last_year(day_of(o), as_of)
    ]
    return max(found) if found else None


def counselling(chart: list[JSON], after: date) -> list[JSON]:
    return [
        p
        for p in of_type(chart, "Procedure", CESSATION_COUNSELING)
        if p["status"] == "completed" and day_of(p) >= after
    ]


def latest_bp(chart: list[JSON]) -> tuple[date, int, int] | None:
    found = []
    for o in of_type(chart, "Observation"):
        parts = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
                 for c in o.get("component") or ()}  # fmt: skip
        if o["status"] == "final" and {"8480-6", "8462-4"} <= set(parts):
            found.append((day_of(o), parts["8480-6"], parts["8462-4"]))
    return max(found) if found else None


def reason_of(resource: JSON) -> str | None:
    concepts = [resource.get("statusReason"), *(resource.get("reasonCode") or ())]
    for concept in concepts:
        if (
            in_set(concept, PATIENT_DECLINED)
            or is_code(concept, ACT_REASON, "PATOBJ")
            or is_code(concept, SNOMED, "105480006")  # refusal of treatment (profile due_not_done)
        ):
            return "declined"
        if in_set(concept, MEDICAL_REASON) or is_code(concept, ACT_REASON, "MEDPREC"):
            return "medical_reason"
    return None


def record_of(chart: list[JSON]) -> PatientRecord:
    """Coded data only: none of the shapes here lives in a document."""
    rest = [r for r in chart[1:] if r["resourceType"] not in ("Binary", "DocumentReference")]
    return PatientRecord(patient=chart[0], resources=rest, documents=[])


def with_visit(clinic: SyntheticClinic, key: str, scenario: str) -> list[str]:
    return [
        pid
        for pid in clinic.patient_ids()
        if clinic.expected_visit_profile(pid).get(key) == scenario
    ]


# --- the shapes exist ---------------------------------------------------------------------------


def test_every_visit_scenario_is_dealt_and_named_by_its_status(clinic: SyntheticClinic) -> None:
    dealt = Counter(
        s for pid in clinic.patient_ids() for s in clinic.expected_visit_profile(pid).values()
    )
    for rule in VISIT_RULES:
        for scenario in rule.cycle:
            if scenario is not None:
                assert dealt[scenario] >= 2, scenario
                expected_visit_status(scenario)
    assert dealt["declined_influenza"] and dealt["declined_colonoscopy_refused"]
    with pytest.raises(ValueError):
        expected_visit_status("due_never")


def test_new_concepts_resolve_against_their_value_sets() -> None:
    for concept in hf.all_concepts():
        assert concept.codings(), concept.key  # a code missing from its value set raises


def test_positive_depression_screen_with_and_without_referral(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]], as_of: date
) -> None:
    for scenario, referred in (
        ("follow_up_needed_positive_screen", False),
        ("complete_positive_screen_referred", True),
    ):
        for pid in with_visit(clinic, "depression", scenario):
            positive = positive_depression_screens(charts[pid], as_of)
            assert positive, pid
            screened = max(day_of(o) for o in positive)
            assert bool(depression_referrals(charts[pid], screened)) is referred, pid


def test_bmi_above_normal_with_and_without_a_plan(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]], as_of: date
) -> None:
    for scenario, planned in (
        ("follow_up_needed_bmi_above_normal", False),
        ("complete_bmi_above_normal_with_plan", True),
    ):
        for pid in with_visit(clinic, "bmi", scenario):
            found = latest_bmi(charts[pid])
            assert found is not None and found[1] >= 25 and in_last_year(found[0], as_of), pid
            assert bool(bmi_plans(charts[pid], found[0])) is planned, pid


def test_tobacco_user_with_and_without_counselling(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]], as_of: date
) -> None:
    for scenario, counselled in (
        ("follow_up_needed_tobacco_user", False),
        ("complete_tobacco_user_counseled", True),
    ):
        for pid in with_visit(clinic, "tobacco", scenario):
            screened = tobacco_user_screen(charts[pid], as_of)
            assert screened is not None, pid
            assert bool(counselling(charts[pid], screened)) is counselled, pid


def test_elevated_blood_pressure_without_follow_up(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]], as_of: date
) -> None:
    pids = with_visit(clinic, "blood_pressure", "follow_up_needed_elevated_bp")
    assert pids
    for pid in pids:
        found = latest_bp(charts[pid])
        assert found is not None and in_last_year(found[0], as_of), pid
        assert found[1] >= 120 or found[2] >= 80, pid


@pytest.mark.parametrize(
    ("key", "rtype", "oid"),
    [
        ("colorectal", "Procedure", COLONOSCOPY),
        ("breast", "ServiceRequest", MAMMOGRAPHY),
        ("influenza", "Immunization", CMS117_VACCINES["influenza"]),
    ],
)
def test_not_done_records_carry_a_coded_reason(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]], as_of: date, key: str, rtype: str,
    oid: str,
) -> None:  # fmt: skip
    seen = set()
    for pid in clinic.patient_ids():
        scenario = clinic.expected_visit_profile(pid).get(key)
        if scenario is None:
            continue
        negated = [
            r
            for r in of_type(charts[pid], rtype, oid)
            if r.get("status") == "not-done" or r.get("doNotPerform") is True
        ]
        assert negated, pid
        latest = max(negated, key=day_of)
        assert in_last_year(day_of(latest), as_of), pid
        assert reason_of(latest) == expected_visit_status(scenario), pid
        if rtype == "ServiceRequest":
            assert latest["doNotPerform"] is True and latest["reasonCode"], pid
        seen.add(reason_of(latest))
    assert seen == {"declined", "medical_reason"} or (key == "influenza" and seen)


def test_ordinary_orders_exist_beside_do_not_perform_ones(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]]
) -> None:
    devices = [
        (pid, r)
        for pid, chart in charts.items()
        for r in of_type(chart, "DeviceRequest", FRAILTY_DEVICE)
    ]
    assert devices
    for pid, device in devices:
        assert "doNotPerform" not in device and device["intent"] == "order"
        assert device["status"] == "active" and clinic.traits(pid)["order"] == "frailty_device"
        born = date.fromisoformat(charts[pid][0]["birthDate"])
        assert 76 <= clinic.reference_date.year - born.year <= 81, pid
    ordinary = [
        r
        for chart in charts.values()
        for r in of_type(chart, "ServiceRequest")
        if not r.get("doNotPerform")
    ]
    refused = [
        r
        for chart in charts.values()
        for r in of_type(chart, "ServiceRequest")
        if r.get("doNotPerform")
    ]
    assert ordinary and refused


def test_toddlers_have_complete_and_incomplete_series_and_come_to_clinic(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]], as_of: date
) -> None:
    toddlers = {pid: clinic.traits(pid)["immunizations"] for pid in clinic.patient_ids()
                if "immunizations" in clinic.traits(pid)}  # fmt: skip
    assert set(toddlers.values()) == {"complete_series", "incomplete_series"}
    period = MeasurementPeriod(as_of - timedelta(days=364), as_of)
    numerator: dict[str, set[bool]] = {"complete_series": set(), "incomplete_series": set()}
    for pid, series in toddlers.items():
        chart = charts[pid]
        born = date.fromisoformat(chart[0]["birthDate"])
        age = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
        assert 1 <= age <= 3, pid
        given = [i for i in of_type(chart, "Immunization") if i["status"] == "completed"]
        for name, oid in CMS117_VACCINES.items():
            if age >= 2 and series == "complete_series":
                assert any(in_set(i["vaccineCode"], oid) for i in given), (pid, name)
        if age == 2:
            outcome = evaluate_measures(chart[0], chart[1:], period, only=["CMS117"])
            membership = outcome.outcomes["CMS117"][0].episodes[0]
            assert membership.initial_population, pid
            numerator[series].add(membership.numerator)
    # Two-year-olds: a complete series meets CMS117, an incomplete one does not.
    assert numerator == {"complete_series": {True}, "incomplete_series": {False}}
    # Every toddler is booked on some weekday of the month around the reference date.
    booked: set[str] = set()
    for offset in range(-14, 29):
        for appt in clinic.schedule(as_of + timedelta(days=offset)):
            for who in appt["participant"]:
                booked.add(who["actor"]["reference"].removeprefix("Patient/"))
    assert set(toddlers) <= booked


# --- the engine gives the statuses -----------------------------------------------------------


@pytest.fixture(scope="module")
def refined(
    clinic: SyntheticClinic, charts: dict[str, list[JSON]], as_of: date
) -> dict[str, dict[str, tuple[ScreeningResult, ScreeningResult]]]:
    """pid -> screening id -> (engine result, refined result), for patients with visit scenarios."""
    library = default_library()
    out: dict[str, dict[str, tuple[ScreeningResult, ScreeningResult]]] = {}
    for pid in clinic.patient_ids():
        if not clinic.expected_visit_profile(pid):
            continue
        record = record_of(charts[pid])
        results = evaluate(record, as_of, library, tz=clinic.time_zone)
        after = refine(results, record, as_of, library)
        out[pid] = {
            r.screening_id: (r, a) for r, a in zip(results, after[: len(results)], strict=True)
        }
    return out


def test_engine_and_refine_give_every_visit_scenario_its_status(
    clinic: SyntheticClinic, refined: dict[str, dict[str, tuple[ScreeningResult, ScreeningResult]]]
) -> None:
    mismatches = []
    seen: Counter[str] = Counter()
    for pid, results in refined.items():
        profile = clinic.expected_profile(pid)
        for key, want in clinic.expected_visit_statuses(pid).items():
            before, after = results[VISIT_GROUPS[key]]
            seen[after.status.value] += 1
            if after.status.value != want:
                mismatches.append(
                    f"{pid} {key}: want {want}, got {after.status} ({after.explanation})"
                )
            # The engine's own status is still the profile's (a visit scenario never moves it).
            if key in profile and before.status.value != clinic.expected_statuses(pid)[key]:
                mismatches.append(f"{pid} {key}={profile[key]}: engine gave {before.status}")
    assert mismatches == []
    assert seen[Status.FOLLOW_UP_NEEDED] >= 1
    assert seen[Status.DECLINED] >= 1
    assert seen[Status.MEDICAL_REASON] >= 1


@pytest.mark.parametrize(
    ("key", "scenario"),
    [
        ("depression", "complete_positive_screen_referred"),
        ("bmi", "complete_bmi_above_normal_with_plan"),
        ("tobacco", "complete_tobacco_user_counseled"),
    ],
)
def test_a_follow_up_on_record_keeps_the_screening_complete(
    clinic: SyntheticClinic,
    refined: dict[str, dict[str, tuple[ScreeningResult, ScreeningResult]]],
    key: str,
    scenario: str,
) -> None:
    pids = with_visit(clinic, key, scenario)
    assert pids
    for pid in pids:
        before, after = refined[pid][VISIT_GROUPS[key]]
        assert after.status is Status.COMPLETE, (pid, after.explanation)
        assert "followed up on" in after.explanation, pid
        assert before.status is Status.COMPLETE, pid
