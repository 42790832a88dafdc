"""Positive screen, follow-up needed: the prep sheet's reading of the follow-up measures.

CMS2 (depression), CMS22 (blood pressure), CMS69 (BMI) and CMS138 (tobacco use) count a
screening only when an abnormal result is followed up. The sheet asks the same question of the
latest result, with the measure modules' own definitions and value sets (so the sheet and the
measure cannot drift apart), over a rolling year that ends on the visit day. The documented
differences of pre-visit use:

- The latest result in the year before the visit is read, not the one tied to a qualifying
  encounter (the visit itself is the encounter to come).
- A follow-up counts when it is dated on or after the result's day and by the visit day; the
  measures' tighter anchors (CMS2's 2 days after the encounter) are for reporting, not for the
  question "was anything done about it?".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from healthprep_desktop.screening.measures import cms2, cms69, cms138
from healthprep_desktop.screening.measures import cms22_followup as bp_follow
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import MeasureContext
from healthprep_desktop.screening.measures.chart import JSON, concept_in, concept_is, text_is
from healthprep_desktop.screening.measures.cqltime import Point, parse_point
from healthprep_desktop.screening.valuesets import LOINC, SNOMED

_DONE = ("final", "amended", "corrected")
BMI_CODE = "39156-5"
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What the latest result says: positive or not, and the follow-up found after it."""

    measure: str  # "CMS2"
    finding: str  # "Depression screen positive on 2026-10-02"
    day: date
    follow_up: tuple[tuple[str, date], ...]  # (reference, day) on or after the finding

    @property
    def needed(self) -> bool:
        return not self.follow_up


def _day_of(resource: JSON, ctx: MeasureContext) -> date | None:
    span = q.choice_interval(resource, "effective", ctx.chart) or q.choice_interval(
        resource, "performed", ctx.chart
    )
    point: Point | None = q.latest(span)
    if point is None:
        point = parse_point(resource.get("authoredOn")) or parse_point(resource.get("issued"))
    return point.day_lo if point is not None else None


def _latest(ctx: MeasureContext, items: list[JSON]) -> tuple[JSON, date] | None:
    dated = [(d, i, r) for i, r in enumerate(items) if (d := _day_of(r, ctx)) is not None]
    dated = [t for t in dated if ctx.period.first_day <= t[0] <= ctx.period.last_day]
    if not dated:
        return None
    day, _, resource = max(dated, key=lambda t: (t[0], t[1]))
    return resource, day


def _after(ctx: MeasureContext, items: list[JSON], day: date) -> tuple[tuple[str, date], ...]:
    found = []
    for r in items:
        when = _day_of(r, ctx)
        if when is not None and day <= when <= ctx.period.last_day:
            found.append((f"{r.get('resourceType')}/{r.get('id')}", when))
    return tuple(sorted(set(found), key=lambda t: t[1]))


def depression(ctx: MeasureContext) -> FollowUp | None:
    """CMS2: a positive adolescent or adult depression screening, then a referral, a follow-up
    procedure or an antidepressant order."""
    screens = [
        o
        for code in (cms2.ADOLESCENT_SCREEN, cms2.ADULT_SCREEN)
        for o in ctx.chart.retrieve_code("Observation", LOINC, code)
        if text_is(o.get("status"), *_DONE)
    ]
    latest = _latest(ctx, screens)
    if latest is None:
        return None
    obs, day = latest
    if not concept_is(obs.get("valueCodeableConcept"), SNOMED, cms2.SCREENING_POSITIVE):
        return None
    follow: list[JSON] = []
    for path in (cms2.ADOLESCENT, cms2.ADULT):
        follow += q.request_ordered(
            ctx.chart.retrieve("MedicationRequest", path.medications), "2025"
        )
        follow += q.request_ordered(ctx.chart.retrieve("ServiceRequest", path.referral), "2025")
        follow += q.procedure_performed(ctx.chart.retrieve("Procedure", path.follow_up))
    return FollowUp(
        "CMS2", f"Depression screen positive on {day.isoformat()}", day, _after(ctx, follow, day)
    )


def _bmi(obs: JSON) -> float | None:
    value = obs.get("valueQuantity")
    if not isinstance(value, dict) or not isinstance(value.get("value"), int | float):
        return None
    return float(value["value"])


def bmi(ctx: MeasureContext) -> FollowUp | None:
    """CMS69 (adults): a BMI of 25 or more, or under 18.5, then a follow-up plan (referral,
    intervention or medication for above- or below-normal weight)."""
    age = ctx.age_at(ctx.period.last_day)
    if age is None or age < 18:
        return None
    found = [
        o
        for o in ctx.chart.retrieve_code("Observation", LOINC, BMI_CODE)
        if text_is(o.get("status"), *_DONE) and _bmi(o) is not None
    ]
    latest = _latest(ctx, found)
    if latest is None:
        return None
    obs, day = latest
    value = _bmi(obs)
    assert value is not None
    if 18.5 <= value < 25:
        return None
    if value >= 25:
        follow = cms69.high_interventions_ordered(ctx) + cms69.high_interventions_performed(ctx)
        what = "above"
    else:
        follow = cms69.low_interventions_ordered(ctx) + cms69.low_interventions_performed(ctx)
        what = "below"
    finding = f"BMI {value:g} on {day.isoformat()} is {what} the normal range"
    return FollowUp("CMS69", finding, day, _after(ctx, follow, day))


def tobacco(ctx: MeasureContext) -> FollowUp | None:
    """CMS138: the latest tobacco use screening says "user", then cessation counselling or
    pharmacotherapy."""
    screens = [
        o
        for o in ctx.chart.retrieve("Observation", cms138.TOBACCO_USE_SCREENING)
        if text_is(o.get("status"), *_DONE)
    ]
    latest = _latest(ctx, screens)
    if latest is None:
        return None
    obs, day = latest
    if not concept_in(obs.get("valueCodeableConcept"), cms138.TOBACCO_USER):
        return None
    follow = (
        cms138.counseling_given(ctx)
        + cms138.pharmacotherapy_ordered(ctx)
        + cms138.active_pharmacotherapy(ctx)
    )
    return FollowUp("CMS138", f"Tobacco user on {day.isoformat()}", day, _after(ctx, follow, day))


def _component(obs: JSON, code: str) -> float | None:
    for comp in obs.get("component") or ():
        if isinstance(comp, dict) and concept_is(comp.get("code"), LOINC, code):
            value = comp.get("valueQuantity")
            if isinstance(value, dict) and isinstance(value.get("value"), int | float):
                return float(value["value"])
    return None


def blood_pressure(ctx: MeasureContext) -> FollowUp | None:
    """CMS22: an elevated (120-129/<80) or hypertensive (>=130 or >=80) reading, then a rescreen,
    lifestyle advice, a referral, or a laboratory test or ECG."""
    readings = [
        o
        for o in ctx.chart.all_of("Observation")
        if text_is(o.get("status"), *_DONE)
        and _component(o, SYSTOLIC) is not None
        and _component(o, DIASTOLIC) is not None
    ]
    latest = _latest(ctx, readings)
    if latest is None:
        return None
    obs, day = latest
    systolic, diastolic = _component(obs, SYSTOLIC), _component(obs, DIASTOLIC)
    assert systolic is not None and diastolic is not None
    if systolic < 120 and diastolic < 80:
        return None
    follow = (
        bp_follow.follow_up_with_rescreen_within_6_months(ctx)
        + bp_follow.non_pharmacological_interventions(ctx)
        + bp_follow.referral_for_hypertensive_reading(ctx)
        + bp_follow.laboratory_test_or_ecg(ctx)
    )
    finding = f"Blood pressure {systolic:g}/{diastolic:g} on {day.isoformat()} is above normal"
    # The follow-up of a reading is a later event: a rescreen on the same day is the reading.
    later = tuple(f for f in _after(ctx, follow, day) if f[1] > day or not f[0].startswith("Obs"))
    return FollowUp("CMS22", finding, day, later)


# Library screening id -> the follow-up question its measure asks.
FOLLOW_UPS: dict[str, Callable[[MeasureContext], FollowUp | None]] = {
    "depression": depression,
    "bmi_screening": bmi,
    "tobacco_use": tobacco,
    "blood_pressure_screening": blood_pressure,
}

__all__ = ["FOLLOW_UPS", "FollowUp", "blood_pressure", "bmi", "depression", "tobacco"]
