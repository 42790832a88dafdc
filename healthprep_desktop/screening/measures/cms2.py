"""CMS2 Preventive Care and Screening: Screening for Depression and Follow-Up Plan
(CMS2FHIRPCSDepressionScreenAndFollowUp 0.4.001, qicore-2025).

Patients 12 and older at the start of the period with a finished qualifying encounter; the
numerator is a most recent depression screening (adolescent LOINC 73831-0 for 12-17, adult
73832-8 for 17+) taken 14 days or less before a qualifying encounter that is negative, or
positive with a follow-up (referral, procedure, or a medication around the encounter).
Definitions are mapped in docs/measures/CMS2.md.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasureSpec,
    patient_outcome,
)
from healthprep_desktop.screening.measures.chart import JSON, concept_in, concept_is, text_is
from healthprep_desktop.screening.measures.cqltime import (
    Point,
    Span,
    Tri,
    after,
    before,
    during,
    in_span,
    on_or_before,
    parse_point,
    shift_point,
)
from healthprep_desktop.screening.valuesets import LOINC, SNOMED

ADOLESCENT_MEDICATIONS = "2.16.840.1.113883.3.526.3.1567"
ADULT_MEDICATIONS = "2.16.840.1.113883.3.526.3.1566"
BIPOLAR_DISORDER = "2.16.840.1.113883.3.67.1.101.1.128"
ENCOUNTER_TO_SCREEN = "2.16.840.1.113883.3.600.1916"
FOLLOW_UP_ADOLESCENT = "2.16.840.1.113883.3.526.3.1569"
FOLLOW_UP_ADULT = "2.16.840.1.113883.3.526.3.1568"
MEDICAL_REASON = "2.16.840.1.113883.3.526.3.1007"
PHYSICAL_THERAPY_EVALUATION = "2.16.840.1.113883.3.526.3.1022"
REFERRAL_ADOLESCENT = "2.16.840.1.113883.3.526.3.1570"
REFERRAL_ADULT = "2.16.840.1.113883.3.526.3.1571"
TELEPHONE_VISITS = "2.16.840.1.113883.3.464.1003.101.12.1080"

ADOLESCENT_SCREEN = "73831-0"
ADULT_SCREEN = "73832-8"
SCREENING_DECLINED = "720834000"
SCREENING_NEGATIVE = "428171000124102"
SCREENING_POSITIVE = "428181000124104"
NOT_DONE_REASON = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneReason"
_ORDER_INTENTS = ("order", "original-order", "reflex-order", "filler-order", "instance-order")


class _Path:
    """The value sets of one screening path (adolescent or adult)."""

    def __init__(self, screen: str, medications: str, referral: str, follow_up: str) -> None:
        self.screen = screen
        self.medications = medications
        self.referral = referral
        self.follow_up = follow_up


ADOLESCENT = _Path(
    ADOLESCENT_SCREEN, ADOLESCENT_MEDICATIONS, REFERRAL_ADOLESCENT, FOLLOW_UP_ADOLESCENT
)
ADULT = _Path(ADULT_SCREEN, ADULT_MEDICATIONS, REFERRAL_ADULT, FOLLOW_UP_ADULT)


# ---- helpers -----------------------------------------------------------------------------------


def _start(span: Span | None) -> Point | None:
    return span.start_point() if span is not None else None


def _end(span: Span | None) -> Point | None:
    return span.end_point() if span is not None else None


def _enc_start(enc: JSON) -> Point | None:
    """start of QualifyingEncounter.period."""
    return _start(c.period_of(enc))


def _days_or_less_on_or_before(p: Point | None, anchor: Point | None, days: int) -> Tri:
    """`p N days or less on or before day of anchor`: p in day [anchor - N days, anchor]."""
    if p is None or anchor is None:
        return None
    return in_span(p, Span(shift_point(anchor, days=-days), anchor), day=True)


def _days_or_less_on_or_after(p: Point | None, anchor: Point | None, days: int) -> Tri:
    if p is None or anchor is None:
        return None
    return in_span(p, Span(anchor, shift_point(anchor, days=days)), day=True)


def _has_value(obs: JSON) -> bool:
    """`value is not null`: any value[x]."""
    return any(k.startswith("value") and obs[k] is not None for k in obs)


def _not_done_reasons(obs: JSON) -> list[object]:
    """ObservationCancelled.notDoneReason (the QI-Core notDoneReason extension)."""
    return [
        ext.get("valueCodeableConcept")
        for ext in obs.get("extension") or ()
        if isinstance(ext, dict) and ext.get("url") == NOT_DONE_REASON
    ]


# ---- definitions -------------------------------------------------------------------------------


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounter During Measurement Period": Encounter to Screen for Depression,
    Physical Therapy Evaluation or Telephone Visits; period during day of MP; status finished."""
    found = ctx.chart.retrieve(
        "Encounter", ENCOUNTER_TO_SCREEN, PHYSICAL_THERAPY_EVALUATION, TELEPHONE_VISITS
    )
    return [
        e
        for e in found
        if e.get("status") == "finished" and during(c.period_of(e), ctx.period.span, day=True)
    ]


def screenings(ctx: MeasureContext, path: _Path, encounters: list[JSON]) -> list[JSON]:
    """[ObservationScreeningAssessment: code] with a qualifying encounter such that effective
    is 14 days or less on or before day of its start; value not null; final or corrected."""
    found = []
    for obs in ctx.chart.retrieve_code("Observation", LOINC, path.screen):
        if not (_has_value(obs) and text_is(obs.get("status"), "final", "corrected")):
            continue
        # An interval `on or before` a point compares its end.
        end = _end(q.choice_interval(obs, "effective", ctx.chart))
        if any(_days_or_less_on_or_before(end, _enc_start(e), 14) for e in encounters):
            found.append(obs)
    return found


def most_recent_screening(ctx: MeasureContext, path: _Path, encounters: list[JSON]) -> JSON | None:
    """ "Most Recent Adolescent/Adult Depression Screening": Last(... sort by start of
    effective); ties keep the chart order."""
    found = screenings(ctx, path, encounters)
    if not found:
        return None

    def key(obs: JSON) -> float:
        start = _start(q.choice_interval(obs, "effective", ctx.chart))
        return start.lo.timestamp() if start is not None else float("-inf")

    return sorted(found, key=key)[-1]


def screening_negative(recent: JSON | None) -> bool:
    """ "Has Most Recent Adolescent/Adult Screening Negative"."""
    return recent is not None and concept_is(
        recent.get("valueCodeableConcept"), SNOMED, SCREENING_NEGATIVE
    )


def _positive(recent: JSON | None) -> bool:
    return recent is not None and concept_is(
        recent.get("valueCodeableConcept"), SNOMED, SCREENING_POSITIVE
    )


def _screen_starts_before(ctx: MeasureContext, recent: JSON, enc: JSON) -> Tri:
    """Most recent screening's effective starts 14 days or less on or before day of enc start."""
    start = _start(q.choice_interval(recent, "effective", ctx.chart))
    return _days_or_less_on_or_before(start, _enc_start(enc), 14)


def follow_up_interventions(
    ctx: MeasureContext, path: _Path, recent: JSON | None, encounters: list[JSON]
) -> list[JSON]:
    """ "Follow Up Intervention for Positive Adolescent/Adult Depression Screening"."""
    chart = ctx.chart
    found: list[JSON] = []
    if recent is not None and _positive(recent):
        for med in chart.retrieve("MedicationRequest", path.medications):
            if med.get("status") not in ("active", "completed"):
                continue
            if med.get("intent") not in _ORDER_INTENTS:
                continue
            period = q.medication_request_period(med)
            for enc in encounters:
                enc_period = c.period_of(enc)
                # overlaps after day of: starts on or before its end, ends after its end.
                if (
                    _screen_starts_before(ctx, recent, enc)
                    and period is not None
                    and enc_period is not None
                    and on_or_before(_start(period), _end(enc_period), day=True)
                    and after(_end(period), _end(enc_period), day=True)
                ):
                    found.append(med)
                    break
    found += [
        r
        for r in chart.retrieve("ServiceRequest", path.referral)
        if r.get("status") in ("active", "completed")
    ]
    found += [
        p for p in chart.retrieve("Procedure", path.follow_up) if p.get("status") == "completed"
    ]
    return found


def positive_and_follow_up(
    ctx: MeasureContext, path: _Path, recent: JSON | None, encounters: list[JSON]
) -> list[str]:
    """ "Most Recent Adolescent/Adult Depression Screening Positive and Follow Up Provided"."""
    if recent is None or not _positive(recent):
        return []
    hits: list[JSON] = []
    for follow in follow_up_interventions(ctx, path, recent, encounters):
        performed_start = _start(q.choice_interval(follow, "performed", ctx.chart))
        authored = parse_point(follow.get("authoredOn"))
        first = performed_start if performed_start is not None else authored
        if not in_span(first, ctx.period.span, day=True):
            continue
        for enc in encounters:
            if not _screen_starts_before(ctx, recent, enc):
                continue
            period = c.period_of(enc)
            if in_span(performed_start, period) or _days_or_less_on_or_after(
                authored, _end(period), 2
            ):
                hits.append(follow)
                break
    return c.refs([recent, *hits]) if hits else []


def history_of_bipolar(ctx: MeasureContext, encounters: list[JSON]) -> list[str]:
    """ "History of Bipolar Diagnosis Before Qualifying Encounter": prevalenceInterval starts
    before day of the start of a qualifying encounter (no verification filter in this CQL)."""
    return c.refs(
        [
            cond
            for cond in ctx.chart.retrieve("Condition", BIPOLAR_DISORDER)
            if any(
                before(_start(q.prevalence_interval(cond, ctx.chart)), _enc_start(enc), day=True)
                for enc in encounters
            )
        ]
    )


def reason_not_screening(ctx: MeasureContext, path: _Path, encounters: list[JSON]) -> list[str]:
    """ "Medical or Patient Reason for Not Screening Adolescent/Adult for Depression":
    ObservationCancelled with the screening code, issued during day of a qualifying encounter,
    notDoneReason ~ declined or in "Medical Reason"."""
    hits = []
    for obs in ctx.chart.all_of("Observation"):
        if not text_is(obs.get("status"), "cancelled"):
            continue
        if not concept_is(obs.get("code"), LOINC, path.screen):
            continue
        reasons = _not_done_reasons(obs)
        if not any(
            concept_is(r, SNOMED, SCREENING_DECLINED) or concept_in(r, MEDICAL_REASON)
            for r in reasons
        ):
            continue
        issued = parse_point(obs.get("issued"))
        if any(in_span(issued, c.period_of(e), day=True) for e in encounters):
            hits.append(obs)
    return c.refs(hits)


def numerator(ctx: MeasureContext, encounters: list[JSON]) -> list[str]:
    """ "Numerator": by age at the start of the period (12-16 adolescent, 17 either, 18+ adult)."""
    age = ctx.age_at_start
    if age is None or age < 12:
        return []
    found: list[str] = []
    if age <= 17:
        recent = most_recent_screening(ctx, ADOLESCENT, encounters)
        if screening_negative(recent) and recent is not None:
            found += c.refs([recent])
        found += positive_and_follow_up(ctx, ADOLESCENT, recent, encounters)
    if age >= 17:
        recent = most_recent_screening(ctx, ADULT, encounters)
        if screening_negative(recent) and recent is not None:
            found += c.refs([recent])
        found += positive_and_follow_up(ctx, ADULT, recent, encounters)
    return found


def denominator_exceptions(ctx: MeasureContext, encounters: list[JSON]) -> list[str]:
    """ "Denominator Exceptions": a reason for not screening and no screening of that kind."""
    found: list[str] = []
    for path in (ADOLESCENT, ADULT):
        reasons = reason_not_screening(ctx, path, encounters)
        if reasons and not screenings(ctx, path, encounters):
            found += reasons
    return found


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    age = ctx.age_at_start
    encounters = qualifying_encounters(ctx)
    ipp = age is not None and age >= 12 and bool(encounters)
    if not ipp:
        return [patient_outcome(ipp=False, denom=False)]
    denex = history_of_bipolar(ctx, encounters)
    numer = numerator(ctx, encounters)
    denexcep = denominator_exceptions(ctx, encounters)
    return [
        patient_outcome(
            ipp=True,
            denom=True,
            denex=bool(denex),
            numer=bool(numer),
            denexcep=bool(denexcep),
            evidence={
                "initial-population": c.refs(encounters),
                "denominator-exclusion": denex,
                "numerator": numer,
                "denominator-exception": denexcep,
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS2",
    title="Preventive Care and Screening: Screening for Depression and Follow-Up Plan",
    edition="2025",
    evaluate=evaluate,
)
