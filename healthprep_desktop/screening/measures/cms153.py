"""CMS153 Chlamydia Screening in Women (ChlamydiaScreeninginWomenFHIR 0.1.000, qicore-2024).

Women (``Patient.gender = 'female'``) 16-24 at the end of the period, with a qualifying visit
and some sign of sexual activity; numerator: a chlamydia lab result in the period. Shared
libraries of the 2024 edition (QI-Core 4.1.1, Status 1.8, QICoreCommon 2.1, Hospice 6.12, CMD
4.1). Definitions are mapped in docs/measures/CMS153.md.
"""

from __future__ import annotations

from datetime import timedelta

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasureSpec,
    patient_outcome,
)
from healthprep_desktop.screening.measures.chart import JSON, concept_is
from healthprep_desktop.screening.measures.cqltime import (
    Point,
    Span,
    during,
    in_span,
    on_or_before,
    overlaps,
    parse_point,
)
from healthprep_desktop.screening.valuesets import LOINC, SNOMED

V = "2.16.840.1.113883.3.464.1003."
CHLAMYDIA_SCREENING = V + "110.12.1052"
PREGNANCY_COMPLICATIONS = V + "111.12.1012"
CONTRACEPTIVE_MEDICATIONS = V + "196.12.1080"
SEXUAL_ACTIVITY_DIAGNOSES = V + "111.12.1018"
DIAGNOSTIC_STUDIES_PREGNANCY = V + "111.12.1008"
HIV = V + "120.12.1003"
HOME_HEALTHCARE = V + "101.12.1016"
ISOTRETINOIN = V + "196.12.1143"
LAB_TESTS_PREGNANCY = V + "111.12.1007"
STI_LAB_TESTS = V + "110.12.1051"
OFFICE_VISIT = V + "101.12.1001"
VIRTUAL_ENCOUNTER = V + "101.12.1089"
PAP_TEST = V + "108.12.1017"
PREGNANCY_TEST = V + "111.12.1011"
PREVENTIVE_ESTABLISHED_18 = V + "101.12.1025"
PREVENTIVE_INITIAL_18 = V + "101.12.1023"
PREVENTIVE_INITIAL_0_17 = V + "101.12.1022"
PREVENTIVE_ESTABLISHED_0_17 = V + "101.12.1024"
SEXUAL_ACTIVITY_PROCEDURES = V + "111.12.1017"
TELEPHONE_VISITS = V + "101.12.1080"
XRAY_STUDY = V + "198.12.1034"
VAGINAL_INTERCOURSE_PHENX = "64728-9"
YES = "373066001"
EDITION: q.Edition = "2024"


def _authored(resource: JSON) -> Span | None:
    """`authoredOn.toInterval()`: [t, t]."""
    point = parse_point(resource.get("authoredOn"))
    return Span.at(point) if point is not None else None


def _authored_in_period(ctx: MeasureContext, items: list[JSON]) -> list[JSON]:
    """`authoredOn.toInterval() during day of "Measurement Period"`."""
    return [r for r in items if during(_authored(r), ctx.period.span, day=True)]


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounters": isEncounterPerformed (2024 statuses), during day of MP."""
    found = ctx.chart.retrieve(
        "Encounter",
        OFFICE_VISIT,
        PREVENTIVE_ESTABLISHED_18,
        PREVENTIVE_INITIAL_18,
        PREVENTIVE_INITIAL_0_17,
        PREVENTIVE_ESTABLISHED_0_17,
        HOME_HEALTHCARE,
        TELEPHONE_VISITS,
        VIRTUAL_ENCOUNTER,
    )
    return [
        e
        for e in q.encounter_performed(found, EDITION)
        if during(c.period_of(e), ctx.period.span, day=True)
    ]


def has_assessments_identifying_sexual_activity(ctx: MeasureContext) -> list[JSON]:
    """PhenX 64728-9 (survey, final) answered Yes, effective on or before end of MP."""
    found = q.assessment_performed(
        ctx.chart.retrieve_code("Observation", LOINC, VAGINAL_INTERCOURSE_PHENX), EDITION
    )
    hits = []
    for obs in found:
        span = q.choice_interval(obs, "effective", ctx.chart)
        end = span.end_point() if span is not None else None
        if concept_is(obs.get("valueCodeableConcept"), SNOMED, YES) and on_or_before(
            end, ctx.period.end
        ):
            hits.append(obs)
    return hits


def has_diagnoses_identifying_sexual_activity(ctx: MeasureContext) -> list[JSON]:
    """[Condition: sexual activity dx / HIV / pregnancy complications], prevalence overlaps
    the period (the 2024 Condition retrieve has no verification filter)."""
    found = ctx.chart.retrieve("Condition", SEXUAL_ACTIVITY_DIAGNOSES, HIV, PREGNANCY_COMPLICATIONS)
    return [
        cond for cond in found if overlaps(q.prevalence_interval(cond, ctx.chart), ctx.period.span)
    ]


def has_active_contraceptive_medications(ctx: MeasureContext) -> list[JSON]:
    """isMedicationActive (active, intent order), medicationRequestPeriod() overlaps MP."""
    found = q.medication_active(
        ctx.chart.retrieve("MedicationRequest", CONTRACEPTIVE_MEDICATIONS), EDITION
    )
    return [m for m in found if overlaps(q.medication_request_period(m), ctx.period.span)]


def has_ordered_contraceptive_medications(ctx: MeasureContext) -> list[JSON]:
    """isMedicationOrder (active/completed, intent order), authored during day of MP."""
    found = q.request_ordered(
        ctx.chart.retrieve("MedicationRequest", CONTRACEPTIVE_MEDICATIONS), EDITION
    )
    return _authored_in_period(ctx, found)


def _lab_orders(ctx: MeasureContext, *oids: str) -> list[JSON]:
    """isLaboratoryTestOrder / isDiagnosticStudyOrder: active/completed, intent order."""
    return q.request_ordered(ctx.chart.retrieve("ServiceRequest", *oids), EDITION)


def has_lab_tests_not_pregnancy(ctx: MeasureContext) -> list[JSON]:
    """ "Has Laboratory Tests Identifying Sexual Activity But Not Pregnancy": Pap, pregnancy
    labs or STI lab orders authored during day of MP."""
    return _authored_in_period(ctx, _lab_orders(ctx, PAP_TEST, LAB_TESTS_PREGNANCY, STI_LAB_TESTS))


def has_lab_tests_identifying_sexual_activity(ctx: MeasureContext) -> list[JSON]:
    """A pregnancy test order during day of MP, or the labs above."""
    pregnancy = _authored_in_period(ctx, _lab_orders(ctx, PREGNANCY_TEST))
    return pregnancy + has_lab_tests_not_pregnancy(ctx)


def has_diagnostic_studies_identifying_sexual_activity(ctx: MeasureContext) -> list[JSON]:
    return _authored_in_period(ctx, _lab_orders(ctx, DIAGNOSTIC_STUDIES_PREGNANCY))


def has_procedures_identifying_sexual_activity(ctx: MeasureContext) -> list[JSON]:
    """isProcedurePerformed, performed.toInterval() during day of MP."""
    found = q.procedure_performed(ctx.chart.retrieve("Procedure", SEXUAL_ACTIVITY_PROCEDURES))
    return [
        p
        for p in found
        if during(q.choice_interval(p, "performed", ctx.chart), ctx.period.span, day=True)
    ]


def _followed_within_6_days(test: JSON, orders: list[JSON]) -> bool:
    """`Order.authoredOn.toInterval() occurs 6 days or less on or after day of
    Test.authoredOn.toInterval()`: the order's day in [test day, test day + 6 days]."""
    test_at = parse_point(test.get("authoredOn"))
    if test_at is None:
        return False
    last = Point(test_at.lo + timedelta(days=6), test_at.hi + timedelta(days=6))
    window = Span(test_at, last)
    return any(
        in_span(parse_point(order.get("authoredOn")), window, day=True) is True for order in orders
    )


def has_pregnancy_test_exclusion(ctx: MeasureContext) -> list[JSON]:
    """A pregnancy test order during MP followed within 6 days by an X-ray order or an
    isotretinoin order."""
    xrays = _lab_orders(ctx, XRAY_STUDY)
    isotretinoin = q.request_ordered(ctx.chart.retrieve("MedicationRequest", ISOTRETINOIN), EDITION)
    return [
        test
        for test in _lab_orders(ctx, PREGNANCY_TEST)
        if during(_authored(test), ctx.period.span)
        and (_followed_within_6_days(test, xrays) or _followed_within_6_days(test, isotretinoin))
    ]


def _other_indicators(ctx: MeasureContext) -> list[JSON]:
    """Every sexual-activity indicator except the pregnancy test."""
    return (
        has_assessments_identifying_sexual_activity(ctx)
        + has_diagnoses_identifying_sexual_activity(ctx)
        + has_active_contraceptive_medications(ctx)
        + has_ordered_contraceptive_medications(ctx)
        + has_lab_tests_not_pregnancy(ctx)
        + has_diagnostic_studies_identifying_sexual_activity(ctx)
        + has_procedures_identifying_sexual_activity(ctx)
    )


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """Hospice, or the pregnancy-test exclusion with no other sign of sexual activity."""
    hospice = c.has_hospice_services(ctx)
    if hospice:
        return hospice
    pregnancy = has_pregnancy_test_exclusion(ctx)
    if pregnancy and not _other_indicators(ctx):
        return c.refs(pregnancy)
    return []


def numerator(ctx: MeasureContext) -> list[JSON]:
    """Chlamydia Screening (final/amended/corrected, laboratory category), effective.latest()
    during day of MP, with a value."""
    found = q.lab_performed(ctx.chart.retrieve("Observation", CHLAMYDIA_SCREENING), EDITION)
    return [
        o
        for o in found
        if in_span(
            q.latest(q.choice_interval(o, "effective", ctx.chart)), ctx.period.span, day=True
        )
        and any(key.startswith("value") for key in o)
    ]


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    age = ctx.age_at_end
    female = ctx.chart.gender == "female"
    encounters = qualifying_encounters(ctx) if female else []
    in_age = age is not None and 16 <= age <= 24
    indicators: list[JSON] = []
    if in_age and encounters:
        indicators = _other_indicators(ctx) + has_lab_tests_identifying_sexual_activity(ctx)
    if not (in_age and encounters and indicators):
        return [patient_outcome(ipp=False, denom=False)]
    denex = denominator_exclusions(ctx)
    numer = numerator(ctx)
    return [
        patient_outcome(
            ipp=True,
            denom=True,
            denex=bool(denex),
            numer=bool(numer),
            evidence={
                "initial-population": c.refs(encounters) + c.refs(indicators),
                "denominator-exclusion": denex,
                "numerator": c.refs(numer),
            },
            strata={
                "Stratification 1": age is not None and 16 <= age <= 20,
                "Stratification 2": age is not None and 21 <= age <= 24,
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS153", title="Chlamydia Screening in Women", edition="2024", evaluate=evaluate
)
