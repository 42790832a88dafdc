"""CMS22 Preventive Care and Screening: Screening for High Blood Pressure and Follow-Up
Documented (CMS22FHIRPCSBPScreeningFollowUp 0.3.000, qicore-2025).

Episode-based (population basis Encounter): one Membership per qualifying encounter. Each
encounter is classified by the LAST blood pressure whose effective time ends during it (normal,
elevated, first hypertensive, second hypertensive 130-139/80-89 or >= 140/90) and is in the
numerator when the follow-up its class asks for was ordered that day. Follow-up orders and
declines live in :mod:`.cms22_followup`. Definitions are mapped in docs/measures/CMS22.md.

Literal points: the "ends during" precision differs between definitions (full precision for the
normal / elevated / >= 140 readings, day precision for the 130-139 and first-hypertensive ones);
the first-hypertensive reading has no status filter; the "second reading" definitions require
`exists "Encounter with Hypertensive Reading Within Year Prior"` for the PATIENT (any qualifying
encounter), while the first-reading definition removes only the encounters in that set.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from healthprep_desktop.screening.measures import cms22_followup as f
from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasureSpec,
    Membership,
)
from healthprep_desktop.screening.measures.chart import JSON, concept_in, concept_is, text_is
from healthprep_desktop.screening.measures.cms165 import (
    blood_pressure_observations,
    component_mmhg,
)
from healthprep_desktop.screening.measures.cqltime import (
    Point,
    Span,
    Tri,
    and3,
    during,
    ends_during,
    in_span,
    not3,
    on_or_before,
    or3,
    parse_point,
    shift_point,
)
from healthprep_desktop.screening.valuesets import LOINC

DIAGNOSIS_OF_HYPERTENSION = "2.16.840.1.113883.3.600.263"
ENCOUNTER_TO_SCREEN = "2.16.840.1.113883.3.600.1920"
MEDICAL_REASON = "2.16.840.1.113883.3.526.3.1007"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
NOT_DONE_REASON = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneReason"
BP_CODES = ("85354-9", "8480-6", "8462-4")
SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"

Reading = tuple[float | None, float | None]  # (systolic, diastolic) in mm[Hg]; None = null
_DONE = ("final", "amended", "corrected")


# ---- encounters ----------------------------------------------------------------------------------


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounter during Measurement Period": period during day of MP, status ~
    'finished', class !~ "virtual" (a missing class is not virtual)."""
    found = []
    for enc in ctx.chart.retrieve("Encounter", ENCOUNTER_TO_SCREEN):
        klass = enc.get("class")
        virtual = (
            isinstance(klass, dict)
            and klass.get("system") == ACT_CODE
            and klass.get("code") == "VR"
        )
        if (
            during(c.period_of(enc), ctx.period.span, day=True) is True
            and text_is(enc.get("status"), "finished")
            and not virtual
        ):
            found.append(enc)
    return found


def denominator_exclusion(ctx: MeasureContext, enc: JSON) -> list[str]:
    """ "Denominator Exclusions": a problem-list or health-concern "Diagnosis of Hypertension"
    whose prevalenceInterval() starts before or on day of the encounter period (no verification
    filter in this CQL)."""
    start = _start(c.period_of(enc))
    hits = []
    for cond in ctx.chart.retrieve("Condition", DIAGNOSIS_OF_HYPERTENSION):
        category = cond.get("category") or []
        if not (
            concept_is(category, CONDITION_CATEGORY, "problem-list-item")
            or concept_is(category, US_CORE_CONDITION_CATEGORY, "health-concern")
        ):
            continue
        prevalence = q.prevalence_interval(cond, ctx.chart)
        if on_or_before(_start(prevalence), start, day=True) is True:
            hits.append(cond)
    return c.refs(hits)


def _start(span: Span | None) -> Point | None:
    return span.start_point() if span is not None else None


# ---- the last reading of an encounter ------------------------------------------------------------


def _last_bp(
    ctx: MeasureContext, readings: list[JSON], keep: Callable[[Span | None], Tri], done: bool
) -> JSON | None:
    """Last([USCoreBloodPressureProfile] where <timing> [and status final/amended/corrected]
    sort by start of effective.toInterval()): a stable sort, null starts first."""
    kept: list[JSON] = []
    with_start: list[tuple[datetime, JSON]] = []
    for obs in readings:
        span = q.choice_interval(obs, "effective", ctx.chart)
        if keep(span) is True and (not done or text_is(obs.get("status"), *_DONE)):
            start = span.start_point() if span is not None else None
            kept.append(obs)
            if start is not None:
                with_start.append((start.lo, obs))
    if not with_start:
        return kept[-1] if kept else None
    with_start.sort(key=lambda pair: pair[0])
    return with_start[-1][1]


def _values(obs: JSON | None) -> Reading:
    if obs is None:
        return None, None
    return component_mmhg(obs, SYSTOLIC)[1], component_mmhg(obs, DIASTOLIC)[1]


def _ge(v: float | None, bound: float) -> Tri:
    return None if v is None else v >= bound


def _between(v: float | None, low: float, high: float, *, open_high: bool = False) -> Tri:
    if v is None:
        return None
    return low <= v < high if open_high else low <= v <= high


def _positive(r: Reading) -> Tri:
    return and3(None if r[0] is None else r[0] > 0, None if r[1] is None else r[1] > 0)


def _hypertensive_130(r: Reading) -> bool:
    """SBP > 0 and DBP > 0 and (SBP >= 130 or DBP >= 80)."""
    return and3(_positive(r), or3(_ge(r[0], 130), _ge(r[1], 80))) is True


class Readings:
    """The last reading of each encounter, per definition (they differ in precision/status)."""

    def __init__(self, ctx: MeasureContext, enc: JSON) -> None:
        readings = blood_pressure_observations(ctx.chart)
        period = c.period_of(enc)
        exact = _last_bp(ctx, readings, lambda s: ends_during(s, period), True)
        by_day = _last_bp(ctx, readings, lambda s: ends_during(s, period, day=True), True)
        any_status = _last_bp(ctx, readings, lambda s: ends_during(s, period, day=True), False)
        start = period.start_point() if period is not None else None
        year = Span(shift_point(start, years=-1), start) if start is not None else None
        prior = _last_bp(
            ctx,
            readings,
            lambda s: in_span(s.end_point() if s is not None else None, year),
            True,
        )
        self.exact, self.by_day = _values(exact), _values(by_day)
        self.any_status, self.prior = _values(any_status), _values(prior)
        self.evidence = [o for o in (exact, by_day, any_status) if o is not None]

    def normal(self) -> bool:
        """ "Encounter with Normal Blood Pressure Reading": SBP in [1, 120), DBP in [1, 80)."""
        s, d = self.exact
        return and3(_between(s, 1, 120, open_high=True), _between(d, 1, 80, open_high=True)) is True

    def elevated(self) -> bool:
        """ "... Elevated Blood Pressure Reading SBP 120 to 129 AND DBP less than 80"."""
        s, d = self.exact
        return and3(_between(s, 120, 129), _between(d, 1, 80, open_high=True)) is True

    def prior_hypertensive(self) -> bool:
        """Member of "Encounter with Hypertensive Reading Within Year Prior": the last reading
        ending 1 year or less before or on the start of the encounter is >= 130 or >= 80."""
        return _hypertensive_130(self.prior)

    def first_hypertensive(self) -> bool:
        """ "... First Hypertensive Reading SBP >= 130 OR DBP >= 80" before the `except`."""
        return _hypertensive_130(self.any_status)

    def second_140(self) -> bool:
        """SBP > 0, DBP > 0 and (SBP >= 140 or DBP >= 90), before the patient-level `exists`."""
        r = self.exact
        return and3(_positive(r), or3(_ge(r[0], 140), _ge(r[1], 90))) is True

    def second_130(self) -> bool:
        """(SBP in [130, 139] or DBP in [80, 89]) and not (SBP >= 140 or DBP >= 90)."""
        s, d = self.by_day
        return (
            and3(
                or3(_between(s, 130, 139), _between(d, 80, 89)),
                not3(or3(_ge(s, 140), _ge(d, 90))),
            )
            is True
        )


# ---- numerator and exceptions --------------------------------------------------------------------


def _on_day(items: list[JSON], enc: JSON) -> list[JSON]:
    period = c.period_of(enc)
    return [r for r in items if f.authored_during_day(r, period)]


class Classified:
    """Which reading classes an encounter belongs to (after the `except` / `exists` rules)."""

    def __init__(self, readings: Readings, prior_exists: bool) -> None:
        self.normal = readings.normal()
        self.elevated = readings.elevated()
        self.first = readings.first_hypertensive() and not readings.prior_hypertensive()
        self.second_130 = readings.second_130() and prior_exists
        self.second_140 = readings.second_140() and prior_exists


def numerator(ctx: MeasureContext, enc: JSON, k: Classified) -> list[str]:
    """ "Numerator": the union of the five "Encounter with ..." definitions."""
    referral = _on_day(f.referral_for_hypertensive_reading(ctx), enc)
    hits: list[JSON] = []
    if k.elevated:
        rescreen = _on_day(f.follow_up_with_rescreen_within_6_months(ctx), enc)
        nonpharm = _on_day(f.non_pharmacological_interventions(ctx), enc)
        if rescreen and nonpharm:
            hits += rescreen + nonpharm
        hits += referral
    if k.first:
        hits += _on_day(f.first_hypertensive_interventions(ctx), enc)
    if k.second_130:
        hits += _on_day(f.second_130_interventions(ctx), enc) + referral
    if k.second_140:
        hits += _on_day(f.second_140_interventions(ctx), enc) + referral
    refs = c.refs(hits)
    if k.normal:
        refs.append(f"Encounter/{enc.get('id')}")
    return refs


def _not_done_reasons(obs: JSON) -> list[object]:
    return [
        ext.get("valueCodeableConcept")
        for ext in obs.get("extension") or ()
        if isinstance(ext, dict) and ext.get("url") == NOT_DONE_REASON
    ]


def medical_reason_or_declined_measurement(ctx: MeasureContext, enc: JSON) -> list[str]:
    """ "Encounter with Medical Reason for Not Obtaining or Patient Declined Blood Pressure
    Measurement": a cancelled BP panel / systolic / diastolic Observation issued during day of
    the encounter with notDoneReason in "Patient Declined" or "Medical Reason"."""
    period = c.period_of(enc)
    hits = []
    for obs in ctx.chart.all_of("Observation"):
        if obs.get("status") != "cancelled":
            continue
        if not any(concept_is(obs.get("code"), LOINC, code) for code in BP_CODES):
            continue
        reasons = _not_done_reasons(obs)
        declined = any(
            concept_in(r, f.PATIENT_DECLINED) or concept_in(r, MEDICAL_REASON) for r in reasons
        )
        if declined and in_span(parse_point(obs.get("issued")), period, day=True) is True:
            hits.append(obs)
    return c.refs(hits)


def follow_up_declined(ctx: MeasureContext, enc: JSON, k: Classified) -> list[str]:
    """ "Encounter with Order for Hypertension Follow Up Declined by Patient"."""
    hits: list[JSON] = []
    nonpharm = f.non_pharmacological_not_ordered(ctx)
    if k.elevated:
        hits += _on_day(f.declined_services(ctx, f.REFERRAL, f.FOLLOW_UP_6_MONTHS) + nonpharm, enc)
    if k.first:
        hits += _on_day(f.declined_services(ctx, f.FOLLOW_UP_4_WEEKS, f.REFERRAL) + nonpharm, enc)
    if k.second_130:
        hits += _on_day(f.second_130_declined(ctx), enc)
    if k.second_140:
        hits += _on_day(f.second_140_declined(ctx), enc)
    return c.refs(hits)


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    age = ctx.age_at_start
    encounters = qualifying_encounters(ctx) if age is not None and age >= 18 else []
    readings = {id(enc): Readings(ctx, enc) for enc in encounters}
    prior_exists = any(r.prior_hypertensive() for r in readings.values())
    episodes: list[Membership] = []
    evidence: dict[str, list[str]] = {}
    for enc in encounters:
        k = Classified(readings[id(enc)], prior_exists)
        denex = denominator_exclusion(ctx, enc)
        numer = numerator(ctx, enc, k)
        excep = medical_reason_or_declined_measurement(ctx, enc) + follow_up_declined(ctx, enc, k)
        ref = f"Encounter/{enc.get('id')}"
        episodes.append(
            Membership(True, True, bool(denex), bool(numer), bool(excep), False, episode=ref)
        )
        evidence.setdefault("initial-population", []).append(ref)
        for code, found in (
            ("denominator-exclusion", denex),
            ("numerator", numer),
            ("denominator-exception", excep),
        ):
            evidence.setdefault(code, []).extend(found)
    return [GroupOutcome(episodes, evidence)]


MEASURE = MeasureSpec(
    cms="CMS22",
    title=(
        "Preventive Care and Screening: Screening for High Blood Pressure and Follow-Up Documented"
    ),
    edition="2025",
    evaluate=evaluate,
)
