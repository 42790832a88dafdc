"""CMS139 Falls: Screening for Future Fall Risk (FallsScreeningForFutureFallRiskFHIR 0.2.001,
qicore-2024).

Patients 65 or older at the start of the period with a qualifying visit; excluded with hospice
services; numerator: a falls screening assessment (final/amended/corrected, survey category)
whose effective time lies during day of the period. Definitions are mapped in
docs/measures/CMS139.md.
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
from healthprep_desktop.screening.measures.cqltime import during

ENCOUNTER_VALUE_SETS = (
    "2.16.840.1.113883.3.464.1003.101.12.1001",  # Office Visit
    "2.16.840.1.113883.3.526.3.1240",  # Annual Wellness Visit
    "2.16.840.1.113883.3.464.1003.101.12.1025",  # Preventive Care Established 18+
    "2.16.840.1.113883.3.464.1003.101.12.1023",  # Preventive Care Initial 18+
    "2.16.840.1.113883.3.464.1003.101.12.1016",  # Home Healthcare Services
    "2.16.840.1.113883.3.526.3.1285",  # Ophthalmological Services
    "2.16.840.1.113883.3.464.1003.101.12.1026",  # Preventive Care Individual Counseling
    "2.16.840.1.113883.3.464.1003.101.12.1013",  # Discharge Services Nursing Facility
    "2.16.840.1.113883.3.464.1003.101.12.1012",  # Nursing Facility Visit
    "2.16.840.1.113883.3.464.1003.101.12.1014",  # Care Services in Long Term Residential
    "2.16.840.1.113883.3.464.1003.101.12.1066",  # Audiology Visit
    "2.16.840.1.113883.3.464.1003.101.12.1080",  # Telephone Visits
    "2.16.840.1.113883.3.464.1003.101.12.1089",  # Virtual Encounter
    "2.16.840.1.113883.3.526.3.1022",  # Physical Therapy Evaluation
    "2.16.840.1.113883.3.526.3.1011",  # Occupational Therapy Evaluation
)
FALLS_SCREENING = "2.16.840.1.113883.3.464.1003.118.12.1028"


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounter": 15 value sets, isEncounterPerformed (2024: finished, arrived,
    triaged, in-progress, onleave), period during day of "Measurement Period"."""
    found = ctx.chart.retrieve("Encounter", *ENCOUNTER_VALUE_SETS)
    mp = ctx.period.span
    return [
        e for e in q.encounter_performed(found, ctx.edition) if during(c.period_of(e), mp, day=True)
    ]


def numerator(ctx: MeasureContext) -> list[str]:
    """ "Numerator": a Falls Screening Observation, isAssessmentPerformed (2024: final/amended/
    corrected and category survey), effective.toInterval() during day of the period."""
    mp = ctx.period.span
    found = q.assessment_performed(ctx.chart.retrieve("Observation", FALLS_SCREENING), ctx.edition)
    return c.refs(
        [o for o in found if during(q.choice_interval(o, "effective", ctx.chart), mp, day=True)]
    )


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    """ "Initial Population": AgeInYearsAt(date from start of MP) >= 65 and a qualifying
    encounter; "Denominator" = IPP; "Denominator Exclusions" = Hospice."Has Hospice Services"."""
    age = ctx.age_at_start
    encounters = qualifying_encounters(ctx)
    if age is None or age < 65 or not encounters:
        return [patient_outcome(ipp=False, denom=False)]
    denex = c.has_hospice_services(ctx)
    numer = numerator(ctx)
    return [
        patient_outcome(
            ipp=True,
            denom=True,
            denex=bool(denex),
            numer=bool(numer),
            evidence={
                "initial-population": c.refs(encounters),
                "denominator-exclusion": denex,
                "numerator": numer,
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS139", title="Falls: Screening for Future Fall Risk", edition="2024", evaluate=evaluate
)
