"""CMS138 Preventive Care and Screening: Tobacco Use: Screening and Cessation Intervention
(PreventiveCareAndTobaccoUseScreeningAndCessationInterventionFHIR 0.0.001, qicore-2024).

Patients 12+ at the start of the period with two qualifying visits or one preventive visit.
Three groups share that Initial Population and the hospice exclusion:
1. screened (the most recent screening in the period says user or non-user);
2. of the tobacco users, those given cessation counseling or pharmacotherapy (within the period
   and the 6 months before it);
3. screened as non-user, or screened as user and given an intervention.
Definitions are mapped in docs/measures/CMS138.md.
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
from healthprep_desktop.screening.measures.chart import JSON, concept_in
from healthprep_desktop.screening.measures.cqltime import (
    Span,
    during,
    in_span,
    parse_point,
    shift_point,
    starts_during,
)
from healthprep_desktop.screening.valuesets import CPT, ICD10CM

ANNUAL_WELLNESS_VISIT = "2.16.840.1.113883.3.526.3.1240"
HOME_HEALTHCARE = "2.16.840.1.113883.3.464.1003.101.12.1016"
NUTRITION_SERVICES = "2.16.840.1.113883.3.464.1003.1006"
OCCUPATIONAL_THERAPY_EVALUATION = "2.16.840.1.113883.3.526.3.1011"
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
OPHTHALMOLOGICAL_SERVICES = "2.16.840.1.113883.3.526.3.1285"
PHYSICAL_THERAPY_EVALUATION = "2.16.840.1.113883.3.526.3.1022"
PREVENTIVE_ESTABLISHED_18 = "2.16.840.1.113883.3.464.1003.101.12.1025"
PREVENTIVE_GROUP_COUNSELING = "2.16.840.1.113883.3.464.1003.101.12.1027"
PREVENTIVE_INDIVIDUAL_COUNSELING = "2.16.840.1.113883.3.464.1003.101.12.1026"
PREVENTIVE_INITIAL_18 = "2.16.840.1.113883.3.464.1003.101.12.1023"
PREVENTIVE_INITIAL_0_17 = "2.16.840.1.113883.3.464.1003.101.12.1022"
PREVENTIVE_ESTABLISHED_0_17 = "2.16.840.1.113883.3.464.1003.101.12.1024"
PSYCH_DIAGNOSTIC_EVALUATION = "2.16.840.1.113883.3.526.3.1492"
PSYCH_PSYCHOTHERAPY = "2.16.840.1.113883.3.526.3.1496"
PSYCHOANALYSIS = "2.16.840.1.113883.3.526.3.1141"
SPEECH_AND_HEARING = "2.16.840.1.113883.3.526.3.1530"
TELEPHONE_VISITS = "2.16.840.1.113883.3.464.1003.101.12.1080"
TOBACCO_NON_USER = "2.16.840.1.113883.3.526.3.1189"
CESSATION_COUNSELING = "2.16.840.1.113883.3.526.3.509"
CESSATION_PHARMACOTHERAPY = "2.16.840.1.113883.3.526.3.1190"
TOBACCO_USE_SCREENING = "2.16.840.1.113883.3.526.3.1278"
TOBACCO_USER = "2.16.840.1.113883.3.526.3.1170"
VIRTUAL_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1089"

HEALTH_BEHAVIOR_ASSESSMENT = "96156"
HEALTH_BEHAVIOR_INTERVENTION = "96158"
POSTOPERATIVE_FOLLOW_UP = "99024"
UNLISTED_PREVENTIVE = "99429"
TOBACCO_ABUSE_COUNSELING = "Z71.6"

_PREVENTIVE_SETS = (
    ANNUAL_WELLNESS_VISIT,
    PREVENTIVE_ESTABLISHED_18,
    PREVENTIVE_INITIAL_18,
    PREVENTIVE_ESTABLISHED_0_17,
    PREVENTIVE_INITIAL_0_17,
    PREVENTIVE_GROUP_COUNSELING,
    PREVENTIVE_INDIVIDUAL_COUNSELING,
    NUTRITION_SERVICES,
)
_QUALIFYING_SETS = (
    HOME_HEALTHCARE,
    OCCUPATIONAL_THERAPY_EVALUATION,
    OFFICE_VISIT,
    OPHTHALMOLOGICAL_SERVICES,
    PHYSICAL_THERAPY_EVALUATION,
    PSYCH_DIAGNOSTIC_EVALUATION,
    PSYCH_PSYCHOTHERAPY,
    PSYCHOANALYSIS,
    SPEECH_AND_HEARING,
    TELEPHONE_VISITS,
    VIRTUAL_ENCOUNTER,
)


def _distinct(resources: list[JSON]) -> list[JSON]:
    """A CQL union: each resource once."""
    seen: set[int] = set()
    out = []
    for r in resources:
        if id(r) not in seen:
            seen.add(id(r))
            out.append(r)
    return out


def _encounters_in_period(
    ctx: MeasureContext, oids: tuple[str, ...], cpt_codes: tuple[str, ...]
) -> list[JSON]:
    chart = ctx.chart
    found = chart.retrieve("Encounter", *oids)
    for code in cpt_codes:
        found += chart.retrieve_code("Encounter", CPT, code)
    return [
        e
        for e in q.encounter_performed(_distinct(found), ctx.edition)
        if during(c.period_of(e), ctx.period.span, day=True)
    ]


def preventive_visits(ctx: MeasureContext) -> list[JSON]:
    """ "Preventive Visit During Measurement Period" (isEncounterPerformed, 2024 statuses)."""
    return _encounters_in_period(
        ctx, _PREVENTIVE_SETS, (UNLISTED_PREVENTIVE, POSTOPERATIVE_FOLLOW_UP)
    )


def qualifying_visits(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Visit During Measurement Period"."""
    return _encounters_in_period(
        ctx, _QUALIFYING_SETS, (HEALTH_BEHAVIOR_INTERVENTION, HEALTH_BEHAVIOR_ASSESSMENT)
    )


def initial_population(ctx: MeasureContext) -> list[JSON]:
    """AgeInYearsAt(date from start of MP) >= 12 and (Count(qualifying visits) >= 2 or exists
    a preventive visit)."""
    age = ctx.age_at_start
    if age is None or age < 12:
        return []
    preventive = preventive_visits(ctx)
    if preventive:
        return preventive
    qualifying = qualifying_visits(ctx)
    return qualifying if len(qualifying) >= 2 else []


def most_recent_screening(ctx: MeasureContext) -> JSON | None:
    """Last(isAssessmentPerformed([Observation: Tobacco Use Screening]) where effective during
    day of MP sort by start of effective); ties keep the chart order."""
    found = []
    for obs in q.assessment_performed(
        ctx.chart.retrieve("Observation", TOBACCO_USE_SCREENING), ctx.edition
    ):
        span = q.choice_interval(obs, "effective", ctx.chart)
        if during(span, ctx.period.span, day=True) and span is not None:
            start = span.start_point()
            found.append((start.lo.timestamp() if start is not None else float("-inf"), obs))
    if not found:
        return None
    found.sort(key=lambda pair: pair[0])
    return found[-1][1]


def screening_indicates(recent: JSON | None, oid: str) -> bool:
    """ "Most Recent Tobacco Use Screening Indicates Tobacco User / Non User": the value as
    Concept in the value set (a non-concept value is null)."""
    return recent is not None and concept_in(recent.get("valueCodeableConcept"), oid)


def _window(ctx: MeasureContext) -> Span:
    """Interval[start of MP - 6 months, end of MP]."""
    return Span(shift_point(ctx.period.start, months=-6), ctx.period.end)


def counseling_given(ctx: MeasureContext) -> list[JSON]:
    """ "Tobacco Cessation Counseling Given": completed counseling procedures performed during
    day of the window, union Z71.6 conditions whose prevalence starts during it."""
    window, chart = _window(ctx), ctx.chart
    procedures = [
        p
        for p in q.procedure_performed(chart.retrieve("Procedure", CESSATION_COUNSELING))
        if during(q.choice_interval(p, "performed", chart), window, day=True)
    ]
    conditions = [
        cond
        for cond in chart.retrieve_code("Condition", ICD10CM, TOBACCO_ABUSE_COUNSELING)
        if starts_during(q.prevalence_interval(cond, chart), window, day=True)
    ]
    return procedures + conditions


def pharmacotherapy_ordered(ctx: MeasureContext) -> list[JSON]:
    """ "Tobacco Cessation Pharmacotherapy Ordered": isMedicationOrder, authoredOn during day of
    the window."""
    window = _window(ctx)
    orders = q.request_ordered(
        ctx.chart.retrieve("MedicationRequest", CESSATION_PHARMACOTHERAPY), ctx.edition
    )
    return [m for m in orders if in_span(parse_point(m.get("authoredOn")), window, day=True)]


def active_pharmacotherapy(ctx: MeasureContext) -> list[JSON]:
    """ "Active Pharmacotherapy for Tobacco Cessation": isMedicationActive, medicationRequestPeriod
    during day of the window."""
    window = _window(ctx)
    active = q.medication_active(
        ctx.chart.retrieve("MedicationRequest", CESSATION_PHARMACOTHERAPY), ctx.edition
    )
    return [m for m in active if during(q.medication_request_period(m), window, day=True)]


def intervention(ctx: MeasureContext) -> list[str]:
    """ "Numerator 2": counseling, or pharmacotherapy ordered, or active pharmacotherapy."""
    return c.refs(
        _distinct(
            counseling_given(ctx) + pharmacotherapy_ordered(ctx) + active_pharmacotherapy(ctx)
        )
    )


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    visits = initial_population(ctx)
    if not visits:
        return [patient_outcome(ipp=False, denom=False) for _ in range(3)]
    denex = c.has_hospice_services(ctx)
    recent = most_recent_screening(ctx)
    user = screening_indicates(recent, TOBACCO_USER)
    non_user = screening_indicates(recent, TOBACCO_NON_USER)
    screened = c.refs([recent]) if recent is not None and (user or non_user) else []
    given = intervention(ctx)
    ipp_refs = c.refs(visits)

    def outcome(denom: bool, numer: list[str]) -> GroupOutcome:
        return patient_outcome(
            ipp=True,
            denom=denom,
            denex=bool(denex),
            numer=bool(numer),
            evidence={
                "initial-population": ipp_refs,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )

    numer3 = screened if non_user else (screened + given if user and given else [])
    return [
        outcome(True, screened),
        outcome(user, given),
        outcome(True, numer3),
    ]


MEASURE = MeasureSpec(
    cms="CMS138",
    title="Preventive Care and Screening: Tobacco Use: Screening and Cessation Intervention",
    edition="2024",
    evaluate=evaluate,
)
