"""CMS165 Controlling High Blood Pressure (CMS165FHIRControllingHighBloodPressure 0.5.000,
qicore-2025).

Adults 18-85 at the end of the period with essential hypertension overlapping the first six
months of the period and a qualifying outpatient visit; numerator: on the most recent day with a
qualifying blood pressure reading, the lowest systolic is < 140 and the lowest diastolic < 90
mm[Hg]. Definitions are mapped in docs/measures/CMS165.md.

Read literally, as a CQL engine runs it:

- ``[USCoreBloodPressureProfile]`` is a profile retrieve without a code filter. It is taken as
  the Observations tagged with the US Core blood-pressure profile (``meta.profile``) or coded as
  the profile's panel (LOINC 85354-9); see :func:`blood_pressure_observations`.
- "Qualifying ... Blood Pressure Reading" is the UNION of (a) readings whose latest effective time
  is not during day of a finished inpatient or ED encounter (no period restriction at all) and
  (b) readings whose own encounter's class is not inpatient/emergency-like and whose latest
  effective time is during day of the period.
- The systolic and diastolic values come from the reading's components only
  (``singleton from (component where code ~ ...)``): a reading without that component gives null,
  and a null sorts first, so the "lowest" reading of that day is null and the comparison fails.
"""

from __future__ import annotations

from datetime import timedelta

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasureSpec,
    patient_outcome,
)
from healthprep_desktop.screening.measures.chart import JSON, Chart, concept_is
from healthprep_desktop.screening.measures.cqltime import (
    Point,
    Span,
    in_span,
    on_or_before,
    overlaps,
    same_day,
    shift_point,
)
from healthprep_desktop.screening.valuesets import LOINC

CKD_STAGE_5 = "2.16.840.1.113883.3.526.3.1002"
DIALYSIS_SERVICES = "2.16.840.1.113883.3.464.1003.109.12.1013"
ED_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1010"
ENCOUNTER_INPATIENT = "2.16.840.1.113883.3.666.5.307"
ESRD = "2.16.840.1.113883.3.526.3.353"
ESRD_MONTHLY = "2.16.840.1.113883.3.464.1003.109.12.1014"
ESSENTIAL_HYPERTENSION = "2.16.840.1.113883.3.464.1003.104.12.1011"
KIDNEY_TRANSPLANT = "2.16.840.1.113883.3.464.1003.109.12.1012"
KIDNEY_TRANSPLANT_RECIPIENT = "2.16.840.1.113883.3.464.1003.109.12.1029"
PREGNANCY = "2.16.840.1.113883.3.526.3.378"

SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"
BP_PANEL = "85354-9"
BP_PROFILE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-blood-pressure"
UCUM = "http://unitsofmeasure.org"
NON_AMBULATORY_CLASSES = frozenset({"EMER", "IMP", "ACUTE", "NONAC", "PRENC", "SS"})
# `< 140 'mm[Hg]'` converts the reading's UCUM unit first (the engine's UCUM conversion); the
# pressure units a chart may use, in mm[Hg] (UCUM: m[Hg] = 133.3220 kPa).
_MMHG_PER_UNIT = {"mm[Hg]": 1.0, "cm[Hg]": 10.0, "kPa": 1000 / 133.322, "Pa": 1 / 133.322}


# ---- Initial Population ----------------------------------------------------------------------


def essential_hypertension_diagnosis(ctx: MeasureContext) -> list[JSON]:
    """ "Essential Hypertension Diagnosis": verified, prevalenceInterval() overlaps
    Interval[start of MP, start of MP + 6 months) (full precision, end exclusive)."""
    start = ctx.period.start
    six = shift_point(start, months=6)
    window = Span(start, Point.exact(six.lo - timedelta(milliseconds=1)))
    return [
        cond
        for cond in c.conditions(ctx, ESSENTIAL_HYPERTENSION)
        if overlaps(q.prevalence_interval(cond, ctx.chart), window)
    ]


def initial_population(ctx: MeasureContext) -> list[str]:
    """ "Initial Population": AgeInYearsAt(end of MP) in [18, 85], hypertension, a visit."""
    age = ctx.age_at_end
    if age is None or not 18 <= age <= 85:
        return []
    hypertension = essential_hypertension_diagnosis(ctx)
    encounters = c.adult_outpatient_encounters(ctx)
    if not hypertension or not encounters:
        return []
    return c.refs(hypertension) + c.refs(encounters)


# ---- Denominator Exclusions ------------------------------------------------------------------


def pregnancy_or_renal_diagnosis(ctx: MeasureContext) -> list[str]:
    """ "Pregnancy or Renal Diagnosis": verified; prevalenceInterval() overlaps MP."""
    found = c.conditions(ctx, PREGNANCY, ESRD, KIDNEY_TRANSPLANT_RECIPIENT, CKD_STAGE_5)
    mp = ctx.period.span
    return c.refs([x for x in found if overlaps(q.prevalence_interval(x, ctx.chart), mp)])


def end_stage_renal_disease_procedures(ctx: MeasureContext) -> list[str]:
    """ "End Stage Renal Disease Procedures": completed kidney transplant or dialysis whose
    performed.toInterval() ends on or before end of MP."""
    procs = q.procedure_performed(
        ctx.chart.retrieve("Procedure", KIDNEY_TRANSPLANT, DIALYSIS_SERVICES)
    )
    end = ctx.period.end
    return c.refs(
        [p for p in procs if on_or_before(_end(q.choice_interval(p, "performed", ctx.chart)), end)]
    )


def end_stage_renal_disease_encounter(ctx: MeasureContext) -> list[str]:
    """ "End Stage Renal Disease Encounter": finished; period starts on or before end of MP."""
    encs = q.encounter_performed(ctx.chart.retrieve("Encounter", ESRD_MONTHLY), ctx.edition)
    end = ctx.period.end
    return c.refs([e for e in encs if on_or_before(_start(c.period_of(e)), end)])


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exclusions": the first met alternative's evidence."""
    return (
        c.has_hospice_services(ctx)
        or pregnancy_or_renal_diagnosis(ctx)
        or end_stage_renal_disease_procedures(ctx)
        or end_stage_renal_disease_encounter(ctx)
        or c.advanced_illness_frailty_66_80_or_frailty_81(ctx)
        or c.nursing_home_66(ctx)
        or c.has_palliative_care(ctx)
    )


def _start(span: Span | None) -> Point | None:
    return span.start_point() if span is not None else None


def _end(span: Span | None) -> Point | None:
    return span.end_point() if span is not None else None


# ---- Numerator -------------------------------------------------------------------------------


def blood_pressure_observations(chart: Chart) -> list[JSON]:
    """``[USCoreBloodPressureProfile]``: Observations carrying the profile or its panel code."""
    found = []
    for obs in chart.all_of("Observation"):
        profiles = (obs.get("meta") or {}).get("profile") or ()
        tagged = any(isinstance(p, str) and p.split("|")[0] == BP_PROFILE for p in profiles)
        if tagged or concept_is(obs.get("code"), LOINC, BP_PANEL):
            found.append(obs)
    return found


def _latest(obs: JSON, chart: Chart) -> Point | None:
    """effective.latest(): the end of effective.toInterval() when it has one, else its start."""
    return q.latest(q.choice_interval(obs, "effective", chart))


def _encounter_class(obs: JSON, chart: Chart) -> str | None:
    """BloodPressure.encounter.getEncounter().class.code (null when unresolved)."""
    enc = chart.resolve(obs.get("encounter"), "Encounter")
    klass = enc.get("class") if enc is not None else None
    code = klass.get("code") if isinstance(klass, dict) else None
    return code if isinstance(code, str) else None


def qualifying_blood_pressure_readings(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Systolic/Diastolic Blood Pressure Reading" (the two are the same query).

    (isObservationBP readings without a finished inpatient/ED encounter such that the reading's
    latest time is during day of its period) union (isObservationBP readings whose encounter
    class is not in {EMER, IMP, ACUTE, NONAC, PRENC, SS} and whose latest time is during day of
    MP). `null in {...}` is false in cql-execution, so a reading without a resolvable encounter
    passes the class test.
    """
    chart = ctx.chart
    readings = q.observation_done(blood_pressure_observations(chart))
    disqualifying = q.encounter_performed(
        chart.retrieve("Encounter", ENCOUNTER_INPATIENT, ED_VISIT), ctx.edition
    )
    kept = []
    for obs in readings:
        latest = _latest(obs, chart)
        outside = not any(in_span(latest, c.period_of(e), day=True) is True for e in disqualifying)
        ambulatory = _encounter_class(obs, chart) not in NON_AMBULATORY_CLASSES and (
            in_span(latest, ctx.period.span, day=True) is True
        )
        if outside or ambulatory:
            kept.append(obs)
    return kept


def _date_of(p: Point | None) -> Point | None:
    """`date from` a DateTime, as the days it may fall on: one day, or a whole month or year for
    a coarser time (CQL keeps the precision; a month is not dropped). None when absent."""
    if p is None:
        return None
    return Point(Point.of_day(p.day_lo).lo, Point.of_day(p.day_hi).hi)


def most_recent_blood_pressure_day(ctx: MeasureContext, readings: list[JSON]) -> Point | None:
    """ "Most Recent Blood Pressure Day": Last("Blood Pressure Days" sort asc) (nulls first).

    A month-precision date sorts after every day before that month, and then no reading is
    `same day as` it, so the day's lowest reading is null (CQL: Last, then `same day as` is
    uncertain). Overlapping precisions (2026-12 and 2026-12-05) are ordered by their first
    possible day, as CMS122's "Most Recent Glycemic Status Date" is."""
    days = [d for d in (_date_of(_latest(o, ctx.chart)) for o in readings) if d is not None]
    return max(days, key=lambda p: (p.day_lo, p.day_hi)) if days else None


def component_mmhg(obs: JSON, code: str) -> tuple[bool, float | None]:
    """singleton from (component where code ~ X return value as Quantity), made comparable with
    'mm[Hg]': (ok, value). A missing component, a non-Quantity or a unit that is not a pressure
    gives None; more than one matching component is a run-time error in CQL (ok = False)."""
    matches = [
        comp
        for comp in obs.get("component") or ()
        if isinstance(comp, dict) and concept_is(comp.get("code"), LOINC, code)
    ]
    if len(matches) > 1:
        return False, None
    if not matches:
        return True, None
    quantity = matches[0].get("valueQuantity")
    if not isinstance(quantity, dict):
        return True, None
    value = quantity.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return True, None
    system = quantity.get("system")
    if quantity.get("comparator") is not None or system not in (None, UCUM, UCUM + "/"):
        return True, None
    unit = quantity.get("code") or quantity.get("unit") or "1"
    factor = _MMHG_PER_UNIT.get(str(unit))
    return True, (None if factor is None else float(value) * factor)


def lowest_reading_on_most_recent_day(
    ctx: MeasureContext, readings: list[JSON], day: Point | None, code: str
) -> float | None:
    """ "Lowest Systolic/Diastolic Reading on Most Recent Blood Pressure Day": First(values of
    that day's readings sort asc). A null value sorts first, so it makes the lowest null."""
    if day is None:
        return None
    values: list[float | None] = []
    for obs in readings:
        if same_day(_latest(obs, ctx.chart), day) is not True:
            continue
        ok, value = component_mmhg(obs, code)
        if not ok:
            return None
        values.append(value)
    if not values or any(v is None for v in values):
        return None
    return min(v for v in values if v is not None)


def numerator(ctx: MeasureContext) -> list[str]:
    """ "Numerator": "Has Systolic Blood Pressure Less Than 140" and "Has Diastolic Blood
    Pressure Less Than 90"; evidence: the readings of the most recent day."""
    readings = qualifying_blood_pressure_readings(ctx)
    day = most_recent_blood_pressure_day(ctx, readings)
    systolic = lowest_reading_on_most_recent_day(ctx, readings, day, SYSTOLIC)
    diastolic = lowest_reading_on_most_recent_day(ctx, readings, day, DIASTOLIC)
    if systolic is None or diastolic is None or systolic >= 140 or diastolic >= 90:
        return []
    return c.refs([o for o in readings if same_day(_latest(o, ctx.chart), day) is True])


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


MEASURE = MeasureSpec(
    cms="CMS165", title="Controlling High Blood Pressure", edition="2025", evaluate=evaluate
)
