"""CMS155 Weight Assessment and Counseling for Nutrition and Physical Activity for
Children/Adolescents (CMS155FHIRWeightAssessandCounselforKids 0.3.000, qicore-2025).

Children 3-17 at the end of the period with a qualifying visit in it. Three groups share the
initial population, denominator and exclusions (hospice; a pregnancy overlapping the period):
Numerator 1 = a BMI, a height and a weight in the period; Numerator 2 = nutrition counseling;
Numerator 3 = physical-activity counseling. Definitions are mapped in docs/measures/CMS155.md.

The vital-sign retrieves (``[USCoreBodyHeightProfile]``, ``[USCoreBodyWeightProfile]``,
``[USCoreBMIProfile]``) are profile retrieves without a code filter; as in :mod:`.cms69` they
are taken as the Observations carrying the profile's fixed LOINC code or tagged with the
profile in ``meta.profile``. Note that "BMI Percentile in Measurement Period" retrieves the
adult BMI profile (39156-5), not the pediatric percentile (59576-9): the CQL is followed.
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
from healthprep_desktop.screening.measures.chart import JSON, concept_is
from healthprep_desktop.screening.measures.cqltime import during, overlaps
from healthprep_desktop.screening.valuesets import LOINC

V = "2.16.840.1.113883.3.464.1003."
COUNSELING_NUTRITION = V + "195.12.1003"
COUNSELING_PHYSICAL_ACTIVITY = V + "118.12.1035"
HOME_HEALTHCARE = V + "101.12.1016"
OFFICE_VISIT = V + "101.12.1001"
PREGNANCY = "2.16.840.1.113883.3.526.3.378"
PREVENTIVE_GROUP_COUNSELING = V + "101.12.1027"
PREVENTIVE_INITIAL_0_17 = V + "101.12.1022"
PREVENTIVE_INDIVIDUAL_COUNSELING = V + "101.12.1026"
PREVENTIVE_ESTABLISHED_0_17 = V + "101.12.1024"
TELEPHONE_VISITS = V + "101.12.1080"

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
BODY_HEIGHT = ("8302-2", US_CORE + "us-core-body-height")
BODY_WEIGHT = ("29463-7", US_CORE + "us-core-body-weight")
BMI = ("39156-5", US_CORE + "us-core-bmi")


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounters": finished, period during day of "Measurement Period"."""
    found = ctx.chart.retrieve(
        "Encounter",
        OFFICE_VISIT,
        PREVENTIVE_INDIVIDUAL_COUNSELING,
        PREVENTIVE_ESTABLISHED_0_17,
        PREVENTIVE_INITIAL_0_17,
        PREVENTIVE_GROUP_COUNSELING,
        HOME_HEALTHCARE,
        TELEPHONE_VISITS,
    )
    return [
        e
        for e in q.encounter_performed(found, ctx.edition)
        if during(c.period_of(e), ctx.period.span, day=True)
    ]


def pregnancy_overlapping_period(ctx: MeasureContext) -> list[str]:
    """ "Pregnancy Diagnosis Which Overlaps Measurement Period": prevalenceInterval() overlaps
    MP (millisecond precision; the CQL applies no verification filter here)."""
    return c.refs(
        [
            cond
            for cond in ctx.chart.retrieve("Condition", PREGNANCY)
            if overlaps(q.prevalence_interval(cond, ctx.chart), ctx.period.span)
        ]
    )


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    return c.has_hospice_services(ctx) or pregnancy_overlapping_period(ctx)


def _profile_observations(ctx: MeasureContext, profile: tuple[str, str]) -> list[JSON]:
    """A US Core vital-sign profile retrieve: the fixed LOINC code or the profile tag."""
    code, url = profile
    found = []
    for obs in ctx.chart.all_of("Observation"):
        tags = (obs.get("meta") or {}).get("profile") or ()
        tagged = any(isinstance(p, str) and p.split("|")[0] == url for p in tags)
        if tagged or concept_is(obs.get("code"), LOINC, code):
            found.append(obs)
    return found


def _vital_in_period(ctx: MeasureContext, profile: tuple[str, str]) -> list[JSON]:
    """isObservationBodyHeight/BodyWeight/BMI (final/amended/corrected), effective during day
    of MP, value not null."""
    return [
        o
        for o in q.observation_done(_profile_observations(ctx, profile))
        if during(q.choice_interval(o, "effective", ctx.chart), ctx.period.span, day=True)
        and any(key.startswith("value") for key in o)
    ]


def numerator_1(ctx: MeasureContext) -> list[str]:
    """ "Numerator 1": BMI (percentile), height and weight in the period."""
    bmi = _vital_in_period(ctx, BMI)
    height = _vital_in_period(ctx, BODY_HEIGHT)
    weight = _vital_in_period(ctx, BODY_WEIGHT)
    return c.refs(bmi + height + weight) if bmi and height and weight else []


def _counseling(ctx: MeasureContext, oid: str) -> list[str]:
    """isInterventionPerformed (completed), performed during day of MP."""
    return c.refs(
        [
            p
            for p in q.procedure_performed(ctx.chart.retrieve("Procedure", oid))
            if during(q.choice_interval(p, "performed", ctx.chart), ctx.period.span, day=True)
        ]
    )


def numerator_2(ctx: MeasureContext) -> list[str]:
    """ "Numerator 2": Counseling for Nutrition."""
    return _counseling(ctx, COUNSELING_NUTRITION)


def numerator_3(ctx: MeasureContext) -> list[str]:
    """ "Numerator 3": Counseling for Physical Activity."""
    return _counseling(ctx, COUNSELING_PHYSICAL_ACTIVITY)


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    age = ctx.age_at_end
    in_age = age is not None and 3 <= age <= 17
    encounters = qualifying_encounters(ctx) if in_age else []
    if not encounters:
        return [patient_outcome(ipp=False, denom=False) for _ in range(3)]
    denex = denominator_exclusions(ctx)
    strata = {
        "Stratification 1": age is not None and 3 <= age <= 11,
        "Stratification 2": age is not None and 12 <= age <= 17,
    }
    outcomes = []
    for numerator in (numerator_1, numerator_2, numerator_3):
        numer = numerator(ctx)
        outcomes.append(
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
                strata=dict(strata),
            )
        )
    return outcomes


MEASURE = MeasureSpec(
    cms="CMS155",
    title=(
        "Weight Assessment and Counseling for Nutrition and Physical Activity"
        " for Children/Adolescents"
    ),
    edition="2025",
    evaluate=evaluate,
)
