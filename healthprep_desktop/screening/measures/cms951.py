"""CMS951 Kidney Health Evaluation (KidneyHealthEvaluationFHIR 0.1.000, qicore-2024, QI-Core 4.1.1).

Patients 18-85 at the START of the period with active diabetes overlapping the period and a
finished outpatient visit during the period (millisecond precision, not "day of"); numerator:
both an eGFR and a urine albumin-creatinine ratio with a value, final/amended/corrected, during
day of the period. The measure includes CQMCommon 2.2.000 but none of its definitions use it.
Definitions are mapped in docs/measures/CMS951.md.
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
from healthprep_desktop.screening.measures.chart import JSON, concept_is, text_is
from healthprep_desktop.screening.measures.cqltime import during, overlaps

ANNUAL_WELLNESS_VISIT = "2.16.840.1.113883.3.526.3.1240"
CKD_STAGE_5 = "2.16.840.1.113883.3.526.3.1002"
DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1001"
ESRD = "2.16.840.1.113883.3.526.3.353"
EGFR = "2.16.840.1.113883.3.6929.3.1000"
HOME_HEALTHCARE = "2.16.840.1.113883.3.464.1003.101.12.1016"
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
OUTPATIENT_CONSULTATION = "2.16.840.1.113883.3.464.1003.101.12.1008"
PREVENTIVE_ESTABLISHED_18 = "2.16.840.1.113883.3.464.1003.101.12.1025"
PREVENTIVE_INITIAL_18 = "2.16.840.1.113883.3.464.1003.101.12.1023"
TELEPHONE_VISITS = "2.16.840.1.113883.3.464.1003.101.12.1080"
UACR = "2.16.840.1.113883.3.6929.3.1007"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_DONE = ("final", "amended", "corrected")


def has_outpatient_visit_during_measurement_period(ctx: MeasureContext) -> list[str]:
    """ "Has Outpatient Visit During Measurement Period": the visit value sets incl. Outpatient
    Consultation; `period during "Measurement Period"` (full precision, no "day of") and status
    = 'finished' (a direct check, not the Status library)."""
    found = ctx.chart.retrieve(
        "Encounter",
        ANNUAL_WELLNESS_VISIT,
        HOME_HEALTHCARE,
        OFFICE_VISIT,
        OUTPATIENT_CONSULTATION,
        PREVENTIVE_ESTABLISHED_18,
        PREVENTIVE_INITIAL_18,
        TELEPHONE_VISITS,
    )
    return c.refs(
        [
            e
            for e in found
            if during(c.period_of(e), ctx.period.span) and e.get("status") == "finished"
        ]
    )


def _active_overlapping(ctx: MeasureContext, *oids: str) -> list[JSON]:
    """[Condition: vs] whose prevalenceInterval() overlaps day of MP and clinicalStatus ~
    "active" (only active: recurrence/relapse do not match)."""
    return [
        cond
        for cond in c.conditions(ctx, *oids)
        if overlaps(q.prevalence_interval(cond, ctx.chart), ctx.period.span, day=True)
        and concept_is(cond.get("clinicalStatus"), CONDITION_CLINICAL, "active")
    ]


def has_active_diabetes_overlaps_measurement_period(ctx: MeasureContext) -> list[str]:
    """ "Has Active Diabetes Overlaps Measurement Period"."""
    return c.refs(_active_overlapping(ctx, DIABETES))


def initial_population(ctx: MeasureContext) -> list[str]:
    """ "Initial Population": AgeInYearsAt(date from start of MP) in [18, 85], active diabetes,
    an outpatient visit."""
    age = ctx.age_at_start
    if age is None or not 18 <= age <= 85:
        return []
    diabetes = has_active_diabetes_overlaps_measurement_period(ctx)
    visits = has_outpatient_visit_during_measurement_period(ctx)
    return diabetes + visits if diabetes and visits else []


def has_ckd_stage_5_or_esrd_diagnosis_overlaps_measurement_period(
    ctx: MeasureContext,
) -> list[str]:
    """ "Has CKD Stage 5 or ESRD Diagnosis Overlaps Measurement Period"."""
    return c.refs(_active_overlapping(ctx, CKD_STAGE_5, ESRD))


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exclusions": CKD stage 5 / ESRD, hospice, palliative care."""
    return (
        has_ckd_stage_5_or_esrd_diagnosis_overlaps_measurement_period(ctx)
        or c.has_hospice_services(ctx)
        or c.has_palliative_care(ctx)
    )


def _has_value(obs: JSON) -> bool:
    """`Observation.value is not null`: any value[x] present."""
    return any(key.startswith("value") and obs[key] is not None for key in obs)


def _tests(ctx: MeasureContext, oid: str) -> list[JSON]:
    """[Observation: vs] effective.toInterval() during day of MP, value not null, status
    final/amended/corrected (no category requirement)."""
    return [
        o
        for o in ctx.chart.retrieve("Observation", oid)
        if during(q.choice_interval(o, "effective", ctx.chart), ctx.period.span, day=True)
        and _has_value(o)
        and text_is(o.get("status"), *_DONE)
    ]


def has_kidney_panel_performed_during_measurement_period(ctx: MeasureContext) -> list[str]:
    """ "Has Kidney Panel Performed During Measurement Period": an eGFR and a uACR."""
    egfr = _tests(ctx, EGFR)
    uacr = _tests(ctx, UACR)
    return c.refs(egfr + uacr) if egfr and uacr else []


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    ipp = initial_population(ctx)
    if not ipp:
        return [patient_outcome(ipp=False, denom=False)]
    denex = denominator_exclusions(ctx)
    numer = has_kidney_panel_performed_during_measurement_period(ctx)
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


MEASURE = MeasureSpec(
    cms="CMS951", title="Kidney Health Evaluation", edition="2024", evaluate=evaluate
)
