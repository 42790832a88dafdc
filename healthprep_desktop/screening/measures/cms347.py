"""CMS347 Statin Therapy for the Prevention and Treatment of Cardiovascular Disease
(StatinTherapyforthePreventionandTreatmentofCardiovascularDiseaseFHIR 0.2.000, qicore-2024).

Four patient-based groups share one numerator (a statin ordered during the period), one
denominator exclusion (breastfeeding or rhabdomyolysis) and one set of exceptions; they differ in
the initial population: (1) clinical ASCVD, (2) ages 20-75 with LDL >= 190 mg/dL or familial
hypercholesterolemia, (3) ages 40-75 with diabetes, (4) ages 40-75 with a 10-year CVD risk of 20 %
or more; 2-4 exclude the earlier risk groups. Definitions are mapped in docs/measures/CMS347.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import (
    GroupOutcome,
    MeasureContext,
    MeasureSpec,
    patient_outcome,
)
from healthprep_desktop.screening.measures.chart import JSON, concept_in, concept_is, text_is
from healthprep_desktop.screening.measures.cqltime import (
    Span,
    during,
    in_span,
    on_or_before,
    overlaps,
    parse_point,
)
from healthprep_desktop.screening.valuesets import ICD10CM, LOINC

ANNUAL_WELLNESS_VISIT = "2.16.840.1.113883.3.526.3.1240"
ATHEROSCLEROSIS_PAD = "2.16.840.1.113762.1.4.1047.21"
BREASTFEEDING = "2.16.840.1.113762.1.4.1047.73"
CABG_SURGERIES = "2.16.840.1.113883.3.666.5.694"
CABG_OR_PCI = "2.16.840.1.113762.1.4.1138.566"
CAROTID_INTERVENTION = "2.16.840.1.113883.3.117.1.7.1.204"
CEREBROVASCULAR = "2.16.840.1.113762.1.4.1047.44"
DIABETES = "2.16.840.1.113883.3.464.1003.103.12.1001"
ESRD = "2.16.840.1.113883.3.526.3.353"
FAMILIAL_HYPERCHOLESTEROLEMIA = "2.16.840.1.113762.1.4.1047.100"
HEPATITIS_A = "2.16.840.1.113883.3.464.1003.110.12.1024"
HEPATITIS_B = "2.16.840.1.113883.3.67.1.101.1.269"
HIGH_STATIN = "2.16.840.1.113883.3.526.3.1572"
ISCHEMIC_HEART_DISEASE = "2.16.840.1.113762.1.4.1047.46"
LDL_CHOLESTEROL = "2.16.840.1.113883.3.526.3.1573"
LIVER_DISEASE = "2.16.840.1.113762.1.4.1047.42"
LOW_STATIN = "2.16.840.1.113883.3.526.3.1574"
MEDICAL_REASON = "2.16.840.1.113883.3.526.3.1007"
MODERATE_STATIN = "2.16.840.1.113883.3.526.3.1575"
MYOCARDIAL_INFARCTION = "2.16.840.1.113883.3.526.3.403"
OFFICE_VISIT = "2.16.840.1.113883.3.464.1003.101.12.1001"
OUTPATIENT_CONSULTATION = "2.16.840.1.113883.3.464.1003.101.12.1008"
OUTPATIENT_PREVENTIVE = "2.16.840.1.113883.3.526.3.1576"
PCI = "2.16.840.1.113762.1.4.1045.67"
PREVENTIVE_ESTABLISHED_18 = "2.16.840.1.113883.3.464.1003.101.12.1025"
PREVENTIVE_COUNSELING = "2.16.840.1.113883.3.464.1003.101.12.1026"
PREVENTIVE_INITIAL_18 = "2.16.840.1.113883.3.464.1003.101.12.1023"
PREVENTIVE_OTHER = "2.16.840.1.113883.3.464.1003.101.11.1150"
RHABDOMYOLYSIS = "2.16.840.1.113762.1.4.1047.102"
ANGINA = "2.16.840.1.113762.1.4.1047.47"
STATIN_ALLERGEN = "2.16.840.1.113762.1.4.1110.42"
STATIN_MUSCLE_SYMPTOMS = "2.16.840.1.113762.1.4.1108.85"
STATINS = (LOW_STATIN, MODERATE_STATIN, HIGH_STATIN)

CVD_RISK_10Y = "99055-6"
CVD_RISK_10Y_GOFF = "79423-0"
SUBSEQUENT_NSTEMI = "I22.2"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"

# UCUM units a mass concentration converts from, as multiples of mg/dL.
_MG_PER_DL = {"mg/dL": 1.0, "g/dL": 1000.0, "g/L": 100.0, "mg/L": 0.1, "mg/mL": 100.0}


# ---- helpers -------------------------------------------------------------------------------------


def _problem_or_concern(cond: JSON) -> bool:
    """isProblemListItem() or isHealthConcern(): a category coding ~ the QICoreCommon code."""
    return any(
        concept_is(cat, CONDITION_CATEGORY, "problem-list-item")
        or concept_is(cat, US_CORE_CONDITION_CATEGORY, "health-concern")
        for cat in cond.get("category") or ()
    )


def _listed(ctx: MeasureContext, *oids: str) -> list[JSON]:
    """`[Condition: vs]` (QI-Core 4.1.1: no verification filter) kept to problem list / concerns."""
    return [cond for cond in ctx.chart.retrieve("Condition", *oids) if _problem_or_concern(cond)]


def _prevalence_overlaps_period(ctx: MeasureContext, found: Iterable[JSON]) -> list[JSON]:
    """prevalenceInterval() overlaps day of "Measurement Period"."""
    mp = ctx.period.span
    return [
        cond for cond in found if overlaps(q.prevalence_interval(cond, ctx.chart), mp, day=True)
    ]


def _start_of(span: Span | None) -> Any:
    return span.start_point() if span is not None else None


def _prevalence_starts_by_end(ctx: MeasureContext, found: Iterable[JSON]) -> list[JSON]:
    """prevalenceInterval() starts on or before day of end of "Measurement Period"."""
    end = ctx.period.end
    return [
        cond
        for cond in found
        if on_or_before(_start_of(q.prevalence_interval(cond, ctx.chart)), end, day=True)
    ]


def quantity_mg_dl(value: Any) -> float | None:
    """FHIRHelpers.ToQuantity in mg/dL: the unit is code, else unit, else '1' (not comparable);
    a comparator makes ToQuantity an error, which no test can pass: treated as no value."""
    if not isinstance(value, dict) or value.get("comparator") is not None:
        return None
    number = value.get("value")
    if not isinstance(number, int | float) or isinstance(number, bool):
        return None
    system = value.get("system")
    if system not in (None, "http://unitsofmeasure.org"):
        return None
    unit = value.get("code") or value.get("unit") or "1"
    factor = _MG_PER_DL.get(str(unit))
    return None if factor is None else float(number) * factor


def _percent(value: Any) -> float | None:
    """`value as Quantity` compared with 20 '%': only a '%' quantity compares."""
    if not isinstance(value, dict) or value.get("comparator") is not None:
        return None
    number = value.get("value")
    if not isinstance(number, int | float) or isinstance(number, bool):
        return None
    if value.get("system") not in (None, "http://unitsofmeasure.org"):
        return None
    return float(number) if (value.get("code") or value.get("unit")) == "%" else None


# ---- definitions ---------------------------------------------------------------------------------


def qualifying_encounters(ctx: MeasureContext) -> list[JSON]:
    """ "Qualifying Encounter during day of Measurement Period": eight encounter value sets,
    period during day of the period, status = 'finished' (no Status library)."""
    found = ctx.chart.retrieve(
        "Encounter",
        ANNUAL_WELLNESS_VISIT,
        OFFICE_VISIT,
        OUTPATIENT_CONSULTATION,
        OUTPATIENT_PREVENTIVE,
        PREVENTIVE_ESTABLISHED_18,
        PREVENTIVE_COUNSELING,
        PREVENTIVE_INITIAL_18,
        PREVENTIVE_OTHER,
    )
    mp = ctx.period.span
    return [
        e for e in found if e.get("status") == "finished" and during(c.period_of(e), mp, day=True)
    ]


def ascvd_diagnosis_or_procedure(ctx: MeasureContext) -> list[str]:
    """ "ASVCD Diagnosis or Procedure before End of Measurement Period"."""
    diagnoses = _prevalence_starts_by_end(
        ctx,
        _listed(
            ctx,
            MYOCARDIAL_INFARCTION,
            CEREBROVASCULAR,
            ATHEROSCLEROSIS_PAD,
            ISCHEMIC_HEART_DISEASE,
            ANGINA,
        ),
    )
    end = ctx.period.end
    procedures = [
        p
        for p in ctx.chart.retrieve(
            "Procedure", PCI, CABG_SURGERIES, CAROTID_INTERVENTION, CABG_OR_PCI
        )
        if p.get("status") == "completed"
        and on_or_before(_start_of(q.choice_interval(p, "performed", ctx.chart)), end, day=True)
    ]
    return c.refs(diagnoses + procedures)


def myocardial_infarction_before_end(ctx: MeasureContext) -> list[str]:
    """ "Myocardial Infarction before End of Measurement Period": ICD-10-CM I22.2."""
    found = [
        cond
        for cond in ctx.chart.retrieve_code("Condition", ICD10CM, SUBSEQUENT_NSTEMI)
        if _problem_or_concern(cond)
    ]
    return c.refs(_prevalence_starts_by_end(ctx, found))


def ldl_190(ctx: MeasureContext) -> list[str]:
    """ "LDL Result Greater Than or Equal To 190": value >= 190 'mg/dL', effective starts on or
    before day of end of the period, status final/amended/corrected/appended (no category)."""
    end = ctx.period.end
    hits = []
    for obs in ctx.chart.retrieve("Observation", LDL_CHOLESTEROL):
        mg = quantity_mg_dl(obs.get("valueQuantity"))
        if (
            mg is not None
            and mg >= 190
            and obs.get("status") in ("final", "amended", "corrected", "appended")
            and on_or_before(
                _start_of(q.choice_interval(obs, "effective", ctx.chart)), end, day=True
            )
        ):
            hits.append(obs)
    return c.refs(hits)


def hypercholesterolemia(ctx: MeasureContext) -> list[str]:
    """ "Hypercholesterolemia Diagnosis": familial, prevalence starts by the end of the period."""
    return c.refs(_prevalence_starts_by_end(ctx, _listed(ctx, FAMILIAL_HYPERCHOLESTEROLEMIA)))


def ten_year_cvd_risk_high(ctx: MeasureContext) -> list[str]:
    """ "Ten Year CVD Risk is High": 99055-6 or 79423-0 >= 20 '%', effective during day of the
    period (no status filter)."""
    mp = ctx.period.span
    found = ctx.chart.retrieve_code("Observation", LOINC, CVD_RISK_10Y) + ctx.chart.retrieve_code(
        "Observation", LOINC, CVD_RISK_10Y_GOFF
    )
    hits = []
    for obs in found:
        pct = _percent(obs.get("valueQuantity"))
        effective = q.choice_interval(obs, "effective", ctx.chart)
        if pct is not None and pct >= 20 and during(effective, mp, day=True):
            hits.append(obs)
    return c.refs(hits)


def _age_between(ctx: MeasureContext, low: int, high: int) -> bool:
    """AgeInYearsAt(date from start of "Measurement Period") in Interval[low, high]."""
    age = ctx.age_at_start
    return age is not None and low <= age <= high


def denominator_exclusions(ctx: MeasureContext) -> list[str]:
    """ "Denominator Exclusions": breastfeeding or rhabdomyolysis overlapping the period."""
    return _overlapping(ctx, BREASTFEEDING, RHABDOMYOLYSIS)


def statin_prescribed(ctx: MeasureContext) -> list[str]:
    """ "Statin Therapy Prescribed Anytime during day of Measurement Period"."""
    mp = ctx.period.span
    hits = []
    for req in ctx.chart.retrieve("MedicationRequest", *STATINS):
        if req.get("status") not in ("active", "completed") or not text_is(
            req.get("intent"), "order"
        ):
            continue
        if in_span(parse_point(req.get("authoredOn")), mp, day=True) or any(
            overlaps(_bounds_interval(timing, ctx), mp, day=True) for timing in _timings(req)
        ):
            hits.append(req)
    return c.refs(hits)


def _timings(req: JSON) -> list[JSON]:
    """StatinPrescribed.dosageInstruction.timing (flattened)."""
    return [
        d["timing"]
        for d in req.get("dosageInstruction") or ()
        if isinstance(d, dict) and isinstance(d.get("timing"), dict)
    ]


def _bounds_interval(timing: JSON, ctx: MeasureContext) -> Span | None:
    """T.repeat.bounds.toInterval(): Period as is; Duration (a Quantity) and Range as ages."""
    repeat = timing.get("repeat")
    if not isinstance(repeat, dict):
        return None
    shaped: JSON = {}
    if "boundsPeriod" in repeat:
        shaped["boundsPeriod"] = repeat["boundsPeriod"]
    elif "boundsDuration" in repeat:
        shaped["boundsAge"] = repeat["boundsDuration"]
    elif "boundsRange" in repeat:
        shaped["boundsRange"] = repeat["boundsRange"]
    return q.choice_interval(shaped, "bounds", ctx.chart)


def has_allergy_to_statin(ctx: MeasureContext) -> list[str]:
    """ "Has Allergy to Statin": onset.toInterval() overlaps day of the period and clinicalStatus
    ~ active (an allergy without onset is dropped: the interval is null)."""
    mp = ctx.period.span
    return c.refs(
        [
            a
            for a in ctx.chart.retrieve("AllergyIntolerance", STATIN_ALLERGEN)
            if concept_is(a.get("clinicalStatus"), ALLERGY_CLINICAL, "active")
            and overlaps(q.choice_interval(a, "onset", ctx.chart), mp, day=True)
        ]
    )


def has_adverse_reaction_to_statin(ctx: MeasureContext) -> list[str]:
    """ "Has Adverse Reaction to Statin": AdverseEvent.event in Statin Allergen, recordedDate
    during day of the period."""
    mp = ctx.period.span
    return c.refs(
        [
            e
            for e in ctx.chart.retrieve("AdverseEvent", STATIN_ALLERGEN)
            if in_span(parse_point(e.get("recordedDate")), mp, day=True)
        ]
    )


def medical_reason_not_ordering_statin(ctx: MeasureContext, encounters: list[JSON]) -> list[str]:
    """ "Has Medical Reason for Not Ordering Statin Therapy": MedicationNotRequested (statin),
    authoredOn during a qualifying encounter's period (full precision), status = 'completed',
    any reasonCode in Medical Reason."""
    hits = []
    for req in ctx.chart.not_requested("MedicationRequest", *STATINS):
        if req.get("status") != "completed":
            continue
        if not any(concept_in(reason, MEDICAL_REASON) for reason in req.get("reasonCode") or ()):
            continue
        authored = parse_point(req.get("authoredOn"))
        if any(in_span(authored, c.period_of(e)) for e in encounters):
            hits.append(req)
    return c.refs(hits)


def denominator_exceptions(ctx: MeasureContext, encounters: list[JSON]) -> list[str]:
    """ "Denominator Exceptions": the first path that holds (for evidence)."""
    return (
        has_allergy_to_statin(ctx)
        or c.has_hospice_services(ctx)
        or c.has_palliative_care(ctx)
        or _overlapping(ctx, HEPATITIS_A, HEPATITIS_B, LIVER_DISEASE)
        or _overlapping(ctx, STATIN_MUSCLE_SYMPTOMS)
        or _overlapping(ctx, ESRD)
        or has_adverse_reaction_to_statin(ctx)
        or medical_reason_not_ordering_statin(ctx, encounters)
    )


def _overlapping(ctx: MeasureContext, *oids: str) -> list[str]:
    """ "Has Hepatitis or Liver Disease Diagnosis" / "Has Statin Associated Muscle Symptoms" /
    "Has ESRD Diagnosis" / "Has Diabetes Diagnosis": problem-list or health-concern conditions
    whose prevalence overlaps day of the period."""
    return c.refs(_prevalence_overlaps_period(ctx, _listed(ctx, *oids)))


def initial_populations(ctx: MeasureContext, encounters: list[JSON]) -> list[list[str]]:
    """ "Initial Population 1".."4" (evidence per group; empty = not met)."""
    if not encounters:
        return [[], [], [], []]
    ascvd = ascvd_diagnosis_or_procedure(ctx)
    mi = myocardial_infarction_before_end(ctx)
    ldl = ldl_190(ctx)
    fh = hypercholesterolemia(ctx)
    diabetes = _overlapping(ctx, DIABETES)
    enc = c.refs(encounters)
    ipp1 = ascvd + mi
    ipp2 = (ldl + fh) if _age_between(ctx, 20, 75) and (ldl or fh) and not ascvd else []
    ipp3 = diabetes if _age_between(ctx, 40, 75) and diabetes and not (ascvd or ldl or fh) else []
    ipp4: list[str] = []
    if _age_between(ctx, 40, 75) and not (ascvd or fh or ldl or diabetes):
        ipp4 = ten_year_cvd_risk_high(ctx)
    return [hits + enc if hits else [] for hits in (ipp1, ipp2, ipp3, ipp4)]


def evaluate(ctx: MeasureContext) -> list[GroupOutcome]:
    encounters = qualifying_encounters(ctx)
    ipps = initial_populations(ctx, encounters)
    if not any(ipps):
        return [patient_outcome(ipp=False, denom=False) for _ in ipps]
    denex = denominator_exclusions(ctx)
    numer = statin_prescribed(ctx)
    denexcep = denominator_exceptions(ctx, encounters)
    return [
        patient_outcome(
            ipp=bool(ipp),
            denom=bool(ipp),
            denex=bool(denex),
            numer=bool(numer),
            denexcep=bool(denexcep),
            evidence={
                "initial-population": ipp,
                "denominator-exclusion": denex,
                "numerator": numer,
                "denominator-exception": denexcep,
            }
            if ipp
            else {},
        )
        for ipp in ipps
    ]


MEASURE = MeasureSpec(
    cms="CMS347",
    title="Statin Therapy for the Prevention and Treatment of Cardiovascular Disease",
    edition="2024",
    evaluate=evaluate,
)
