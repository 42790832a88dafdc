"""CMS249 Appropriate Use of DXA Scans in Women Under 65 Years Who Do Not Have Risk Factors
(AppropriateDXAScansForWomenUnder65FHIR 0.2.001, qicore-2024).

An inverse measure: women 50-63 at the start of the period with a qualifying visit; the
numerator is a DXA scan ordered during the period (lower is better); risk factors for
osteoporotic fracture exclude from the denominator, and a fracture risk assessment that
indicated risk before the first DXA order excludes from the numerator. The CQL includes Hospice
but never uses it. Definitions are mapped in docs/measures/CMS249.md.
"""

from __future__ import annotations

from typing import Any

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasureSpec,
    patient_outcome,
)
from healthprep_desktop.screening.measures.chart import JSON
from healthprep_desktop.screening.measures.cms249_exclusions import (
    denominator_exclusions,
    effective,
    quantity,
    start_of,
)
from healthprep_desktop.screening.measures.cqltime import before, during, in_span, parse_point
from healthprep_desktop.screening.valuesets import CPT, LOINC

DXA_SCAN = "2.16.840.1.113883.3.464.1003.113.12.1051"
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
OUTPATIENT_CONSULTATION = "2.16.840.1.113883.3.464.1003.101.12.1008"
PREVENTIVE_ESTABLISHED_18 = "2.16.840.1.113883.3.464.1003.101.12.1025"
PREVENTIVE_INITIAL_18 = "2.16.840.1.113883.3.464.1003.101.12.1023"
TELEPHONE_VISITS = "2.16.840.1.113883.3.464.1003.101.12.1080"
VIRTUAL_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1089"
FRAX_MAJOR = "90265-0"
OSIRIS = "98133-2"
ORAI = "98139-9"
OST = "98146-4"
UNLISTED_PREVENTIVE = "99429"


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounter": six value sets and CPT 99429 (type ~), isEncounterPerformed
    (2024: finished/arrived/triaged/in-progress/onleave), period during day of the period."""
    chart = ctx.chart
    found = chart.retrieve(
        "Encounter",
        OFFICE_VISIT,
        PREVENTIVE_ESTABLISHED_18,
        PREVENTIVE_INITIAL_18,
        OUTPATIENT_CONSULTATION,
        VIRTUAL_ENCOUNTER,
        TELEPHONE_VISITS,
    )
    seen = {id(e) for e in found}
    found += [
        e for e in chart.retrieve_code("Encounter", CPT, UNLISTED_PREVENTIVE) if id(e) not in seen
    ]
    mp = ctx.period.span
    return [
        e for e in q.encounter_performed(found, ctx.edition) if during(c.period_of(e), mp, day=True)
    ]


# ---- numerator and numerator exclusion -----------------------------------------------------------


def dxa_orders(ctx: MeasureContext) -> list[JSON]:
    """ "DXA Scan Order During Measurement Period": isDiagnosticStudyOrder (active/completed,
    intent order), authoredOn during the period (full precision), sorted by authoredOn."""
    mp = ctx.period.span
    found = []
    for req in q.request_ordered(ctx.chart.retrieve("ServiceRequest", DXA_SCAN), ctx.edition):
        authored = parse_point(req.get("authoredOn"))
        if authored is not None and in_span(authored, mp):
            found.append((authored.lo, req))
    found.sort(key=lambda pair: pair[0])
    return [req for _, req in found]


def risk_assessment_before_first_dxa(ctx: MeasureContext, orders: list[JSON]) -> list[str]:
    """ "Osteoporosis Fracture Risk Assessment Prior to First DXA Scan": FRAX >= 8.4 %,
    ORAI (integer) >= 9, OSIRIS < 1.0, OST < 2.0 (assessments: survey category), whose
    effective starts before the first DXA order's authoredOn (full precision)."""
    if not orders:
        return []
    first = parse_point(orders[0].get("authoredOn"))
    chart, ed = ctx.chart, ctx.edition
    hits = []
    for code in (FRAX_MAJOR, ORAI, OSIRIS, OST):
        for obs in q.assessment_performed(chart.retrieve_code("Observation", LOINC, code), ed):
            if _indicates_risk(code, obs) and before(start_of(effective(obs, ctx)), first):
                hits.append(obs)
    return c.refs(hits)


def _indicates_risk(code: str, obs: JSON) -> bool:
    """FRAX.value >= 8.4 '%'; ORAI.value as Integer >= 9; OSIRIS / OST value as Quantity < 1.0
    / 2.0 (a Decimal compared as a unitless Quantity)."""
    if code == FRAX_MAJOR:
        return _ge(quantity(obs.get("valueQuantity"), "%"), 8.4)
    if code == ORAI:
        return _ge(_integer(obs.get("valueInteger")), 9)
    limit = 1.0 if code == OSIRIS else 2.0
    return _lt(quantity(obs.get("valueQuantity"), "1"), limit)


def _integer(value: Any) -> float | None:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _ge(value: float | None, threshold: float) -> bool:
    return value is not None and value >= threshold


def _lt(value: float | None, threshold: float) -> bool:
    return value is not None and value < threshold


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    age = ctx.age_at_start
    encounters = qualifying_encounters(ctx)
    ipp = age is not None and 50 <= age <= 63 and ctx.chart.gender == "female" and bool(encounters)
    if not ipp:
        return [patient_outcome(ipp=False, denom=False)]
    denex = denominator_exclusions(ctx)
    orders = dxa_orders(ctx)
    numex = risk_assessment_before_first_dxa(ctx, orders)
    return [
        patient_outcome(
            ipp=True,
            denom=True,
            denex=bool(denex),
            numer=bool(orders),
            numex=bool(numex),
            evidence={
                "initial-population": c.refs(encounters),
                "denominator-exclusion": denex,
                "numerator": c.refs(orders),
                "numerator-exclusion": numex,
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS249",
    title="Appropriate Use of DXA Scans in Women Under 65 Years Who Do Not Have Risk Factors",
    edition="2024",
    evaluate=evaluate,
)
