"""CMS69 Preventive Care and Screening: Body Mass Index (BMI) Screening and Follow-Up Plan
(CMS69FHIRPCSBMIScreenAndFollowUp 0.3.000, qicore-2025).

Adults 18+ on the day of a finished, non-virtual BMI encounter in the period; the numerator is a
normal BMI (18.5 to < 25 kg/m2, no high or low BMI in the period) or a high/low BMI with a follow-up
intervention starting in the period. Definitions are mapped in docs/measures/CMS69.md.
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
    before,
    during,
    in_span,
    on_or_before,
    overlaps,
    parse_point,
    same_day,
    starts_during,
)
from healthprep_desktop.screening.valuesets import LOINC

ENCOUNTER_TO_EVALUATE_BMI = "2.16.840.1.113883.3.600.1.1751"
FOLLOW_UP_ABOVE_NORMAL = "2.16.840.1.113883.3.600.1.1525"
FOLLOW_UP_BELOW_NORMAL = "2.16.840.1.113883.3.600.1.1528"
MEDICAL_REASON = "2.16.840.1.113883.3.526.3.1007"
MEDICATIONS_ABOVE_NORMAL = "2.16.840.1.113883.3.526.3.1561"
MEDICATIONS_BELOW_NORMAL = "2.16.840.1.113883.3.526.3.1562"
OVERWEIGHT_OR_OBESE = "2.16.840.1.113762.1.4.1047.502"
PATIENT_DECLINED = "2.16.840.1.113883.3.526.3.1582"
PREGNANCY = "2.16.840.1.113883.3.600.1.1623"
REFERRALS_WEIGHT = "2.16.840.1.113883.3.600.1.1527"
UNDERWEIGHT = "2.16.840.1.113883.3.526.3.1563"

BMI_CODE = "39156-5"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
NOT_DONE_REASON = "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneReason"
DO_NOT_PERFORM_REASON = (
    "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerformReason"
)
_KG_M2 = ("kg/m2", "kg/m^2", "kg/(m2)")


# ---- helpers -----------------------------------------------------------------------------------


def _start(span: Span | None) -> Point | None:
    return span.start_point() if span is not None else None


def _end(span: Span | None) -> Point | None:
    return span.end_point() if span is not None else None


def _extension_concepts(resource: JSON, url: str) -> list[object]:
    return [
        ext.get("valueCodeableConcept")
        for ext in resource.get("extension") or ()
        if isinstance(ext, dict) and ext.get("url") == url
    ]


def _any_in(concepts: object, oid: str) -> bool:
    """`List<Concept> in "value set"`: some concept of the list is in it."""
    items = concepts if isinstance(concepts, list) else [concepts]
    return any(concept_in(x, oid) for x in items)


def _is_active(cond: JSON) -> bool:
    return any(
        concept_is(cond.get("clinicalStatus"), CONDITION_CLINICAL, code)
        for code in ("active", "recurrence", "relapse")
    )


def _is_problem_list_item(cond: JSON) -> bool:
    return concept_is(cond.get("category"), CONDITION_CATEGORY, "problem-list-item")


def _is_health_concern(cond: JSON) -> bool:
    return concept_is(cond.get("category"), US_CORE_CONDITION_CATEGORY, "health-concern")


def _bmi_value(obs: JSON) -> float | None:
    """`BMI.value` as kg/m2 (UCUM); another unit does not compare (null)."""
    value = obs.get("valueQuantity")
    if not isinstance(value, dict):
        return None
    number = value.get("value")
    unit = value.get("code") or value.get("unit")
    if not isinstance(number, int | float) or isinstance(number, bool) or unit not in _KG_M2:
        return None
    return float(number)


def _is_bmi(obs: JSON) -> bool:
    """[USCoreBMIProfile]: the BMI LOINC code (the profile's fixed code) or the profile tag."""
    profiles = (obs.get("meta") or {}).get("profile") or ()
    return concept_is(obs.get("code"), LOINC, BMI_CODE) or any(
        isinstance(p, str) and "bmi" in p.lower() for p in profiles
    )


# ---- definitions -------------------------------------------------------------------------------


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounter During Day Of Measurement Period": Encounter to Evaluate BMI,
    period during day of MP, class !~ virtual, status finished."""
    return [
        e
        for e in ctx.chart.retrieve("Encounter", ENCOUNTER_TO_EVALUATE_BMI)
        if e.get("status") == "finished"
        and not concept_is({"coding": [e.get("class")]}, ACT_CODE, "VR")
        and during(c.period_of(e), ctx.period.span, day=True)
    ]


def initial_population(ctx: MeasureContext, encounters: list[JSON]) -> list[JSON]:
    """A qualifying encounter where AgeInYearsAt(date from start of its period) >= 18."""
    found = []
    for enc in encounters:
        start = _start(c.period_of(enc))
        if start is None or not start.is_day_exact:
            continue
        age = ctx.age_at(start.day_lo)
        if age is not None and age >= 18:
            found.append(enc)
    return found


def is_pregnant(ctx: MeasureContext, encounters: list[JSON]) -> list[str]:
    """ "Is Pregnant During Day Of Measurement Period": clinicalStatus ~ active and
    prevalenceInterval overlaps day of MP (with any qualifying encounter)."""
    if not encounters:
        return []
    return c.refs(
        [
            cond
            for cond in ctx.chart.retrieve("Condition", PREGNANCY)
            if concept_is(cond.get("clinicalStatus"), CONDITION_CLINICAL, "active")
            and overlaps(q.prevalence_interval(cond, ctx.chart), ctx.period.span, day=True)
        ]
    )


def denominator_exclusions(ctx: MeasureContext, encounters: list[JSON]) -> list[str]:
    return c.has_hospice_services(ctx) or c.has_palliative_care(ctx) or is_pregnant(ctx, encounters)


def bmi_during_period(ctx: MeasureContext) -> list[tuple[JSON, float]]:
    """ "BMI During Measurement Period": value > 0 kg/m2, final/amended/corrected, effective
    during day of MP."""
    found = []
    for obs in ctx.chart.all_of("Observation"):
        if not _is_bmi(obs):
            continue
        value = _bmi_value(obs)
        if value is None or value <= 0:
            continue
        if not text_is(obs.get("status"), "final", "amended", "corrected"):
            continue
        if during(q.choice_interval(obs, "effective", ctx.chart), ctx.period.span, day=True):
            found.append((obs, value))
    return found


def has_normal_bmi(bmis: list[tuple[JSON, float]]) -> list[str]:
    """ "Has Normal BMI": a BMI in [18.5, 25) and no high (>= 25) or low (< 18.5) BMI."""
    if any(v >= 25 or v < 18.5 for _, v in bmis):
        return []
    return c.refs([obs for obs, v in bmis if 18.5 <= v < 25])


def _condition_starts_by(ctx: MeasureContext, cond: JSON, when: Point | None) -> Tri:
    """prevalenceInterval() starts before or on day of `when`."""
    return on_or_before(_start(q.prevalence_interval(cond, ctx.chart)), when, day=True)


def _condition_not_ended(ctx: MeasureContext, cond: JSON, when: Point | None) -> bool:
    """not (prevalenceInterval() ends before day of `when`): null stays null (not met)."""
    ended = before(_end(q.prevalence_interval(cond, ctx.chart)), when, day=True)
    return ended is False


def _orders(ctx: MeasureContext, services: tuple[str, ...], meds: str) -> list[JSON]:
    chart = ctx.chart
    return chart.retrieve("ServiceRequest", *services) + chart.retrieve("MedicationRequest", meds)


def high_interventions_ordered(ctx: MeasureContext) -> list[JSON]:
    """ "High BMI Interventions Ordered" (no status filter in this CQL)."""
    conditions = [
        cond
        for cond in ctx.chart.retrieve("Condition", OVERWEIGHT_OR_OBESE)
        if (_is_problem_list_item(cond) or _is_health_concern(cond)) and _is_active(cond)
    ]
    found = []
    for req in _orders(ctx, (FOLLOW_UP_ABOVE_NORMAL, REFERRALS_WEIGHT), MEDICATIONS_ABOVE_NORMAL):
        authored = parse_point(req.get("authoredOn"))
        if _any_in(req.get("reasonCode"), OVERWEIGHT_OR_OBESE) or any(
            _condition_starts_by(ctx, cond, authored) for cond in conditions
        ):
            found.append(req)
    return found


def high_interventions_performed(ctx: MeasureContext) -> list[JSON]:
    """ "High BMI Interventions Performed" (no status filter in this CQL)."""
    conditions = ctx.chart.retrieve("Condition", OVERWEIGHT_OR_OBESE)
    found = []
    for proc in ctx.chart.retrieve("Procedure", FOLLOW_UP_ABOVE_NORMAL):
        start = _start(q.choice_interval(proc, "performed", ctx.chart))
        if _any_in(proc.get("reasonCode"), OVERWEIGHT_OR_OBESE) or any(
            _condition_starts_by(ctx, cond, start) and _condition_not_ended(ctx, cond, start)
            for cond in conditions
        ):
            found.append(proc)
    return found


def low_interventions_ordered(ctx: MeasureContext) -> list[JSON]:
    """ "Low BMI Interventions Ordered"."""
    conditions = [
        cond
        for cond in ctx.chart.retrieve("Condition", UNDERWEIGHT)
        if _is_health_concern(cond) and _is_active(cond)
    ]
    found = []
    for req in _orders(ctx, (FOLLOW_UP_BELOW_NORMAL, REFERRALS_WEIGHT), MEDICATIONS_BELOW_NORMAL):
        authored = parse_point(req.get("authoredOn"))
        in_mp = in_span(authored, ctx.period.span, day=True)
        if _any_in(req.get("reasonCode"), UNDERWEIGHT) or any(
            _condition_starts_by(ctx, cond, authored) and in_mp for cond in conditions
        ):
            found.append(req)
    return found


def low_interventions_performed(ctx: MeasureContext) -> list[JSON]:
    """ "Low BMI Interventions Performed": (reason Underweight and completed) or an active
    Underweight health concern prevalent at the start of a procedure performed during MP."""
    conditions = [
        cond
        for cond in ctx.chart.retrieve("Condition", UNDERWEIGHT)
        if _is_health_concern(cond) and _is_active(cond)
    ]
    found = []
    for proc in ctx.chart.retrieve("Procedure", FOLLOW_UP_BELOW_NORMAL):
        performed = q.choice_interval(proc, "performed", ctx.chart)
        start = _start(performed)
        by_reason = _any_in(proc.get("reasonCode"), UNDERWEIGHT) and proc.get("status") == (
            "completed"
        )
        if by_reason or any(
            _condition_starts_by(ctx, cond, start)
            and during(performed, ctx.period.span, day=True)
            and _condition_not_ended(ctx, cond, start)
            for cond in conditions
        ):
            found.append(proc)
    return found


def _started_in_period(ctx: MeasureContext, interventions: list[JSON]) -> list[JSON]:
    """Coalesce(performed.toInterval(), authoredOn.toInterval()) starts during day of MP."""
    found = []
    for item in interventions:
        span = q.choice_interval(item, "performed", ctx.chart)
        if span is None:
            authored = parse_point(item.get("authoredOn"))
            span = Span.at(authored) if authored is not None else None
        if starts_during(span, ctx.period.span, day=True):
            found.append(item)
    return found


def bmi_and_follow_up(
    ctx: MeasureContext, bmis: list[tuple[JSON, float]], *, high: bool
) -> list[str]:
    """ "High BMI And Follow Up Provided" / "Low BMI And Follow Up Provided"."""
    documented = [obs for obs, v in bmis if (v >= 25 if high else v < 18.5)]
    if not documented:
        return []
    if high:
        items = high_interventions_ordered(ctx) + high_interventions_performed(ctx)
    else:
        items = low_interventions_ordered(ctx) + low_interventions_performed(ctx)
    started = _started_in_period(ctx, items)
    return c.refs(documented + started) if started else []


def numerator(ctx: MeasureContext) -> list[str]:
    bmis = bmi_during_period(ctx)
    return (
        bmi_and_follow_up(ctx, bmis, high=True)
        or bmi_and_follow_up(ctx, bmis, high=False)
        or has_normal_bmi(bmis)
    )


def _same_day_as_encounter(p: Point | None, encounters: list[JSON]) -> bool:
    return any(same_day(p, _start(c.period_of(e))) for e in encounters)


def reason_no_follow_up(ctx: MeasureContext, encounters: list[JSON]) -> list[str]:
    """ "Medical Reason For Not Documenting A Follow Up Plan For Low Or High BMI"."""
    chart = ctx.chart
    hits = []
    services = chart.not_requested(
        "ServiceRequest", REFERRALS_WEIGHT, FOLLOW_UP_ABOVE_NORMAL, FOLLOW_UP_BELOW_NORMAL
    )
    for req in services:
        refused = _extension_concepts(req, DO_NOT_PERFORM_REASON)
        if (
            text_is(req.get("status"), "completed")
            and any(concept_in(r, MEDICAL_REASON) for r in refused)
            and _same_day_as_encounter(parse_point(req.get("authoredOn")), encounters)
        ):
            hits.append(req)
    meds = chart.not_requested(
        "MedicationRequest", MEDICATIONS_ABOVE_NORMAL, MEDICATIONS_BELOW_NORMAL
    )
    for req in meds:
        if (
            text_is(req.get("status"), "completed")
            and _any_in(req.get("reasonCode"), MEDICAL_REASON)
            and _same_day_as_encounter(parse_point(req.get("authoredOn")), encounters)
        ):
            hits.append(req)
    return c.refs(hits)


def reason_no_bmi_exam(ctx: MeasureContext, encounters: list[JSON]) -> list[str]:
    """ "Medical Reason Or Patient Reason For Not Performing BMI Exam": ObservationCancelled
    (BMI code), effective ends same day as the start of a qualifying encounter, notDoneReason
    in Patient Declined or Medical Reason."""
    hits = []
    for obs in ctx.chart.all_of("Observation"):
        if not text_is(obs.get("status"), "cancelled"):
            continue
        if not concept_is(obs.get("code"), LOINC, BMI_CODE):
            continue
        reasons = _extension_concepts(obs, NOT_DONE_REASON)
        if not any(
            concept_in(r, PATIENT_DECLINED) or concept_in(r, MEDICAL_REASON) for r in reasons
        ):
            continue
        if _same_day_as_encounter(_end(q.choice_interval(obs, "effective", ctx.chart)), encounters):
            hits.append(obs)
    return c.refs(hits)


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    encounters = qualifying_encounters(ctx)
    ipp = initial_population(ctx, encounters)
    if not ipp:
        return [patient_outcome(ipp=False, denom=False)]
    denex = denominator_exclusions(ctx, encounters)
    numer = numerator(ctx)
    denexcep = reason_no_follow_up(ctx, encounters) + reason_no_bmi_exam(ctx, encounters)
    return [
        patient_outcome(
            ipp=True,
            denom=True,
            denex=bool(denex),
            numer=bool(numer),
            denexcep=bool(denexcep),
            evidence={
                "initial-population": c.refs(ipp),
                "denominator-exclusion": denex,
                "numerator": numer,
                "denominator-exception": denexcep,
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS69",
    title="Preventive Care and Screening: Body Mass Index (BMI) Screening and Follow-Up Plan",
    edition="2025",
    evaluate=evaluate,
)
