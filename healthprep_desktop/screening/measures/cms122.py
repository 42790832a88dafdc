"""CMS122 Diabetes: Glycemic Status Assessment Greater Than 9%
(CMS122FHIRDiabetesAssessGreaterThan9Percent 0.5.000, qicore-2025, QI-Core 6).

An inverse measure: patients 18-75 at the end of the period with a qualifying visit and diabetes
overlapping the period; the numerator is POOR control: the lowest HbA1c / GMI on the most recent
test day is > 9 %, or that result has no value, or there was no test in the period at all.
Definitions are mapped in docs/measures/CMS122.md.
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
from healthprep_desktop.screening.measures.cqltime import Point, during, in_span, overlaps
from healthprep_desktop.screening.valuesets import CPT, HCPCS, LOINC, normalize_system

ANNUAL_WELLNESS_VISIT = "2.16.840.1.113883.3.526.3.1240"
DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1001"
HBA1C_LAB_TEST = "2.16.840.1.113883.3.464.1003.198.12.1013"
HOME_HEALTHCARE = "2.16.840.1.113883.3.464.1003.101.12.1016"
NUTRITION_SERVICES = "2.16.840.1.113883.3.464.1003.1006"
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
PREVENTIVE_ESTABLISHED_18 = "2.16.840.1.113883.3.464.1003.101.12.1025"
PREVENTIVE_INITIAL_18 = "2.16.840.1.113883.3.464.1003.101.12.1023"
TELEPHONE_VISITS = "2.16.840.1.113883.3.464.1003.101.12.1080"
GLUCOSE_MANAGEMENT_INDICATOR = "97506-0"
# Medical nutrition therapy codes the CQL matches in Encounter.type (`T ~ code`).
NUTRITION_THERAPY_CODES = ((CPT, "97802"), (CPT, "97803"), (CPT, "97804"))
NUTRITION_THERAPY_HCPCS = ((HCPCS, "G0270"), (HCPCS, "G0271"))
UCUM = "http://unitsofmeasure.org"
# UCUM units the engine can convert to '%' (all dimensionless): factor into percent.
_PERCENT_FACTORS = {"%": 1.0, "1": 100.0, "mmol/mol": 0.1}


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounters": the visit value sets, or an Encounter.type equivalent to one of
    the five medical nutrition therapy codes; isEncounterPerformed (finished); period during
    day of "Measurement Period"."""
    chart = ctx.chart
    found = chart.retrieve(
        "Encounter",
        OFFICE_VISIT,
        ANNUAL_WELLNESS_VISIT,
        PREVENTIVE_ESTABLISHED_18,
        PREVENTIVE_INITIAL_18,
        HOME_HEALTHCARE,
        NUTRITION_SERVICES,
        TELEPHONE_VISITS,
    )
    for system, code in NUTRITION_THERAPY_CODES + NUTRITION_THERAPY_HCPCS:
        for enc in chart.retrieve_code("Encounter", system, code):
            if all(enc is not seen for seen in found):
                found.append(enc)
    return [
        e
        for e in q.encounter_performed(found, ctx.edition)
        if during(c.period_of(e), ctx.period.span, day=True)
    ]


def diabetes_diagnoses(ctx: MeasureContext) -> list[JSON]:
    """[ConditionEncounterDiagnosis: "Diabetes"].verified() whose prevalenceInterval() overlaps
    day of "Measurement Period"."""
    return [
        cond
        for cond in c.conditions(ctx, DIABETES)
        if overlaps(q.prevalence_interval(cond, ctx.chart), ctx.period.span, day=True)
    ]


def initial_population(ctx: MeasureContext) -> tuple[bool, list[str]]:
    """ "Initial Population": AgeInYearsAt(date from end of MP) in [18, 75], a qualifying
    encounter, and a diabetes diagnosis overlapping the period."""
    age = ctx.age_at_end
    if age is None or not 18 <= age <= 75:
        return False, []
    encounters = qualifying_encounters(ctx)
    diabetes = diabetes_diagnoses(ctx)
    ok = bool(encounters) and bool(diabetes)
    return ok, c.refs(encounters + diabetes) if ok else []


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exclusions": hospice, nursing home (66+), advanced illness and frailty (66+),
    palliative care."""
    return (
        c.has_hospice_services(ctx)
        or c.nursing_home_66(ctx)
        or c.advanced_illness_and_frailty_66(ctx)
        or c.has_palliative_care(ctx)
    )


def _latest(obs: JSON, ctx: MeasureContext) -> Point | None:
    """effective.latest(): the end of the effective interval when it has one, else its start."""
    return q.latest(q.choice_interval(obs, "effective", ctx.chart))


def glycemic_status_assessment(ctx: MeasureContext) -> list[JSON]:
    """ "Glycemic Status Assessment": HbA1c (value set) or GMI (LOINC 97506-0) lab results,
    isLaboratoryTestPerformed (final/amended/corrected), effective.latest() during day of MP."""
    chart = ctx.chart
    found = chart.retrieve("Observation", HBA1C_LAB_TEST)
    for obs in chart.retrieve_code("Observation", LOINC, GLUCOSE_MANAGEMENT_INDICATOR):
        if all(obs is not seen for seen in found):
            found.append(obs)
    return [
        o
        for o in q.lab_performed(found, ctx.edition)
        if in_span(_latest(o, ctx), ctx.period.span, day=True)
    ]


def _percent(value: Any) -> float | None:
    """`value as Quantity` in '%' (FHIRHelpers.ToQuantity; UCUM conversion among dimensionless
    units). None: not a Quantity, no value, a comparator, or a unit not convertible to '%'."""
    if not isinstance(value, dict):
        return None
    number = value.get("value")
    if not isinstance(number, int | float) or isinstance(number, bool):
        return None
    if value.get("comparator") is not None:
        return None
    system = value.get("system")
    if system is not None and normalize_system(system) != UCUM:
        return None
    unit = value.get("code") or value.get("unit") or "1"
    factor = _PERCENT_FACTORS.get(str(unit))
    return None if factor is None else float(number) * factor


def most_recent_glycemic_status_date(assessments: list[JSON], ctx: MeasureContext) -> Point | None:
    """ "Most Recent Glycemic Status Date": Last(date from effective.latest() sort asc)."""
    days = [p for p in (_latest(o, ctx) for o in assessments) if p is not None]
    if not days:
        return None
    last = max(days, key=lambda p: (p.day_lo, p.day_hi))
    return Point(Point.of_day(last.day_lo).lo, Point.of_day(last.day_hi).hi)


def lowest_reading_on_most_recent_day(ctx: MeasureContext) -> JSON | None:
    """ "Lowest Glycemic Status Assessment Reading on Most Recent Day": the results on the most
    recent day, sorted by `value as Quantity` ascending (a null value sorts first, as the
    engine's sort does), First."""
    assessments = glycemic_status_assessment(ctx)
    recent = most_recent_glycemic_status_date(assessments, ctx)
    if recent is None:
        return None
    same = [o for o in assessments if _same_day(_latest(o, ctx), recent)]
    if not same:
        return None
    # Stable sort: null values first, then ascending by value in percent.
    same.sort(key=lambda o: (_percent(o.get("valueQuantity")) is not None, _percent_or_0(o)))
    return same[0]


def _percent_or_0(obs: JSON) -> float:
    value = _percent(obs.get("valueQuantity"))
    return 0.0 if value is None else value


def _same_day(a: Point | None, b: Point) -> bool:
    if a is None:
        return False
    return a.is_day_exact and b.is_day_exact and a.day_lo == b.day_lo


def _has_value(obs: JSON) -> bool:
    """`Observation.value is not null`: any value[x] present."""
    return any(key.startswith("value") and obs[key] is not None for key in obs)


def numerator(ctx: MeasureContext) -> list[str]:
    """ "Numerator": most recent result without a value, or most recent result > 9 '%', or no
    glycemic status assessment in the period. Returns the deciding reference(s); ["none"] marks
    the "no record" branch."""
    lowest = lowest_reading_on_most_recent_day(ctx)
    if lowest is None:
        # "Has No Record Of Glycemic Status Assessment" (the lowest exists whenever one does).
        return [] if glycemic_status_assessment(ctx) else ["no-glycemic-status-assessment"]
    ref = f"Observation/{lowest.get('id')}"
    if not _has_value(lowest):  # "Has Most Recent Glycemic Status Assessment Without Result"
        return [ref]
    value = _percent(lowest.get("valueQuantity"))
    if value is not None and value > 9:  # "Has Most Recent Elevated Glycemic Status Assessment"
        return [ref]
    return []


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    ipp, ipp_refs = initial_population(ctx)
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
                "initial-population": ipp_refs,
                "denominator-exclusion": denex,
                "numerator": [r for r in numer if "/" in r],
            },
        )
    ]


MEASURE = MeasureSpec(
    cms="CMS122",
    title="Diabetes: Glycemic Status Assessment Greater Than 9%",
    edition="2025",
    evaluate=evaluate,
)
