"""Outcome measures: a result out of range is "Not at goal", never a green Complete (CMS165
blood pressure, CMS122 HbA1c); what counts as a blood pressure reading; acute-care readings."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine_fixtures import ICD10CM, LOINC, cc, condition, encounter, observation, patient, run

from healthprep_desktop.screening.model import ScreeningResult, Status

ADULT = "1975-01-01"  # 46 on the as-of date (2021-06-30)
HTN = (ICD10CM, "I10")
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SNOMED = "http://snomed.info/sct"
CPT = "http://www.ama-assn.org/go/cpt"


def bp(when: str, systolic: float, diastolic: float, **extra: Any) -> dict[str, Any]:
    return observation(
        LOINC,
        "85354-9",
        when,
        components={"8480-6": systolic, "8462-4": diastolic},
        extra=extra or None,
    )


def systolic(when: str, value: float, **extra: Any) -> dict[str, Any]:
    return observation(LOINC, "8480-6", when, value=value, unit="mm[Hg]", extra=extra or None)


def diastolic(when: str, value: float, **extra: Any) -> dict[str, Any]:
    return observation(LOINC, "8462-4", when, value=value, unit="mm[Hg]", extra=extra or None)


def control(*resources: dict[str, Any]) -> ScreeningResult:
    result = run(patient(ADULT), condition(*HTN), *resources)["blood_pressure"]
    assert result.variant_id == "blood_pressure_control"
    return result


def a1c(when: str, value: float | None) -> dict[str, Any]:
    return observation(LOINC, "4548-4", when, value=value, unit="%")


def glycemic(*resources: dict[str, Any]) -> ScreeningResult:
    return run(patient(ADULT), condition(ICD10CM, "E11.9"), *resources)["diabetes_hba1c"]


# --- the status itself --------------------------------------------------------------------------


def test_not_at_goal_status_and_label() -> None:
    assert Status("not_at_goal") is Status.NOT_AT_GOAL
    assert Status.NOT_AT_GOAL.label == "Not at goal"


# --- CMS165 -------------------------------------------------------------------------------------


def test_high_systolic_is_not_at_goal_and_names_the_component() -> None:
    result = control(bp("2021-05-01", 148, 84))
    assert result.status is Status.NOT_AT_GOAL
    assert "systolic 148 ≥ 140" in result.explanation
    assert "2021-05-01" in result.explanation
    assert "diastolic" not in result.explanation
    assert result.last_done == date(2021, 5, 1)
    assert result.to_json()["status"] == "not_at_goal"


def test_high_diastolic_alone_is_named_not_the_pair() -> None:
    result = control(bp("2021-05-01", 113, 91))
    assert result.status is Status.NOT_AT_GOAL
    assert "diastolic 91 ≥ 90" in result.explanation
    assert "at or above 140/90" not in result.explanation
    assert "113/91" in result.explanation  # the reading itself, with its date
    assert not any("at or above 140/90" in f for f in result.flags)


def test_both_components_high_are_both_named() -> None:
    result = control(bp("2021-05-01", 150, 95))
    assert "systolic 150 ≥ 140" in result.explanation
    assert "diastolic 95 ≥ 90" in result.explanation


def test_below_140_over_90_is_at_goal() -> None:
    assert control(bp("2021-05-01", 139, 89)).status is Status.COMPLETE
    assert control(bp("2021-05-01", 140, 70)).status is Status.NOT_AT_GOAL
    assert control(bp("2021-05-01", 120, 90)).status is Status.NOT_AT_GOAL


def test_representative_reading_is_lowest_of_each_component_on_the_latest_day() -> None:
    # 150/80 and 130/95 the same day give 130/80: at goal (CMS165).
    assert control(bp("2021-05-01", 150, 80), bp("2021-05-01", 130, 95)).status is Status.COMPLETE
    # An older high day does not matter once a newer day is at goal, and vice versa.
    assert control(bp("2021-01-01", 170, 100), bp("2021-05-01", 128, 78)).status is Status.COMPLETE
    assert (
        control(bp("2021-01-01", 128, 78), bp("2021-05-01", 150, 92)).status is Status.NOT_AT_GOAL
    )


def test_separate_systolic_and_diastolic_observations_pair_by_day() -> None:
    ok = control(systolic("2021-05-01T09:00:00Z", 128), diastolic("2021-05-01T09:00:00Z", 78))
    assert ok.status is Status.COMPLETE
    high = control(systolic("2021-05-01", 152), diastolic("2021-05-01", 80))
    assert high.status is Status.NOT_AT_GOAL
    assert "systolic 152 ≥ 140" in high.explanation
    # A separate pair on a newer day wins over an older panel.
    newer = control(
        bp("2021-01-01", 128, 78), systolic("2021-05-01", 150), diastolic("2021-05-01", 70)
    )
    assert newer.status is Status.NOT_AT_GOAL


def test_systolic_only_or_diastolic_only_is_not_a_blood_pressure() -> None:
    assert control(systolic("2021-05-01", 128)).status is Status.DUE
    assert control(diastolic("2021-05-01", 78)).status is Status.DUE
    # Different days do not pair.
    assert control(systolic("2021-05-01", 128), diastolic("2021-05-02", 78)).status is Status.DUE
    # A panel with one component only is no reading either.
    half = observation(LOINC, "85354-9", "2021-05-01", components={"8480-6": 128})
    assert control(half).status is Status.DUE
    # A newer systolic-only day does not hide the older full reading, which decides.
    older = control(bp("2021-03-01", 150, 95), systolic("2021-05-01", 120))
    assert older.status is Status.NOT_AT_GOAL
    assert "2021-03-01" in older.explanation
    # Blood pressure screening (CMS22) needs a whole reading too.
    screening = run(patient(ADULT), systolic("2021-05-01", 128))["blood_pressure"]
    assert screening.variant_id == "blood_pressure_screening"
    assert screening.status is Status.DUE


def _encounter(kind: str, start: str, end: str) -> dict[str, Any]:
    if kind == "class":
        enc = encounter(SNOMED, "185349003", start, end)  # an ordinary visit type
        enc["class"] = {"system": ACT, "code": "IMP"}
        return enc
    if kind == "emer":
        enc = encounter(SNOMED, "185349003", start, end)
        enc["class"] = {"system": ACT, "code": "EMER"}
        return enc
    if kind == "inpatient_type":
        enc = encounter(SNOMED, "32485007", start, end)  # Encounter Inpatient value set
        enc["class"] = {"system": ACT, "code": "AMB"}
        return enc
    enc = encounter(CPT, "99283", start, end)  # Emergency Department Visit value set
    return enc


def test_readings_in_an_inpatient_stay_or_emergency_visit_do_not_count() -> None:
    for kind in ("class", "emer", "inpatient_type", "ed_type"):
        stay = _encounter(kind, "2021-06-01T08:00:00Z", "2021-06-03T12:00:00Z")
        in_stay = bp(
            "2021-06-02T10:00:00Z", 170, 100, encounter={"reference": f"Encounter/{stay['id']}"}
        )
        result = control(stay, in_stay, bp("2021-04-01", 128, 78))
        assert result.status is Status.COMPLETE, (kind, result.explanation)
        assert result.last_done == date(2021, 4, 1)
        only_acute = control(stay, in_stay)
        assert only_acute.status is Status.DUE, (kind, only_acute.explanation)


def test_a_reading_inside_an_acute_stay_period_does_not_count_without_a_reference() -> None:
    stay = _encounter("class", "2021-06-01T08:00:00Z", "2021-06-03T12:00:00Z")
    during = bp("2021-06-02T10:00:00Z", 170, 100)
    assert control(stay, during, bp("2021-04-01", 128, 78)).status is Status.COMPLETE
    after = bp("2021-06-10T10:00:00Z", 150, 95)  # a week after discharge: counts
    assert control(stay, after, bp("2021-04-01", 128, 78)).status is Status.NOT_AT_GOAL
    # An ambulatory encounter does not exclude its readings.
    visit = encounter(SNOMED, "185349003", "2021-06-02T09:00:00Z", "2021-06-02T11:00:00Z")
    visit["class"] = cc(ACT, "AMB")["coding"][0]
    seen = bp("2021-06-02T10:00:00Z", 150, 95, encounter={"reference": f"Encounter/{visit['id']}"})
    assert control(visit, seen).status is Status.NOT_AT_GOAL


# --- CMS122 -------------------------------------------------------------------------------------


def test_hba1c_above_nine_is_not_at_goal_with_value_and_date() -> None:
    result = glycemic(a1c("2021-03-01", 9.4))
    assert result.status is Status.NOT_AT_GOAL
    assert "HbA1c 9.4 % on 2021-03-01" in result.explanation
    assert "> 9" in result.explanation
    assert glycemic(a1c("2021-03-01", 9.0)).status is Status.COMPLETE
    # Lowest of the latest day (CMS122); an older high one does not count.
    same_day = glycemic(a1c("2020-09-01", 11), a1c("2021-03-01", 9.8), a1c("2021-03-01", 8.2))
    assert same_day.status is Status.COMPLETE


def test_hba1c_high_and_due_soon_is_not_at_goal() -> None:
    # Next due in 10 days: the due-soon window would apply, but the value is out of range.
    result = glycemic(a1c("2020-07-10", 10.2))
    assert result.status is Status.NOT_AT_GOAL
    assert result.next_due == date(2021, 7, 10)


def test_no_hba1c_in_the_last_twelve_months_is_never_complete() -> None:
    assert glycemic().status is Status.DUE
    stale = glycemic(a1c("2020-05-01", 7.0))
    assert stale.status is Status.OVERDUE
    assert "not at goal" in stale.explanation.lower()
