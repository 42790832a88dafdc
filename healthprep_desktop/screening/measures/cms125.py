"""CMS125 Breast Cancer Screening (CMS125FHIRBreastCancerScreening 0.4.000, QI-Core 6).

Women 42-74 at the end of the period with a qualifying outpatient visit; numerator: a
mammogram whose effective time ends between October 1 two years before the period and the end
of the period (27 months). Definitions are mapped in docs/measures/CMS125.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasureSpec,
    patient_outcome,
)
from healthprep_desktop.screening.measures.chart import JSON, concept_is
from healthprep_desktop.screening.measures.cqltime import Point, Span, ends_during, on_or_before
from healthprep_desktop.screening.valuesets import SNOMED

MAMMOGRAPHY = "2.16.840.1.113883.3.464.1003.108.12.1018"
STATUS_POST_RIGHT_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1070"
STATUS_POST_LEFT_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1069"
UNILATERAL_MASTECTOMY_UNSPECIFIED = "2.16.840.1.113883.3.464.1003.198.12.1071"
UNILATERAL_MASTECTOMY_RIGHT = "2.16.840.1.113883.3.464.1003.198.12.1134"
UNILATERAL_MASTECTOMY_LEFT = "2.16.840.1.113883.3.464.1003.198.12.1133"
HISTORY_BILATERAL_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1068"
BILATERAL_MASTECTOMY = "2.16.840.1.113883.3.464.1003.198.12.1005"
RIGHT = "24028007"
LEFT = "7771000"
FEMALE = "248152002"


def _site(condition: JSON, code: str) -> bool:
    return any(concept_is(site, SNOMED, code) for site in condition.get("bodySite") or ())


def _mastectomy_diagnosis(ctx: MeasureContext, status_post: str, side: str) -> list[str]:
    """ "Right/Left Mastectomy Diagnosis": prevalence starts on or before the end of the period."""
    found = c.conditions(ctx, status_post) + [
        cond for cond in c.conditions(ctx, UNILATERAL_MASTECTOMY_UNSPECIFIED) if _site(cond, side)
    ]
    return _started_by_end(ctx, found)


def _started_by_end(ctx: MeasureContext, found: list[JSON]) -> list[str]:
    """prevalenceInterval() starts on or before end of "Measurement Period"."""
    end = ctx.period.end
    return c.refs(
        [
            cond
            for cond in found
            if on_or_before(_start(q.prevalence_interval(cond, ctx.chart)), end)
        ]
    )


def _start(span: Span | None) -> Point | None:
    return span.start_point() if span is not None else None


def _procedure_by_end(ctx: MeasureContext, oid: str) -> list[str]:
    """performed.toInterval() ends on or before end of "Measurement Period"."""
    end = ctx.period.end
    return c.refs(
        [
            proc
            for proc in q.procedure_performed(ctx.chart.retrieve("Procedure", oid))
            if on_or_before(_end(q.choice_interval(proc, "performed", ctx.chart)), end)
        ]
    )


def _end(span: Span | None) -> Point | None:
    return span.end_point() if span is not None else None


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    hospice = c.has_hospice_services(ctx)
    if hospice:
        return hospice
    right = _mastectomy_diagnosis(ctx, STATUS_POST_RIGHT_MASTECTOMY, RIGHT) + _procedure_by_end(
        ctx, UNILATERAL_MASTECTOMY_RIGHT
    )
    left = _mastectomy_diagnosis(ctx, STATUS_POST_LEFT_MASTECTOMY, LEFT) + _procedure_by_end(
        ctx, UNILATERAL_MASTECTOMY_LEFT
    )
    if right and left:
        return right + left
    bilateral = _started_by_end(ctx, c.conditions(ctx, HISTORY_BILATERAL_MASTECTOMY))
    bilateral += _procedure_by_end(ctx, BILATERAL_MASTECTOMY)
    if bilateral:
        return bilateral
    return (
        c.advanced_illness_and_frailty_66(ctx)
        or c.nursing_home_66(ctx)
        or c.has_palliative_care(ctx)
    )


def numerator(ctx: MeasureContext) -> list[str]:
    """A mammogram (imaging, final) ending during day of [Oct 1 two years prior, end of MP]."""
    oct1 = Point.exact(datetime(ctx.period.year - 2, 10, 1, tzinfo=UTC))
    window = Span(oct1, ctx.period.end)
    studies = q.diagnostic_study_performed(
        ctx.chart.retrieve("Observation", MAMMOGRAPHY), ctx.edition
    )
    return c.refs(
        [
            o
            for o in studies
            if ends_during(q.choice_interval(o, "effective", ctx.chart), window, day=True)
        ]
    )


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    age = ctx.age_at_end
    encounters = c.adult_outpatient_encounters(ctx)
    ipp = age is not None and 42 <= age <= 74 and ctx.chart.sex == FEMALE and bool(encounters)
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
                "initial-population": c.refs(encounters),
                "denominator-exclusion": denex,
                "numerator": numer,
            },
            strata={
                "Stratification 1": age is not None and 42 <= age <= 51,
                "Stratification 2": age is not None and 52 <= age <= 74,
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS125", title="Breast Cancer Screening", edition="2025", evaluate=evaluate
)
