"""The shared measure libraries: Hospice, PalliativeCare, AdvancedIllnessandFrailty and
AdultOutpatientEncounters, in both editions (see :mod:`.qicore`).

Each function returns the references that satisfied the definition (empty: not met), so a
measure can both decide a population and cite its evidence.
"""

from __future__ import annotations

from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import MeasureContext
from healthprep_desktop.screening.measures.chart import (
    JSON,
    concept_in,
    concept_is,
    reference_of,
)
from healthprep_desktop.screening.measures.cqltime import (
    Point,
    Span,
    during,
    ends_during,
    fhir_period,
    in_span,
    on_or_before,
    overlaps,
    parse_point,
    shift_point,
    starts_during,
)
from healthprep_desktop.screening.valuesets import LOINC, SNOMED

# Value sets (VSAC OIDs) the shared libraries use.
ADVANCED_ILLNESS = "2.16.840.1.113883.3.464.1003.110.12.1082"
ANNUAL_WELLNESS_VISIT = "2.16.840.1.113883.3.526.3.1240"
DEMENTIA_MEDICATIONS = "2.16.840.1.113883.3.464.1003.196.12.1510"
ENCOUNTER_INPATIENT = "2.16.840.1.113883.3.666.5.307"
FRAILTY_DEVICE = "2.16.840.1.113883.3.464.1003.118.12.1300"
FRAILTY_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.113.12.1074"
FRAILTY_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1088"
FRAILTY_SYMPTOM = "2.16.840.1.113883.3.464.1003.113.12.1075"
HOME_HEALTHCARE = "2.16.840.1.113883.3.464.1003.101.12.1016"
HOSPICE_CARE_AMBULATORY = "2.16.840.1.113883.3.526.3.1584"
HOSPICE_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.1165"
HOSPICE_ENCOUNTER = "2.16.840.1.113883.3.464.1003.1003"
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
PALLIATIVE_DIAGNOSIS = "2.16.840.1.113883.3.464.1003.1167"
PALLIATIVE_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1090"
PALLIATIVE_INTERVENTION = "2.16.840.1.113883.3.464.1003.198.12.1135"
PREVENTIVE_ESTABLISHED_18 = "2.16.840.1.113883.3.464.1003.101.12.1025"
PREVENTIVE_INITIAL_18 = "2.16.840.1.113883.3.464.1003.101.12.1023"
TELEPHONE_VISITS = "2.16.840.1.113883.3.464.1003.101.12.1080"
VIRTUAL_ENCOUNTER = "2.16.840.1.113883.3.464.1003.101.12.1089"

DISCHARGE_HOSPICE_HOME = "428361000124107"
DISCHARGE_HOSPICE_FACILITY = "428371000124100"
HOSPICE_MDS = "45755-6"
YES = "373066001"
FACIT_PAL = "71007-9"
HOUSING_STATUS = "71802-3"
LIVES_IN_NURSING_HOME = "160734000"
MEDICAL_EQUIPMENT_USED = "98181-1"


def refs(resources: list[JSON]) -> list[str]:
    return [reference_of(r) for r in resources]


def conditions(ctx: MeasureContext, *oids: str) -> list[JSON]:
    """`([ConditionProblemsHealthConcerns: vs] union [ConditionEncounterDiagnosis: vs]).verified()`
    in the 2025 edition; plain `[Condition: vs]` in 2024 (which has no verification filter)."""
    found = ctx.chart.retrieve("Condition", *oids)
    return q.verified(found) if ctx.edition == "2025" else found


def period_of(resource: JSON) -> Span | None:
    """`Encounter.period` as an interval (FHIRHelpers.ToInterval)."""
    return fhir_period(resource.get("period"))


def has_hospice_services(ctx: MeasureContext) -> list[str]:
    """Hospice."Has Hospice Services"."""
    chart, mp, ed = ctx.chart, ctx.period.span, ctx.edition
    hits: list[JSON] = []
    for enc in q.encounter_performed(chart.retrieve("Encounter", ENCOUNTER_INPATIENT), ed):
        disposition = (enc.get("hospitalization") or {}).get("dischargeDisposition")
        if (
            concept_is(disposition, SNOMED, DISCHARGE_HOSPICE_HOME)
            or concept_is(disposition, SNOMED, DISCHARGE_HOSPICE_FACILITY)
        ) and ends_during(period_of(enc), mp, day=True):
            hits.append(enc)
    for enc in q.encounter_performed(chart.retrieve("Encounter", HOSPICE_ENCOUNTER), ed):
        if overlaps(period_of(enc), mp, day=True):
            hits.append(enc)
    for obs in q.assessment_performed(chart.retrieve_code("Observation", LOINC, HOSPICE_MDS), ed):
        if concept_is(obs.get("valueCodeableConcept"), SNOMED, YES) and overlaps(
            q.choice_interval(obs, "effective", chart), mp, day=True
        ):
            hits.append(obs)
    for req in q.request_ordered(chart.retrieve("ServiceRequest", HOSPICE_CARE_AMBULATORY), ed):
        if in_span(parse_point(req.get("authoredOn")), mp, day=True):
            hits.append(req)
    for proc in q.procedure_performed(chart.retrieve("Procedure", HOSPICE_CARE_AMBULATORY)):
        if overlaps(q.choice_interval(proc, "performed", chart), mp, day=True):
            hits.append(proc)
    for cond in conditions(ctx, HOSPICE_DIAGNOSIS):
        if overlaps(q.prevalence_interval(cond, chart), mp, day=True):
            hits.append(cond)
    return refs(hits)


def has_palliative_care(ctx: MeasureContext) -> list[str]:
    """PalliativeCare."Has Palliative Care in the Measurement Period"."""
    chart, mp, ed = ctx.chart, ctx.period.span, ctx.edition
    hits: list[JSON] = []
    for obs in q.assessment_performed(chart.retrieve_code("Observation", LOINC, FACIT_PAL), ed):
        if overlaps(q.choice_interval(obs, "effective", chart), mp, day=True):
            hits.append(obs)
    for cond in conditions(ctx, PALLIATIVE_DIAGNOSIS):
        if overlaps(q.prevalence_interval(cond, chart), mp, day=True):
            hits.append(cond)
    for enc in q.encounter_performed(chart.retrieve("Encounter", PALLIATIVE_ENCOUNTER), ed):
        if overlaps(period_of(enc), mp, day=True):
            hits.append(enc)
    for proc in q.procedure_performed(chart.retrieve("Procedure", PALLIATIVE_INTERVENTION)):
        if overlaps(q.choice_interval(proc, "performed", chart), mp, day=True):
            hits.append(proc)
    return refs(hits)


def has_frailty(ctx: MeasureContext) -> list[str]:
    """AdvancedIllnessandFrailty."Has Criteria Indicating Frailty"."""
    chart, mp, ed = ctx.chart, ctx.period.span, ctx.edition
    hits: list[JSON] = []
    for req in q.request_ordered(chart.retrieve("DeviceRequest", FRAILTY_DEVICE), ed):
        if in_span(parse_point(req.get("authoredOn")), mp, day=True):
            hits.append(req)
    equipment = chart.retrieve_code("Observation", LOINC, MEDICAL_EQUIPMENT_USED)
    for obs in q.assessment_performed(equipment, ed):
        if concept_in(obs.get("valueCodeableConcept"), FRAILTY_DEVICE) and ends_during(
            q.choice_interval(obs, "effective", chart), mp, day=True
        ):
            hits.append(obs)
    for cond in conditions(ctx, FRAILTY_DIAGNOSIS):
        if overlaps(q.prevalence_interval(cond, chart), mp, day=True):
            hits.append(cond)
    for enc in q.encounter_performed(chart.retrieve("Encounter", FRAILTY_ENCOUNTER), ed):
        if overlaps(period_of(enc), mp, day=True):
            hits.append(enc)
    for obs in q.symptom(chart.retrieve("Observation", FRAILTY_SYMPTOM)):
        if overlaps(q.choice_interval(obs, "effective", chart), mp, day=True):
            hits.append(obs)
    return refs(hits)


def _year_before_and_period(ctx: MeasureContext) -> Span:
    """Interval[start of "Measurement Period" - 1 year, end of "Measurement Period"]."""
    mp = ctx.period
    return Span(shift_point(mp.start, years=-1), mp.end)


def has_advanced_illness(ctx: MeasureContext) -> list[str]:
    """ "Has Advanced Illness in Year Before or During Measurement Period": onset in the window."""
    window = _year_before_and_period(ctx)
    return refs(
        [
            c
            for c in conditions(ctx, ADVANCED_ILLNESS)
            if starts_during(q.prevalence_interval(c, ctx.chart), window, day=True)
        ]
    )


def has_dementia_medications(ctx: MeasureContext) -> list[str]:
    window = _year_before_and_period(ctx)
    meds = q.medication_active(
        ctx.chart.retrieve("MedicationRequest", DEMENTIA_MEDICATIONS), ctx.edition
    )
    return refs([m for m in meds if overlaps(q.medication_request_period(m), window, day=True)])


def advanced_illness_and_frailty_66(ctx: MeasureContext) -> list[str]:
    """ "Is Age 66 or Older with Advanced Illness and Frailty"."""
    age = ctx.age_at_end
    if age is None or age < 66:
        return []
    frailty = has_frailty(ctx)
    if not frailty:
        return []
    illness = has_advanced_illness(ctx) or has_dementia_medications(ctx)
    return frailty + illness if illness else []


def advanced_illness_frailty_66_80_or_frailty_81(ctx: MeasureContext) -> list[str]:
    """ "Is Age 66 to 80 with Advanced Illness and Frailty or Is Age 81 or Older with Frailty"."""
    age = ctx.age_at_end
    if age is None or age < 66:
        return []
    if age >= 81:
        return has_frailty(ctx)
    return advanced_illness_and_frailty_66(ctx)


def nursing_home_66(ctx: MeasureContext) -> list[str]:
    """ "Is Age 66 or Older Living Long Term in a Nursing Home": the last housing status on or
    before the end of the period says so."""
    age = ctx.age_at_end
    if age is None or age < 66:
        return []
    chart, end = ctx.chart, ctx.period.end
    candidates: list[tuple[Point, JSON]] = []
    for obs in q.assessment_performed(
        chart.retrieve_code("Observation", LOINC, HOUSING_STATUS), ctx.edition
    ):
        span = q.choice_interval(obs, "effective", chart)
        ends = span.end_point() if span is not None else None
        if ends is not None and on_or_before(ends, end, day=True):
            candidates.append((ends, obs))
    if not candidates:
        return []
    # Last(... sort by end of effective asc): ties keep the chart order (a stable sort).
    candidates.sort(key=lambda pair: pair[0].lo)
    last = candidates[-1][1]
    if concept_is(last.get("valueCodeableConcept"), SNOMED, LIVES_IN_NURSING_HOME):
        return [reference_of(last)]
    return []


def adult_outpatient_encounters(ctx: MeasureContext) -> list[JSON]:
    """AdultOutpatientEncounters."Qualifying Encounters": in the period (day precision)."""
    encounters = ctx.chart.retrieve(
        "Encounter",
        OFFICE_VISIT,
        ANNUAL_WELLNESS_VISIT,
        PREVENTIVE_ESTABLISHED_18,
        PREVENTIVE_INITIAL_18,
        HOME_HEALTHCARE,
        VIRTUAL_ENCOUNTER,
        TELEPHONE_VISITS,
    )
    return [
        e
        for e in q.encounter_performed(encounters, ctx.edition)
        if during(period_of(e), ctx.period.span, day=True)
    ]


__all__ = [
    "adult_outpatient_encounters",
    "advanced_illness_and_frailty_66",
    "advanced_illness_frailty_66_80_or_frailty_81",
    "conditions",
    "has_advanced_illness",
    "has_dementia_medications",
    "has_frailty",
    "has_hospice_services",
    "has_palliative_care",
    "nursing_home_66",
    "period_of",
    "refs",
]
