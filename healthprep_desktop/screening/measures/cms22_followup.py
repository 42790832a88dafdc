"""CMS22 follow-up orders and declined follow-up (CMS22FHIRPCSBPScreeningFollowUp 0.3.000).

The ServiceRequest / MedicationRequest definitions the numerator and the denominator exceptions
use, each as a list of resources; :mod:`.cms22` then asks which of them were authored during day
of an encounter. No Status-library filter applies: the CQL checks only ``intent ~ 'order'`` (and
``status = 'completed'`` on the negations), exactly as written.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures.base import MeasureContext
from healthprep_desktop.screening.measures.chart import (
    JSON,
    concept_in,
    concept_is,
    do_not_perform,
    text_is,
)
from healthprep_desktop.screening.measures.cqltime import Span, in_span, parse_point
from healthprep_desktop.screening.valuesets import LOINC

DIETARY = "2.16.840.1.113883.3.600.1515"
ELEVATED_FINDING = "2.16.840.1.113762.1.4.1047.514"
FOLLOW_UP_4_WEEKS = "2.16.840.1.113883.3.526.3.1578"
FOLLOW_UP_6_MONTHS = "2.16.840.1.113762.1.4.1108.125"
LAB_TESTS = "2.16.840.1.113883.3.600.1482"
LIFESTYLE = "2.16.840.1.113883.3.526.3.1581"
PATIENT_DECLINED = "2.16.840.1.113883.3.526.3.1582"
PHARMACOLOGIC = "2.16.840.1.113883.3.526.1577"
PHYSICAL_ACTIVITY = "2.16.840.1.113883.3.600.1518"
ALCOHOL = "2.16.840.1.113883.3.526.3.1583"
REFERRAL = "2.16.840.1.113883.3.526.3.1580"
WEIGHT_REDUCTION = "2.16.840.1.113883.3.600.1510"
NON_PHARMACOLOGICAL = (LIFESTYLE, WEIGHT_REDUCTION, DIETARY, PHYSICAL_ACTIVITY, ALCOHOL)
EKG_CODES = ("34534-8", "11524-6")
DO_NOT_PERFORM_REASON = (
    "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerformReason"
)


def authored_during_day(resource: JSON, span: Span | None) -> bool:
    """`X.authoredOn during day of span`."""
    return in_span(parse_point(resource.get("authoredOn")), span, day=True) is True


def _ordered(items: list[JSON]) -> list[JSON]:
    """`where X.intent ~ 'order'`."""
    return [r for r in items if text_is(r.get("intent"), "order")]


def _ekg(ctx: MeasureContext, negated: bool) -> list[JSON]:
    """[ServiceRequest: "12 lead EKG panel"] union [ServiceRequest: "EKG study"] (direct codes);
    the ServiceNotRequested form when negated."""
    return [
        r
        for r in ctx.chart.all_of("ServiceRequest")
        if do_not_perform(r) == negated
        and any(concept_is(r.get("code"), LOINC, code) for code in EKG_CODES)
    ]


def follow_up_with_rescreen_within_6_months(ctx: MeasureContext) -> list[JSON]:
    """ "Follow up with Rescreen Within 6 Months"."""
    return _ordered(ctx.chart.retrieve("ServiceRequest", FOLLOW_UP_6_MONTHS))


def laboratory_test_or_ecg(ctx: MeasureContext) -> list[JSON]:
    """ "Laboratory Test or ECG for Hypertension"."""
    return _ordered(_ekg(ctx, False) + ctx.chart.retrieve("ServiceRequest", LAB_TESTS))


def non_pharmacological_interventions(ctx: MeasureContext) -> list[JSON]:
    """ "NonPharmacological Interventions"."""
    return _ordered(ctx.chart.retrieve("ServiceRequest", *NON_PHARMACOLOGICAL))


def referral_for_hypertensive_reading(ctx: MeasureContext) -> list[JSON]:
    """ "Referral to Alternate or Primary Healthcare Professional for Hypertensive Reading":
    reasonCode in "Finding of Elevated Blood Pressure or Hypertension", intent order."""
    return [
        r
        for r in _ordered(ctx.chart.retrieve("ServiceRequest", REFERRAL))
        if any(concept_in(reason, ELEVATED_FINDING) for reason in r.get("reasonCode") or ())
    ]


def _any_in_period(ctx: MeasureContext, items: list[JSON]) -> bool:
    return any(authored_during_day(r, ctx.period.span) for r in items)


def first_hypertensive_interventions(ctx: MeasureContext) -> list[JSON]:
    """ "First Hypertensive Reading Interventions or Referral to Alternate Professional":
    4-week rescreen orders (in MP) with a non-pharmacological order in MP, union referrals."""
    four_weeks = []
    if _any_in_period(ctx, non_pharmacological_interventions(ctx)):
        four_weeks = [
            r
            for r in _ordered(ctx.chart.retrieve("ServiceRequest", FOLLOW_UP_4_WEEKS))
            if authored_during_day(r, ctx.period.span)
        ]
    return four_weeks + referral_for_hypertensive_reading(ctx)


def second_130_interventions(ctx: MeasureContext) -> list[JSON]:
    """ "Second Hypertensive Reading SBP 130 to 139 OR DBP 80 to 89 and Interventions":
    6-month rescreen orders in MP with a lab/ECG order in MP and a non-pharmacological order in
    MP."""
    if not (
        _any_in_period(ctx, laboratory_test_or_ecg(ctx))
        and _any_in_period(ctx, non_pharmacological_interventions(ctx))
    ):
        return []
    return [
        r
        for r in follow_up_with_rescreen_within_6_months(ctx)
        if authored_during_day(r, ctx.period.span)
    ]


def second_140_interventions(ctx: MeasureContext) -> list[JSON]:
    """ "Second Hypertensive Reading SBP >= 140 OR DBP >= 90 Interventions": 4-week rescreen
    orders in MP with a lab/ECG order, a non-pharmacological order and an active
    antihypertensive MedicationRequest, each authored in MP."""
    nonpharm = _any_in_period(ctx, non_pharmacological_interventions(ctx))
    meds = [
        m
        for m in ctx.chart.retrieve("MedicationRequest", PHARMACOLOGIC)
        if authored_during_day(m, ctx.period.span) and text_is(m.get("status"), "active")
    ]
    if not (_any_in_period(ctx, laboratory_test_or_ecg(ctx)) and nonpharm and meds):
        return []
    return [
        r
        for r in _ordered(ctx.chart.retrieve("ServiceRequest", FOLLOW_UP_4_WEEKS))
        if authored_during_day(r, ctx.period.span)
    ]


# ---- declined ----------------------------------------------------------------------------------


def _refused_reasons(resource: JSON) -> list[object]:
    """ServiceNotRequested.reasonRefused: the QI-Core doNotPerformReason extension."""
    return [
        ext.get("valueCodeableConcept")
        for ext in resource.get("extension") or ()
        if isinstance(ext, dict) and ext.get("url") == DO_NOT_PERFORM_REASON
    ]


def _patient_declined(resource: JSON) -> bool:
    return any(concept_in(r, PATIENT_DECLINED) for r in _refused_reasons(resource))


def declined_services(ctx: MeasureContext, *oids: str) -> list[JSON]:
    """[ServiceNotRequested: ...] where status = 'completed' and reasonRefused in "Patient
    Declined"."""
    return [
        r
        for r in ctx.chart.not_requested("ServiceRequest", *oids)
        if r.get("status") == "completed" and _patient_declined(r)
    ]


def non_pharmacological_not_ordered(ctx: MeasureContext) -> list[JSON]:
    """ "NonPharmacological Intervention Not Ordered"."""
    return declined_services(ctx, *NON_PHARMACOLOGICAL)


def laboratory_test_or_ecg_not_ordered(ctx: MeasureContext) -> list[JSON]:
    """ "Laboratory Test or ECG for Hypertension Not Ordered": a doNotPerformReason extension in
    "Patient Declined" (no status test)."""
    items = _ekg(ctx, True) + ctx.chart.not_requested("ServiceRequest", LAB_TESTS)
    return [r for r in items if _patient_declined(r)]


def second_130_declined(ctx: MeasureContext) -> list[JSON]:
    """ "Second Hypertensive Reading SBP 130 to 139 OR DBP 80 to 89 Interventions Declined"."""
    return (
        declined_services(ctx, REFERRAL, FOLLOW_UP_6_MONTHS)
        + laboratory_test_or_ecg_not_ordered(ctx)
        + non_pharmacological_not_ordered(ctx)
    )


def second_140_declined(ctx: MeasureContext) -> list[JSON]:
    """ "Second Hypertensive Reading SBP >= 140 OR DBP >= 90 Interventions Declined": also an
    antihypertensive MedicationNotRequested with status completed (no reason required)."""
    meds = [
        m
        for m in ctx.chart.not_requested("MedicationRequest", PHARMACOLOGIC)
        if m.get("status") == "completed"
    ]
    return (
        declined_services(ctx, REFERRAL, FOLLOW_UP_4_WEEKS)
        + meds
        + laboratory_test_or_ecg_not_ordered(ctx)
        + non_pharmacological_not_ordered(ctx)
    )
