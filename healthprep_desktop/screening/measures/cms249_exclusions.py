"""CMS249 denominator exclusions (AppropriateDXAScansForWomenUnder65FHIR 0.2.001, qicore-2024):
the risk factors for osteoporotic fracture, split from :mod:`.cms249` for size. Definitions are
mapped in docs/measures/CMS249.md.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import MeasureContext
from healthprep_desktop.screening.measures.chart import JSON, concept_is
from healthprep_desktop.screening.measures.cqltime import (
    Point,
    Span,
    before,
    during,
    in_span,
    on_or_before,
    parse_point,
)
from healthprep_desktop.screening.valuesets import LOINC, SNOMED

AMENORRHEA = "2.16.840.1.113883.3.464.1003.1022"
ANKYLOSING_SPONDYLITIS = "2.16.840.1.113883.3.464.1003.113.12.1045"
AROMATASE_INHIBITORS = "2.16.840.1.113883.3.464.1003.196.12.1265"
BILATERAL_OOPHORECTOMY = "2.16.840.1.113883.3.526.3.471"
BONE_MARROW_TRANSPLANT = "2.16.840.1.113883.3.666.5.336"
CHEMOTHERAPY = "2.16.840.1.113883.3.526.3.485"
CHRONIC_LIVER_DISEASE = "2.16.840.1.113883.3.464.1003.199.12.1035"
CHRONIC_MALNUTRITION = "2.16.840.1.113883.3.464.1003.199.12.1036"
CUSHINGS = "2.16.840.1.113883.3.464.1003.117.12.1009"
EATING_DISORDERS = "2.16.840.1.113883.3.464.1003.1039"
EHLERS_DANLOS = "2.16.840.1.113883.3.464.1003.113.12.1047"
ESRD = "2.16.840.1.113883.3.526.3.353"
EVIDENCE_BILATERAL_OOPHORECTOMY = "2.16.840.1.113883.3.464.1003.1048"
GASTRIC_BYPASS = "2.16.840.1.113883.3.464.1003.198.12.1050"
GLUCOCORTICOIDS_ORAL = "2.16.840.1.113883.3.464.1003.196.12.1266"
PARENT_HIP_FRACTURE = "2.16.840.1.113883.3.464.1003.113.12.1040"
HYPERPARATHYROIDISM = "2.16.840.1.113883.3.464.1003.117.12.1016"
HYPERTHYROIDISM = "2.16.840.1.113883.3.464.1003.117.12.1015"
KIDNEY_TRANSPLANT = "2.16.840.1.113883.3.464.1003.109.12.1012"
LUPUS = "2.16.840.1.113883.3.464.1003.117.12.1010"
MAJOR_TRANSPLANT = "2.16.840.1.113883.3.464.1003.198.12.1075"
MALABSORPTION = "2.16.840.1.113883.3.464.1003.199.12.1050"
MARFANS = "2.16.840.1.113883.3.464.1003.113.12.1048"
MULTIPLE_MYELOMA = "2.16.840.1.113883.3.464.1003.1011"
OSTEOGENESIS_IMPERFECTA = "2.16.840.1.113883.3.464.1003.113.12.1044"
OSTEOPENIA = "2.16.840.1.113883.3.464.1003.113.12.1049"
OSTEOPOROSIS_NO_FRACTURE = "2.16.840.1.113883.3.464.1003.113.12.1038"
OSTEOPOROSIS_FRACTURE = "2.16.840.1.113883.3.464.1003.113.12.1050"
PREMATURE_MENOPAUSE = "2.16.840.1.113883.3.464.1003.1013"
PSORIATIC_ARTHRITIS = "2.16.840.1.113883.3.464.1003.113.12.1046"
RHEUMATOID_ARTHRITIS = "2.16.840.1.113883.3.464.1003.113.12.1005"
TYPE_1_DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1020"
OOPHORECTOMY_LEFT = "2.16.840.1.113883.3.464.1003.1028"
OOPHORECTOMY_RIGHT = "2.16.840.1.113883.3.464.1003.1032"
OOPHORECTOMY_UNSPECIFIED = "2.16.840.1.113883.3.464.1003.1035"

HISTORY_CONDITIONS = (
    OSTEOPOROSIS_FRACTURE,
    MALABSORPTION,
    CHRONIC_MALNUTRITION,
    CHRONIC_LIVER_DISEASE,
    RHEUMATOID_ARTHRITIS,
    HYPERTHYROIDISM,
    TYPE_1_DIABETES,
    ESRD,
    OSTEOGENESIS_IMPERFECTA,
    ANKYLOSING_SPONDYLITIS,
    PSORIATIC_ARTHRITIS,
    EHLERS_DANLOS,
    CUSHINGS,
    HYPERPARATHYROIDISM,
    MARFANS,
    LUPUS,
    MULTIPLE_MYELOMA,
    PREMATURE_MENOPAUSE,
    EATING_DISORDERS,
    AMENORRHEA,
)

ALCOHOLIC_DRINKS_PER_DAY = "74013-4"
BMI = "39156-5"
RIGHT = "24028007"
LEFT = "7771000"
UCUM = "http://unitsofmeasure.org"


# ---- helpers -------------------------------------------------------------------------------------


def quantity(value: Any, *units: str) -> float | None:
    """FHIRHelpers.ToQuantity compared with a quantity in one of `units` ('1' = unitless: no
    code or unit, or a UCUM annotation only); None when not comparable."""
    if not isinstance(value, dict) or value.get("comparator") is not None:
        return None
    number = value.get("value")
    if not isinstance(number, int | float) or isinstance(number, bool):
        return None
    if value.get("system") not in (None, UCUM):
        return None
    unit = str(value.get("code") or value.get("unit") or "1")
    if unit.startswith("{") and unit.endswith("}"):
        unit = "1"
    return float(number) if unit in units else None


def any_quantity(value: Any) -> bool:
    """`value as Quantity is not null`: a Quantity with a value (a comparator is not usable)."""
    if not isinstance(value, dict) or value.get("comparator") is not None:
        return False
    number = value.get("value")
    return isinstance(number, int | float) and not isinstance(number, bool)


def effective(obs: JSON, ctx: MeasureContext) -> Span | None:
    return q.choice_interval(obs, "effective", ctx.chart)


def start_of(span: Span | None) -> Point | None:
    return span.start_point() if span is not None else None


def end_of(span: Span | None) -> Point | None:
    return span.end_point() if span is not None else None


# ---- denominator exclusions ----------------------------------------------------------------------


def first_bmi_20_or_less(ctx: MeasureContext) -> list[str]:
    """ "First BMI in Measurement Period Less Than or Equal to 20 kg m2": the first BMI
    (observation-bmi: LOINC 39156-5, final/amended/corrected) with a Quantity value whose
    effective interval is during the period (full precision), sorted by start; then <= 20."""
    mp = ctx.period.span
    candidates = []
    for obs in q.observation_done(ctx.chart.retrieve_code("Observation", LOINC, BMI)):
        span = effective(obs, ctx)
        start = start_of(span)
        if any_quantity(obs.get("valueQuantity")) and during(span, mp) and start is not None:
            candidates.append((start.lo, obs))
    if not candidates:
        return []
    candidates.sort(key=lambda pair: pair[0])  # stable: ties keep chart order
    first = candidates[0][1]
    value = quantity(first.get("valueQuantity"), "kg/m2")
    return c.refs([first]) if value is not None and value <= 20 else []


def first_drinks_over_two(ctx: MeasureContext) -> list[str]:
    """ "First Average Number of Drinks Assessments Indicating More Than Two Per Day": LOINC
    74013-4 (isAssessmentPerformed: survey category), start of effective during the period,
    value > 2 '{drinks}/d'."""
    mp = ctx.period.span
    chart = ctx.chart
    obs = q.assessment_performed(
        chart.retrieve_code("Observation", LOINC, ALCOHOLIC_DRINKS_PER_DAY), ctx.edition
    )
    hits = []
    for o in obs:
        value = quantity(o.get("valueQuantity"), "{drinks}/d", "/d")
        if value is not None and value > 2 and in_span(start_of(effective(o, ctx)), mp):
            hits.append(o)
    return c.refs(hits[:1])


def risk_factor_prior_to_period(ctx: MeasureContext) -> list[str]:
    """ "Has Risk Factor Any Time in History Prior to Measurement Period"."""
    chart, start = ctx.chart, ctx.period.start
    hits: list[JSON] = [
        cond
        for cond in c.conditions(ctx, OSTEOPOROSIS_NO_FRACTURE, OSTEOPENIA)
        if before(start_of(q.prevalence_interval(cond, chart)), start)
    ]
    hits += [
        p
        for p in q.procedure_performed(chart.retrieve("Procedure", GASTRIC_BYPASS))
        if before(end_of(q.choice_interval(p, "performed", chart)), start)
    ]
    aromatase = chart.retrieve("MedicationRequest", AROMATASE_INHIBITORS)
    hits += [
        m
        for m in q.medication_active(aromatase, ctx.edition)
        if before(start_of(q.medication_request_period(m)), start)
    ]
    hits += [
        m
        for m in q.request_ordered(aromatase, ctx.edition)
        if m not in hits and before(parse_point(m.get("authoredOn")), start)
    ]
    parent = chart.retrieve("Observation", PARENT_HIP_FRACTURE)
    hits += [
        o
        for o in q.assessment_performed(parent, ctx.edition)
        if before(start_of(effective(o, ctx)), start)
    ]
    return c.refs(hits)


def glucocorticoid_days(ctx: MeasureContext) -> int | None:
    """ "Glucocorticoid Active Medication Days": active oral glucocorticoid requests whose
    medicationRequestPeriod() starts before end of the period, each intersected with
    [birthDate, last day of the period], collapsed per day, summed (days + 1 each).

    medicationRequestPeriod() is an Interval<Date>; `starts before end of "Measurement
    Period"` converts its start to a DateTime at midnight (ToDateTime(Date): time components
    zero), so a period starting on the last day of the period does start before its end."""
    birth = ctx.chart.birth_date
    if birth is None:
        return None
    last = ctx.period.last_day
    spans: list[tuple[date, date]] = []
    requests = ctx.chart.retrieve("MedicationRequest", GLUCOCORTICOIDS_ORAL)
    for req in q.medication_active(requests, ctx.edition):
        span = q.medication_request_period(req)
        low, high = start_of(span), end_of(span)
        if low is None or high is None or low.day_lo > ctx.period.last_day:
            continue
        lo, hi = max(low.day_lo, birth), min(high.day_lo, last)
        if lo <= hi:
            spans.append((lo, hi))
    if not spans:
        return None  # Sum of an empty list is null
    spans.sort()
    total, (cur_lo, cur_hi) = 0, spans[0]
    for lo, hi in spans[1:]:
        if lo <= cur_hi + timedelta(days=1):
            cur_hi = max(cur_hi, hi)
        else:
            total += (cur_hi - cur_lo).days + 1
            cur_lo, cur_hi = lo, hi
    return total + (cur_hi - cur_lo).days + 1


def _in_history(ctx: MeasureContext, procedures: list[JSON]) -> list[JSON]:
    """procedureInPatientHistory(): completed, performed ends on or before day of end of MP."""
    end = ctx.period.end
    return [
        p
        for p in q.procedure_performed(procedures)
        if on_or_before(end_of(q.choice_interval(p, "performed", ctx.chart)), end, day=True)
    ]


def _site(proc: JSON, code: str) -> bool:
    return any(concept_is(site, SNOMED, code) for site in proc.get("bodySite") or ())


def bilateral_oophorectomy(ctx: MeasureContext) -> list[str]:
    """ "Has Double or Bilateral Oophorectomy"."""
    chart = ctx.chart
    both = _in_history(
        ctx, chart.retrieve("Procedure", BILATERAL_OOPHORECTOMY, EVIDENCE_BILATERAL_OOPHORECTOMY)
    )
    if both:
        return c.refs(both)
    unspecified = chart.retrieve("Procedure", OOPHORECTOMY_UNSPECIFIED)
    right = _in_history(
        ctx,
        [p for p in unspecified if _site(p, RIGHT)]
        + chart.retrieve("Procedure", OOPHORECTOMY_RIGHT),
    )
    left = _in_history(
        ctx,
        [p for p in unspecified if _site(p, LEFT)] + chart.retrieve("Procedure", OOPHORECTOMY_LEFT),
    )
    return c.refs(right + left) if right and left else []


def risk_factor_history_or_period(ctx: MeasureContext) -> list[str]:
    """ "Has Risk Factor Any Time in History or During Measurement Period"."""
    days = glucocorticoid_days(ctx)
    if days is not None and days >= 90:
        return ["MedicationRequest/glucocorticoids-90-days"]
    end = ctx.period.end
    chart = ctx.chart
    hits: list[JSON] = [
        cond
        for cond in c.conditions(ctx, *HISTORY_CONDITIONS)
        if on_or_before(start_of(q.prevalence_interval(cond, chart)), end, day=True)
    ]
    hits += _in_history(ctx, chart.retrieve("Procedure", CHEMOTHERAPY))
    hits += _in_history(
        ctx,
        chart.retrieve("Procedure", MAJOR_TRANSPLANT, KIDNEY_TRANSPLANT, BONE_MARROW_TRANSPLANT),
    )
    return c.refs(hits) or bilateral_oophorectomy(ctx)


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exclusions": a risk factor active during, prior to, or any time up to the
    end of the period."""
    return (
        first_bmi_20_or_less(ctx)
        or first_drinks_over_two(ctx)
        or risk_factor_prior_to_period(ctx)
        or risk_factor_history_or_period(ctx)
    )
