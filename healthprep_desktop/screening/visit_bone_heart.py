"""Measure-backed prep-sheet screenings for bone density and statins (see :mod:`.visit_measures`).

Each is decided by its measure module's own definitions and value sets over the rolling year that
ends on the visit day (``VisitInput.ctx``), evaluated in the measure's shared-library edition
(CMS249 and CMS347 are 2024-edition measures), so the sheet and the measure cannot drift apart:

``dxa_indication`` (CMS249, :mod:`.measures.cms249` and :mod:`.measures.cms249_exclusions`)
    Women (``Patient.gender = 'female'``, as the measure) aged 50-64 on the visit day; the
    library's ``osteoporosis`` screening covers 65 and older. Every definition behind the
    measure's denominator exclusions (first BMI of the rolling year <= 20 kg/m2, more than two
    drinks a day, oral glucocorticoids for 90 days or more, the risk-factor diagnoses,
    procedures and medications, bilateral oophorectomy) and its numerator-exclusion risk tools
    (FRAX >= 8.4 %, ORAI >= 9, OSIRIS < 1.0, OST < 2.0) is a risk factor. With one on record the
    sheet says "DXA indicated: <risk factors> (<date>)": DUE without a DXA in the last two
    years, else COMPLETE (DUE_SOON within the library's due-soon window, as every interval row).
    Without one it says "DXA not indicated" (NOT_APPLICABLE).
``statin_therapy_risk`` (CMS347 population 4, :mod:`.measures.cms347`)
    Ages 40-75 on the visit day with a 10-year CVD risk of 20 % or more in the rolling year
    (``cms347.ten_year_cvd_risk_high``) and in none of populations 1-3: COMPLETE when a statin
    is prescribed in the rolling year (``cms347.statin_prescribed``), else DUE; then
    :func:`statin_exception`.
:func:`statin_exception` (CMS347 denominator exceptions)
    For every statin row (the library's ``statin_therapy``, ``statin_therapy_ldl190`` and
    ``statin_therapy_diabetes`` variants, and ``statin_therapy_risk``): when the row asks for a
    statin, none is prescribed in the rolling year and ``cms347.denominator_exceptions`` holds,
    the row becomes MEDICAL_REASON, naming each exception in words ("Statin allergy on record
    (2026-03-01)"). Not a registered screening: :func:`.visit_status.refine` calls it per row.

Differences from measure mode (all deliberate):

* No qualifying encounter is needed: the visit is the encounter. CMS347's "medical reason for
  not ordering a statin" must fall in a qualifying encounter; here the rolling year stands in
  for that encounter (a not-ordered statin with a medical reason authored in it counts).
* Ages are taken on the visit day (the end of the rolling year), not at the start of the period:
  CMS249 is 50-63 at the start of the year, which is 50-64 at its end; CMS347 population 4 is
  40-75 on the visit day.
* CMS249 is an inverse measure (a DXA without a risk factor is inappropriate); the sheet turns it
  around: a risk factor makes a DXA indicated. Its risk factors "prior to the measurement
  period" (osteoporosis, osteopenia, gastric bypass, aromatase inhibitors, a parent's hip
  fracture) count here up to and including the visit day: the measure's definition is asked
  with a period that starts the day after the visit. The numerator-exclusion risk tools count
  when taken on or before the visit day: the measure's definition is asked as if the DXA were
  ordered at the end of the visit day. CMS249 has no hospice rule (its CQL includes Hospice but
  never uses it); the sheet follows the library's ``osteoporosis`` row and shows hospice or
  palliative care as NOT_APPLICABLE.
* "A DXA in the last two years" is the library's ``osteoporosis`` interval (every 2 years): a
  DXA scan from the library's DXA value sets or CMS249's DXA value set (procedure, order,
  observation, report or imaging study) on or before the visit day; it is next due two years
  after it (so a DXA exactly two years before the visit is due again today, as on the 65+ row).
  Document keywords are not read.
* CMS347 population 4 excludes all of populations 1-3 by the measure's own definitions (ASCVD,
  including the subsequent-NSTEMI code, LDL >= 190 mg/dL, familial hypercholesterolemia,
  diabetes), whatever the age; and the row is left out when the library already shows a
  ``statin_therapy*`` row that is not NOT_APPLICABLE, so the sheet never has two statin rows.
  A denominator exclusion (breastfeeding, rhabdomyolysis) leaves the row out.
* Exceptions are only applied to a row that asks for a statin (DUE or OVERDUE) and only when the
  measure's numerator (a statin prescribed in the rolling year) does not hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import date, timedelta

from healthprep_desktop.screening.dates import shift
from healthprep_desktop.screening.measures import cms249, cms347
from healthprep_desktop.screening.measures import cms249_exclusions as x
from healthprep_desktop.screening.measures import common as c
from healthprep_desktop.screening.measures import qicore as q
from healthprep_desktop.screening.measures.base import MeasureContext, MeasurementPeriod
from healthprep_desktop.screening.measures.chart import (
    JSON,
    Chart,
    codings,
    do_not_perform,
    reference_of,
    value_set_keys,
)
from healthprep_desktop.screening.measures.cqltime import Point, parse_point
from healthprep_desktop.screening.model import Evidence, EvidenceKind, ScreeningResult, Status
from healthprep_desktop.screening.visit_registry import VisitInput, register

DXA_INDICATION = "dxa_indication"
STATIN_RISK = "statin_therapy_risk"
DXA_NAME = "Bone density (DXA) under 65"
STATIN_RISK_NAME = "Statin therapy (10-year CVD risk >= 20 %)"
DXA_AGES = (50, 64)  # the library's "osteoporosis" screening starts at 65
STATIN_RISK_AGES = (40, 75)
DXA_EVERY_YEARS = 2  # the library's osteoporosis interval
OSTEOPOROSIS = "osteoporosis"  # the library screening whose DXA value sets are reused
STATIN_PREFIX = "statin_therapy"
EDITION: q.Edition = "2024"  # CMS249 and CMS347 are 2024-edition measures
NOT_INDICATED = "not indicated: no risk factor on record"

# CMS249 risk-factor value sets in words, most specific first (a code in several sets takes the
# first label).
RISK_LABELS: tuple[tuple[str, str], ...] = (
    (x.OSTEOPOROSIS_FRACTURE, "osteoporosis with a current fracture"),
    (x.OSTEOPOROSIS_NO_FRACTURE, "osteoporosis"),
    (x.OSTEOPENIA, "osteopenia"),
    (x.GASTRIC_BYPASS, "gastric bypass surgery"),
    (x.AROMATASE_INHIBITORS, "aromatase inhibitor"),
    (x.PARENT_HIP_FRACTURE, "hip fracture in a parent"),
    (x.GLUCOCORTICOIDS_ORAL, "oral glucocorticoids"),
    (x.MALABSORPTION, "malabsorption syndrome"),
    (x.CHRONIC_MALNUTRITION, "chronic malnutrition"),
    (x.CHRONIC_LIVER_DISEASE, "chronic liver disease"),
    (x.RHEUMATOID_ARTHRITIS, "rheumatoid arthritis"),
    (x.HYPERTHYROIDISM, "hyperthyroidism"),
    (x.TYPE_1_DIABETES, "type 1 diabetes"),
    (x.ESRD, "end-stage renal disease"),
    (x.OSTEOGENESIS_IMPERFECTA, "osteogenesis imperfecta"),
    (x.ANKYLOSING_SPONDYLITIS, "ankylosing spondylitis"),
    (x.PSORIATIC_ARTHRITIS, "psoriatic arthritis"),
    (x.EHLERS_DANLOS, "Ehlers-Danlos syndrome"),
    (x.CUSHINGS, "Cushing's syndrome"),
    (x.HYPERPARATHYROIDISM, "hyperparathyroidism"),
    (x.MARFANS, "Marfan syndrome"),
    (x.LUPUS, "lupus"),
    (x.MULTIPLE_MYELOMA, "multiple myeloma"),
    (x.PREMATURE_MENOPAUSE, "premature menopause"),
    (x.EATING_DISORDERS, "eating disorder"),
    (x.AMENORRHEA, "amenorrhea"),
    (x.CHEMOTHERAPY, "chemotherapy"),
    (x.KIDNEY_TRANSPLANT, "kidney transplant"),
    (x.BONE_MARROW_TRANSPLANT, "bone marrow transplant"),
    (x.MAJOR_TRANSPLANT, "major organ transplant"),
    (x.BILATERAL_OOPHORECTOMY, "bilateral oophorectomy"),
    (x.EVIDENCE_BILATERAL_OOPHORECTOMY, "bilateral oophorectomy"),
    (x.OOPHORECTOMY_LEFT, "bilateral oophorectomy"),
    (x.OOPHORECTOMY_RIGHT, "bilateral oophorectomy"),
    (x.OOPHORECTOMY_UNSPECIFIED, "bilateral oophorectomy"),
)
RISK_TOOLS = {
    cms249.FRAX_MAJOR: "FRAX 10-year major osteoporotic fracture risk",
    cms249.ORAI: "ORAI score",
    cms249.OSIRIS: "OSIRIS index",
    cms249.OST: "OST score",
}
_DXA_TYPES = ("Procedure", "ServiceRequest", "Observation", "DiagnosticReport", "ImagingStudy")
_RESULT_DONE = ("final", "amended", "corrected", "appended")


# --- shared helpers ------------------------------------------------------------------------------


def _measure_context(data: VisitInput) -> MeasureContext:
    """The visit's chart and rolling year, in the measures' shared-library edition."""
    if data.ctx.edition == EDITION:
        return data.ctx
    return MeasureContext(data.ctx.chart, data.ctx.period, EDITION)


def _day_of(resource: JSON, chart: Chart) -> date | None:
    """The day a resource happened or was recorded: a condition's prevalence start, the start of
    onset/effective, the latest point of performed/occurrence, else authoredOn, recordedDate,
    issued or an imaging study's start."""
    if resource.get("resourceType") == "Condition":
        span = q.prevalence_interval(resource, chart)
        if span is not None and isinstance(span.start, Point):
            return span.start.day_lo
    for stem in ("onset", "effective"):
        point = q.earliest(q.choice_interval(resource, stem, chart))
        if point is not None:
            return point.day_lo
    for stem in ("performed", "occurrence"):
        point = q.latest(q.choice_interval(resource, stem, chart))
        if point is not None:
            return point.day_lo
    if resource.get("resourceType") == "MedicationRequest":
        start = x.start_of(q.medication_request_period(resource))
        if start is not None:
            return start.day_lo
    for key in ("authoredOn", "recordedDate", "issued", "started"):
        found = parse_point(resource.get(key))
        if found is not None:
            return found.day_lo
    return None


def _evidence(
    chart: Chart, resource: JSON, description: str, value_set: str | None = None
) -> Evidence:
    first = [key for concept in chart.primary_code(resource) for key in codings(concept)]
    system, code = first[0] if first else (None, None)
    return Evidence(
        EvidenceKind.CODE,
        reference_of(resource),
        _day_of(resource, chart),
        description,
        system=system,
        code=code,
        value_set=value_set,
    )


def _resolved(chart: Chart, refs: Iterable[str]) -> list[JSON]:
    found = []
    for ref in refs:
        resource = chart.resolve(ref)
        if resource is not None and resource not in found:
            found.append(resource)
    return found


def _dated(label: str, day: date | None) -> str:
    return f"{label} ({day.isoformat()})" if day is not None else label


def _number(value: float) -> str:
    return f"{value:g}"


# --- CMS249: DXA indication ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class RiskFactor:
    label: str  # in words: "rheumatoid arthritis", "BMI 19.5 kg/m2"
    day: date | None
    evidence: tuple[Evidence, ...]

    @property
    def text(self) -> str:
        return _dated(self.label, self.day)


def _label_of(chart: Chart, resource: JSON) -> tuple[str, str | None]:
    """The risk factor's words and the CMS249 value set its code is in."""
    keys = chart.code_keys(resource)
    for oid, label in RISK_LABELS:
        if not keys.isdisjoint(value_set_keys((oid,))):
            return label, oid
    return "CMS249 risk factor", None


def _coded_factors(chart: Chart, refs: Iterable[str]) -> list[RiskFactor]:
    """One risk factor per label (the earliest record), in the order found."""
    by_label: dict[str, list[tuple[JSON, str | None]]] = {}
    for resource in _resolved(chart, refs):
        label, oid = _label_of(chart, resource)
        by_label.setdefault(label, []).append((resource, oid))
    out = []
    for label, found in by_label.items():
        days = [d for d in (_day_of(r, chart) for r, _ in found) if d is not None]
        evidence = tuple(_evidence(chart, r, label, oid) for r, oid in found)
        out.append(RiskFactor(label, min(days) if days else None, evidence))
    return out


def _glucocorticoids(ctx: MeasureContext) -> list[RiskFactor]:
    days = x.glucocorticoid_days(ctx)
    if days is None or days < 90:
        return []
    chart = ctx.chart
    requests = q.medication_active(
        chart.retrieve("MedicationRequest", x.GLUCOCORTICOIDS_ORAL), ctx.edition
    )
    label = f"oral glucocorticoids for {days} days"
    starts = [d for d in (_day_of(r, chart) for r in requests) if d is not None]
    evidence = tuple(_evidence(chart, r, label) for r in requests)
    return [RiskFactor(label, min(starts) if starts else None, evidence)]


def _without_glucocorticoids(data: VisitInput, ctx: MeasureContext) -> MeasureContext:
    """The same chart without oral glucocorticoid requests: the measure's "history or period"
    definition stops at 90 glucocorticoid days, and the sheet names every risk factor."""
    chart = ctx.chart
    gluco = value_set_keys((x.GLUCOCORTICOIDS_ORAL,))
    kept = [
        r
        for r in data.record.resources
        if not (
            isinstance(r, dict)
            and r.get("resourceType") == "MedicationRequest"
            and not chart.code_keys(r).isdisjoint(gluco)
        )
    ]
    return MeasureContext(Chart(chart.patient, kept), ctx.period, ctx.edition)


def _observation_factors(
    chart: Chart, refs: Iterable[str], words: Callable[[JSON, float | None], str]
) -> list[RiskFactor]:
    out = []
    for obs in _resolved(chart, refs):
        value = obs.get("valueQuantity", {}).get("value", obs.get("valueInteger"))
        number = float(value) if isinstance(value, int | float) else None
        text = words(obs, number)
        out.append(RiskFactor(text, _day_of(obs, chart), (_evidence(chart, obs, text),)))
    return out


def _bmi(_obs: JSON, value: float | None) -> str:
    return f"low BMI ({_number(value)} kg/m2)" if value is not None else "low BMI"


def _drinks(_obs: JSON, value: float | None) -> str:
    per_day = f" ({_number(value)})" if value is not None else ""
    return f"more than 2 alcoholic drinks a day{per_day}"


def _tool(obs: JSON, value: float | None) -> str:
    codes = {code for _, code in codings(obs.get("code"))}
    tool = next((label for code, label in RISK_TOOLS.items() if code in codes), "risk tool")
    if value is None:
        return tool
    return f"{tool} {_number(value)}{' %' if tool.startswith('FRAX') else ''}"


def _risk_tools(ctx: MeasureContext, as_of: date) -> list[RiskFactor]:
    """CMS249's numerator-exclusion risk tools, asked as if a DXA were ordered at the end of the
    visit day (an assessment indicating risk, taken on or before it)."""
    order = {"authoredOn": f"{(as_of + timedelta(days=1)).isoformat()}T00:00:00.000Z"}
    return _observation_factors(
        ctx.chart, cms249.risk_assessment_before_first_dxa(ctx, [order]), _tool
    )


def risk_factors(data: VisitInput) -> list[RiskFactor]:
    """Every CMS249 risk factor on record by the visit day, in words."""
    ctx = _measure_context(data)
    chart = ctx.chart
    after_visit = data.as_of + timedelta(days=1)
    prior = MeasureContext(chart, MeasurementPeriod(after_visit, after_visit), ctx.edition)
    found = _observation_factors(chart, x.first_bmi_20_or_less(ctx), _bmi)
    found += _observation_factors(chart, x.first_drinks_over_two(ctx), _drinks)
    found += _coded_factors(chart, x.risk_factor_prior_to_period(prior))
    gluco = _glucocorticoids(ctx)
    found += gluco
    history = _without_glucocorticoids(data, ctx) if gluco else ctx
    found += _coded_factors(history.chart, x.risk_factor_history_or_period(history))
    found += _risk_tools(ctx, data.as_of)
    # One entry per label (a label found by two definitions, e.g. a condition both before and
    # during the year, is named once).
    unique: dict[str, RiskFactor] = {}
    for factor in found:
        unique.setdefault(factor.label, factor)
    return list(unique.values())


def dxa_records(data: VisitInput) -> list[tuple[date, JSON]]:
    """DXA scans on record by the visit day (library DXA sets and CMS249's), latest first."""
    chart = data.ctx.chart
    sets: tuple[str, ...] = (cms249.DXA_SCAN,)
    try:
        rule = data.library.by_id(OSTEOPOROSIS)
        sets = tuple(sorted({s for m in rule.modalities for s in m.sets}))
        keys = data.library.keys_of(sets) | value_set_keys((cms249.DXA_SCAN,))
    except KeyError:
        keys = value_set_keys(sets)
    found: list[tuple[date, JSON]] = []
    for rtype in _DXA_TYPES:
        candidates = [r for r in chart.all_of(rtype) if not chart.code_keys(r).isdisjoint(keys)]
        if rtype == "Procedure":
            candidates = q.procedure_performed(candidates)
        elif rtype == "ServiceRequest":
            candidates = q.request_ordered(
                [r for r in candidates if not do_not_perform(r)], EDITION
            )
        elif rtype == "ImagingStudy":
            candidates = [r for r in candidates if r.get("status") == "available"]
        else:
            candidates = [r for r in candidates if r.get("status") in _RESULT_DONE]
        for resource in candidates:
            authored = parse_point(resource.get("authoredOn"))  # an order: when it was made
            day = authored.day_lo if authored is not None else _day_of(resource, chart)
            if day is not None and day <= data.as_of:
                found.append((day, resource))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return found


@register(DXA_INDICATION)
def dxa_indication(data: VisitInput) -> ScreeningResult | None:
    chart = data.ctx.chart
    age = data.ctx.age_at(data.as_of)
    if chart.gender != "female" or age is None or not DXA_AGES[0] <= age <= DXA_AGES[1]:
        return None
    frequency = f"every {DXA_EVERY_YEARS} years while a risk factor is on record"
    ctx = _measure_context(data)
    for label, found in (
        ("hospice care", c.has_hospice_services(ctx)),
        ("palliative care", c.has_palliative_care(ctx)),
    ):
        if found:
            return ScreeningResult(
                DXA_INDICATION, DXA_NAME, Status.NOT_APPLICABLE,
                f"Not applicable: {label} in the last 12 months", reason=label,
                frequency=frequency,
                evidence=tuple(_evidence(chart, r, label) for r in _resolved(chart, found)),
            )  # fmt: skip
    scans = dxa_records(data)
    last = scans[0][0] if scans else None
    dxa_evidence = (_evidence(chart, scans[0][1], "DXA scan"),) if scans else ()
    factors = risk_factors(data)
    if not factors:
        return ScreeningResult(
            DXA_INDICATION,
            DXA_NAME,
            Status.NOT_APPLICABLE,
            "DXA not indicated (no CMS249 risk factor on record)",
            reason=NOT_INDICATED,
            last_done=last,
            frequency=frequency,
            evidence=dxa_evidence,
        )
    because = ", ".join(f.text for f in factors)
    evidence = tuple(e for f in factors for e in f.evidence) + dxa_evidence
    if last is None:
        status, next_due = Status.DUE, None
        done = "no DXA on record"
    else:
        next_due = shift(last, years=DXA_EVERY_YEARS)
        soon = data.library.due_soon_days
        if next_due <= data.as_of:
            status, done = Status.DUE, f"last DXA {last.isoformat()}"
        elif next_due <= data.as_of + timedelta(days=soon):
            status, done = Status.DUE_SOON, f"last DXA {last.isoformat()}, next due {next_due}"
        else:
            status, done = Status.COMPLETE, f"last DXA {last.isoformat()}, next due {next_due}"
    return ScreeningResult(
        DXA_INDICATION,
        DXA_NAME,
        status,
        f"DXA indicated: {because}; {done}",
        last_done=last,
        next_due=next_due,
        frequency=frequency,
        evidence=evidence,
    )


# --- CMS347: statin therapy, population 4, and exceptions ----------------------------------------


def _is_statin_row(result: ScreeningResult) -> bool:
    return any(
        (name or "").startswith(STATIN_PREFIX) for name in (result.variant_id, result.screening_id)
    )


def _library_statin_row(results: Iterable[ScreeningResult]) -> bool:
    return any(
        _is_statin_row(r) and r.status is not Status.NOT_APPLICABLE
        for r in results
        if r.screening_id != STATIN_RISK
    )


def _populations_1_to_3(ctx: MeasureContext) -> list[str]:
    """CMS347 populations 1-3 by the measure's definitions, whatever the age."""
    return (
        cms347.ascvd_diagnosis_or_procedure(ctx)
        + cms347.myocardial_infarction_before_end(ctx)
        + cms347.ldl_190(ctx)
        + cms347.hypercholesterolemia(ctx)
        + cms347._overlapping(ctx, cms347.DIABETES)
    )


def _percent_of(obs: JSON) -> float | None:
    value = (obs.get("valueQuantity") or {}).get("value")
    return float(value) if isinstance(value, int | float) else None


@register(STATIN_RISK)
def statin_therapy_risk(data: VisitInput) -> ScreeningResult | None:
    ctx = _measure_context(data)
    chart = ctx.chart
    age = ctx.age_at(data.as_of)
    if age is None or not STATIN_RISK_AGES[0] <= age <= STATIN_RISK_AGES[1]:
        return None
    if _library_statin_row(data.results) or _populations_1_to_3(ctx):
        return None
    if cms347.denominator_exclusions(ctx):
        return None
    risks = _resolved(chart, cms347.ten_year_cvd_risk_high(ctx))
    if not risks:
        return None
    risks.sort(key=lambda r: _day_of(r, chart) or date.min, reverse=True)
    latest = risks[0]
    pct, risk_day = _percent_of(latest), _day_of(latest, chart)
    risk_words = "10-year CVD risk" + (f" {_number(pct)} %" if pct is not None else " >= 20 %")
    risk_text = f"{risk_words} on {risk_day.isoformat()}" if risk_day else risk_words
    evidence = [_evidence(chart, latest, risk_words)]
    frequency = "a statin order every year"
    prescribed = _resolved(chart, cms347.statin_prescribed(ctx))
    if prescribed:
        days = [d for d in (_day_of(r, chart) for r in prescribed) if d is not None]
        last = max(days) if days else None
        evidence += [_evidence(chart, r, "Statin prescribed") for r in prescribed]
        on = f" on {last.isoformat()}" if last else ""
        return ScreeningResult(
            STATIN_RISK, STATIN_RISK_NAME, Status.COMPLETE,
            f"Statin prescribed{on} ({risk_text}; CMS347 population 4)",
            last_done=last, frequency=frequency, evidence=tuple(evidence),
        )  # fmt: skip
    due = ScreeningResult(
        STATIN_RISK, STATIN_RISK_NAME, Status.DUE,
        f"{risk_text}: statin recommended (CMS347 population 4)",
        frequency=frequency, evidence=tuple(evidence),
    )  # fmt: skip
    return statin_exception(data, due)


def _visit_year_encounter(ctx: MeasureContext) -> JSON:
    """The rolling year as the encounter a medical reason must fall in (visit mode needs none)."""
    first, last = ctx.period.first_day, ctx.period.last_day
    return {
        "resourceType": "Encounter",
        "id": "visit-rolling-year",
        "status": "finished",
        "period": {
            "start": f"{first.isoformat()}T00:00:00.000Z",
            "end": f"{last.isoformat()}T23:59:59.999Z",
        },
    }


def statin_exceptions(ctx: MeasureContext) -> list[tuple[str, list[JSON]]]:
    """CMS347's denominator exceptions that hold, in the measure's order, in words, with the
    resources behind each (empty when ``cms347.denominator_exceptions`` does not hold)."""
    encounter = _visit_year_encounter(ctx)
    if not cms347.denominator_exceptions(ctx, [encounter]):
        return []
    listed = cms347._overlapping  # problem-list conditions overlapping the rolling year
    paths = (
        ("Statin allergy", cms347.has_allergy_to_statin(ctx)),
        ("Hospice care", c.has_hospice_services(ctx)),
        ("Palliative care", c.has_palliative_care(ctx)),
        (
            "Hepatitis or liver disease",
            listed(ctx, cms347.HEPATITIS_A, cms347.HEPATITIS_B, cms347.LIVER_DISEASE),
        ),
        ("Statin-associated muscle symptoms", listed(ctx, cms347.STATIN_MUSCLE_SYMPTOMS)),
        ("End-stage renal disease", listed(ctx, cms347.ESRD)),
        ("Adverse reaction to a statin", cms347.has_adverse_reaction_to_statin(ctx)),
        (
            "Medical reason for not ordering a statin",
            cms347.medical_reason_not_ordering_statin(ctx, [encounter]),
        ),
    )
    return [(label, _resolved(ctx.chart, refs)) for label, refs in paths if refs]


def statin_exception(data: VisitInput, result: ScreeningResult) -> ScreeningResult:
    """A statin row that asks for a statin becomes MEDICAL_REASON when CMS347's exceptions hold
    and no statin is prescribed in the rolling year; every other row is returned unchanged."""
    if not _is_statin_row(result) or result.status not in (Status.DUE, Status.OVERDUE):
        return result
    ctx = _measure_context(data)
    if cms347.statin_prescribed(ctx):
        return result
    found = statin_exceptions(ctx)
    if not found:
        return result
    chart = ctx.chart
    parts, evidence = [], list(result.evidence)
    for label, resources in found:
        days = [d for d in (_day_of(r, chart) for r in resources) if d is not None]
        parts.append(_dated(f"{label} on record", max(days) if days else None))
        evidence += [_evidence(chart, r, label) for r in resources]
    return dataclasses.replace(
        result,
        status=Status.MEDICAL_REASON,
        explanation="; ".join(parts),
        evidence=tuple(evidence),
    )


__all__ = [
    "DXA_INDICATION",
    "STATIN_RISK",
    "RiskFactor",
    "dxa_indication",
    "dxa_records",
    "risk_factors",
    "statin_exception",
    "statin_exceptions",
    "statin_therapy_risk",
]
