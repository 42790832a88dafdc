"""CMS131 Diabetes: Eye Exam (DiabetesEyeExamFHIR 0.0.002, qicore-2024, QI-Core 4.1.1).

Patients 18-75 at the end of the period with a qualifying visit and diabetes overlapping the
period; numerator: with diabetic retinopathy overlapping the period, a retinal or dilated eye
exam in the period; without it, an exam in the period or the year before. Definitions are
mapped in docs/measures/CMS131.md.
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
from healthprep_desktop.screening.measures.chart import JSON
from healthprep_desktop.screening.measures.cqltime import Span, during, overlaps, shift_point

ANNUAL_WELLNESS_VISIT = "2.16.840.1.113883.3.526.3.1240"
DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1001"
DIABETIC_RETINOPATHY = "2.16.840.1.113883.3.526.3.327"
HOME_HEALTHCARE = "2.16.840.1.113883.3.464.1003.101.12.1016"
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
OPHTHALMOLOGICAL_SERVICES = "2.16.840.1.113883.3.526.3.1285"
PREVENTIVE_ESTABLISHED_18 = "2.16.840.1.113883.3.464.1003.101.12.1025"
PREVENTIVE_INITIAL_18 = "2.16.840.1.113883.3.464.1003.101.12.1023"
RETINAL_OR_DILATED_EYE_EXAM = "2.16.840.1.113883.3.464.1003.115.12.1088"
TELEPHONE_VISITS = "2.16.840.1.113883.3.464.1003.101.12.1080"


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounters": visit value sets incl. Ophthalmological Services,
    isEncounterPerformed (2024: finished/arrived/triaged/in-progress/onleave), period during day
    of "Measurement Period"."""
    found = ctx.chart.retrieve(
        "Encounter",
        OFFICE_VISIT,
        ANNUAL_WELLNESS_VISIT,
        PREVENTIVE_ESTABLISHED_18,
        PREVENTIVE_INITIAL_18,
        HOME_HEALTHCARE,
        OPHTHALMOLOGICAL_SERVICES,
        TELEPHONE_VISITS,
    )
    return [
        e
        for e in q.encounter_performed(found, ctx.edition)
        if during(c.period_of(e), ctx.period.span, day=True)
    ]


def _overlapping_conditions(ctx: MeasureContext, oid: str) -> list[JSON]:
    """[Condition: vs] whose prevalenceInterval() overlaps day of "Measurement Period"."""
    return [
        cond
        for cond in c.conditions(ctx, oid)
        if overlaps(q.prevalence_interval(cond, ctx.chart), ctx.period.span, day=True)
    ]


def initial_population(ctx: MeasureContext) -> list[str]:
    """ "Initial Population": AgeInYearsAt(date from end of MP) in [18, 75], a qualifying
    encounter, and [Condition: "Diabetes"] overlapping day of the period."""
    age = ctx.age_at_end
    if age is None or not 18 <= age <= 75:
        return []
    encounters = qualifying_encounters(ctx)
    diabetes = _overlapping_conditions(ctx, DIABETES)
    return c.refs(encounters + diabetes) if encounters and diabetes else []


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exclusions": hospice, advanced illness and frailty (66+), nursing home (66+),
    palliative care (AdvancedIllnessandFrailty 1.16 / Hospice 6.12 / PalliativeCare 1.11)."""
    return (
        c.has_hospice_services(ctx)
        or c.advanced_illness_and_frailty_66(ctx)
        or c.nursing_home_66(ctx)
        or c.has_palliative_care(ctx)
    )


def diabetic_retinopathy_overlapping_measurement_period(ctx: MeasureContext) -> list[str]:
    """ "Diabetic Retinopathy Overlapping Measurement Period"."""
    return c.refs(_overlapping_conditions(ctx, DIABETIC_RETINOPATHY))


def _retinal_exams(ctx: MeasureContext, window: Span) -> list[str]:
    """[Observation: "Retinal or Dilated Eye Exam"].isPhysicalExamPerformed() (final/amended/
    corrected, category exam) whose effective.toInterval() is during day of the window."""
    exams = q.physical_exam_performed(
        ctx.chart.retrieve("Observation", RETINAL_OR_DILATED_EYE_EXAM)
    )
    return c.refs(
        [o for o in exams if during(q.choice_interval(o, "effective", ctx.chart), window, day=True)]
    )


def retinal_exam_in_measurement_period(ctx: MeasureContext) -> list[str]:
    """ "Retinal Exam in Measurement Period"."""
    return _retinal_exams(ctx, ctx.period.span)


def retinal_exam_in_measurement_period_or_year_prior(ctx: MeasureContext) -> list[str]:
    """ "Retinal Exam in Measurement Period or Year Prior": Interval[start of MP - 1 year,
    end of MP]."""
    mp = ctx.period
    return _retinal_exams(ctx, Span(shift_point(mp.start, years=-1), mp.end))


def numerator(ctx: MeasureContext) -> list[str]:
    """ "Numerator": retinopathy and an exam in the period, or no retinopathy and an exam in the
    period or the year prior."""
    retinopathy = diabetic_retinopathy_overlapping_measurement_period(ctx)
    if retinopathy:
        exams = retinal_exam_in_measurement_period(ctx)
        return retinopathy + exams if exams else []
    return retinal_exam_in_measurement_period_or_year_prior(ctx)


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    ipp = initial_population(ctx)
    if not ipp:
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
                "initial-population": ipp,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
    ]


MEASURE = MeasureSpec(cms="CMS131", title="Diabetes: Eye Exam", edition="2024", evaluate=evaluate)
