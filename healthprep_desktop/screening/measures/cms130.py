"""CMS130 Colorectal Cancer Screening (CMS130FHIRColorectalCancerScreening 0.4.000, qicore-2025).

Adults 46-75 at the end of the period with a qualifying outpatient visit; numerator: a FOBT
with a result in the period, an sDNA-FIT test with a result in the period or the 2 years
before, a flexible sigmoidoscopy or CT colonography in the period or the 4 years before, or a
colonoscopy in the period or the 9 years before. Definitions are mapped in
docs/measures/CMS130.md.
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
from healthprep_desktop.screening.measures.cqltime import (
    Point,
    Span,
    ends_during,
    in_span,
    on_or_before,
    shift_point,
)

COLONOSCOPY = "2.16.840.1.113883.3.464.1003.108.12.1020"
CT_COLONOGRAPHY = "2.16.840.1.113883.3.464.1003.108.12.1038"
FOBT = "2.16.840.1.113883.3.464.1003.198.12.1011"
SDNA_FIT = "2.16.840.1.113883.3.464.1003.108.12.1039"
FLEXIBLE_SIGMOIDOSCOPY = "2.16.840.1.113883.3.464.1003.198.12.1010"
MALIGNANT_NEOPLASM_OF_COLON = "2.16.840.1.113883.3.464.1003.108.12.1001"
TOTAL_COLECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1019"


# ---- helpers -----------------------------------------------------------------------------------


def has_value(obs: JSON) -> bool:
    """`Observation.value is not null`: any value[x] element present."""
    return any(key.startswith("value") and obs[key] is not None for key in obs)


def lookback(ctx: MeasureContext, years: int) -> Span:
    """Interval[start of "Measurement Period" - N years, end of "Measurement Period"]."""
    return Span(shift_point(ctx.period.start, years=-years), ctx.period.end)


def _end(span: Span | None) -> Point | None:
    return span.end_point() if span is not None else None


def _start(span: Span | None) -> Point | None:
    return span.start_point() if span is not None else None


# ---- Initial Population / strata -------------------------------------------------------------


def initial_population(ctx: MeasureContext) -> list[str]:
    """ "Initial Population": AgeInYearsAt(date from end of MP) in Interval[46, 75] and exists
    AdultOutpatientEncounters."Qualifying Encounters". Returns the qualifying encounters."""
    age = ctx.age_at_end
    if age is None or not 46 <= age <= 75:
        return []
    return c.refs(c.adult_outpatient_encounters(ctx))


def stratification_1(ctx: MeasureContext) -> bool:
    """ "Stratification 1": age at end of MP in Interval[46, 49]."""
    age = ctx.age_at_end
    return age is not None and 46 <= age <= 49


def stratification_2(ctx: MeasureContext) -> bool:
    """ "Stratification 2": age at end of MP in Interval[50, 75]."""
    age = ctx.age_at_end
    return age is not None and 50 <= age <= 75


# ---- Denominator Exclusions --------------------------------------------------------------------


def malignant_neoplasm(ctx: MeasureContext) -> list[str]:
    """ "Malignant Neoplasm": verified Malignant Neoplasm of Colon conditions whose
    prevalenceInterval() starts on or before day of end of "Measurement Period"."""
    end = ctx.period.end
    return c.refs(
        [
            cond
            for cond in c.conditions(ctx, MALIGNANT_NEOPLASM_OF_COLON)
            if on_or_before(_start(q.prevalence_interval(cond, ctx.chart)), end, day=True)
        ]
    )


def total_colectomy_performed(ctx: MeasureContext) -> list[str]:
    """ "Total Colectomy Performed": completed; performed.toInterval() ends on or before day of
    end of "Measurement Period"."""
    end = ctx.period.end
    return c.refs(
        [
            proc
            for proc in q.procedure_performed(ctx.chart.retrieve("Procedure", TOTAL_COLECTOMY))
            if on_or_before(_end(q.choice_interval(proc, "performed", ctx.chart)), end, day=True)
        ]
    )


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exclusions": hospice, malignant neoplasm, total colectomy, 66+ with advanced
    illness and frailty, 66+ in a nursing home, or palliative care."""
    return (
        c.has_hospice_services(ctx)
        or malignant_neoplasm(ctx)
        or total_colectomy_performed(ctx)
        or c.advanced_illness_and_frailty_66(ctx)
        or c.nursing_home_66(ctx)
        or c.has_palliative_care(ctx)
    )


# ---- Numerator ---------------------------------------------------------------------------------


def fecal_occult_blood_test_performed(ctx: MeasureContext) -> list[str]:
    """ "Fecal Occult Blood Test Performed": lab final/amended/corrected, value not null,
    effective.latest() during day of "Measurement Period"."""
    labs = q.lab_performed(ctx.chart.retrieve("Observation", FOBT), ctx.edition)
    return c.refs(
        [
            o
            for o in labs
            if has_value(o)
            and in_span(
                q.latest(q.choice_interval(o, "effective", ctx.chart)), ctx.period.span, day=True
            )
        ]
    )


def stool_dna_with_fit_test_performed(ctx: MeasureContext) -> list[str]:
    """ "Stool DNA with FIT Test Performed": lab final/amended/corrected, value not null,
    effective.latest() during day of [start of MP - 2 years, end of MP]."""
    window = lookback(ctx, 2)
    labs = q.lab_performed(ctx.chart.retrieve("Observation", SDNA_FIT), ctx.edition)
    return c.refs(
        [
            o
            for o in labs
            if has_value(o)
            and in_span(q.latest(q.choice_interval(o, "effective", ctx.chart)), window, day=True)
        ]
    )


def _procedures_ending_in(ctx: MeasureContext, oid: str, years: int) -> list[str]:
    """Completed procedures whose performed.toInterval() ends during day of the lookback."""
    window = lookback(ctx, years)
    return c.refs(
        [
            p
            for p in q.procedure_performed(ctx.chart.retrieve("Procedure", oid))
            if ends_during(q.choice_interval(p, "performed", ctx.chart), window, day=True)
        ]
    )


def flexible_sigmoidoscopy_performed(ctx: MeasureContext) -> list[str]:
    """ "Flexible Sigmoidoscopy Performed": ends during day of [start of MP - 4 years, end]."""
    return _procedures_ending_in(ctx, FLEXIBLE_SIGMOIDOSCOPY, 4)


def colonoscopy_performed(ctx: MeasureContext) -> list[str]:
    """ "Colonoscopy Performed": ends during day of [start of MP - 9 years, end of MP]."""
    return _procedures_ending_in(ctx, COLONOSCOPY, 9)


def ct_colonography_performed(ctx: MeasureContext) -> list[str]:
    """ "CT Colonography Performed": ObservationClinicalResult, isDiagnosticStudyPerformed
    (final/amended/corrected, imaging category); effective.toInterval() ends during day of
    [start of MP - 4 years, end of MP]."""
    window = lookback(ctx, 4)
    studies = q.diagnostic_study_performed(
        ctx.chart.retrieve("Observation", CT_COLONOGRAPHY), ctx.edition
    )
    return c.refs(
        [
            o
            for o in studies
            if ends_during(q.choice_interval(o, "effective", ctx.chart), window, day=True)
        ]
    )


def numerator(ctx: MeasureContext) -> list[str]:
    """ "Numerator": any of the five screening definitions."""
    return (
        fecal_occult_blood_test_performed(ctx)
        + stool_dna_with_fit_test_performed(ctx)
        + flexible_sigmoidoscopy_performed(ctx)
        + ct_colonography_performed(ctx)
        + colonoscopy_performed(ctx)
    )


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    encounters = initial_population(ctx)
    if not encounters:
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
                "initial-population": encounters,
                "denominator-exclusion": denex,
                "numerator": numer,
            },
            strata={
                "Stratification 1": stratification_1(ctx),
                "Stratification 2": stratification_2(ctx),
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS130", title="Colorectal Cancer Screening", edition="2025", evaluate=evaluate
)
