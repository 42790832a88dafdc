"""QICoreCommon, Status and CumulativeMedicationDuration functions the measures call.

Two editions of the shared libraries ship with the measures: ``"2025"`` (QI-Core 6, Status
1.15: the 2026 measurement-period content) and ``"2024"`` (QI-Core 4.1.1, Status 1.8). They
differ in the status filters (e.g. 2024's ``isEncounterPerformed`` accepts arrived/in-progress
encounters; 2024's ``isLaboratoryTestPerformed`` needs the laboratory category, 2025's
``isDiagnosticStudyPerformed`` needs imaging). Each measure module passes the edition its CQL
includes, so a filter is never borrowed from the wrong year.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, Literal

from healthprep_desktop.screening.measures.chart import JSON, Chart, concept_is, text_is
from healthprep_desktop.screening.measures.cqltime import (
    UNBOUNDED,
    UNKNOWN,
    Point,
    Span,
    fhir_period,
    parse_point,
    shift_point,
)

Edition = Literal["2024", "2025"]

OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_DONE_OBS = ("final", "amended", "corrected")
_ORDER_INTENTS_2025 = ("order", "original-order", "reflex-order", "filler-order", "instance-order")
_ENCOUNTER_DONE_2024 = ("finished", "arrived", "triaged", "in-progress", "onleave")


def _order_intents(edition: Edition) -> tuple[str, ...]:
    return _ORDER_INTENTS_2025 if edition == "2025" else ("order",)


def has_category(resource: JSON, code: str) -> bool:
    for concept in resource.get("category") or ():
        if isinstance(concept, dict):
            for coding in concept.get("coding") or ():
                if isinstance(coding, dict) and coding.get("code") == code:
                    return True
    return False


# ---- Status library ----------------------------------------------------------------------------


def assessment_performed(items: Iterable[JSON], edition: Edition) -> list[JSON]:
    """isAssessmentPerformed: final/amended/corrected (2024: and category survey)."""
    return [
        o
        for o in items
        if text_is(o.get("status"), *_DONE_OBS) and (edition == "2025" or has_category(o, "survey"))
    ]


def lab_performed(items: Iterable[JSON], edition: Edition) -> list[JSON]:
    """isLaboratoryTestPerformed: final/amended/corrected (2024: and category laboratory)."""
    return [
        o
        for o in items
        if text_is(o.get("status"), *_DONE_OBS)
        and (edition == "2025" or has_category(o, "laboratory"))
    ]


def diagnostic_study_performed(items: Iterable[JSON], edition: Edition) -> list[JSON]:
    """isDiagnosticStudyPerformed: final/amended/corrected (2025: and category imaging)."""
    return [
        o
        for o in items
        if text_is(o.get("status"), *_DONE_OBS)
        and (edition == "2024" or has_category(o, "imaging"))
    ]


def physical_exam_performed(items: Iterable[JSON]) -> list[JSON]:
    """isPhysicalExamPerformed: final/amended/corrected and category exam."""
    return [o for o in items if text_is(o.get("status"), *_DONE_OBS) and has_category(o, "exam")]


def observation_done(items: Iterable[JSON]) -> list[JSON]:
    """isObservationBP / BodyHeight / BodyWeight / BMI / PediatricBMI: final/amended/corrected."""
    return [o for o in items if text_is(o.get("status"), *_DONE_OBS)]


def smoking_status_done(items: Iterable[JSON]) -> list[JSON]:
    """isObservationSmokingStatus: final only."""
    return [o for o in items if text_is(o.get("status"), "final")]


def symptom(items: Iterable[JSON]) -> list[JSON]:
    """isSymptom: preliminary/final/amended/corrected."""
    return [o for o in items if text_is(o.get("status"), "preliminary", *_DONE_OBS)]


def encounter_performed(items: Iterable[JSON], edition: Edition) -> list[JSON]:
    allowed = ("finished",) if edition == "2025" else _ENCOUNTER_DONE_2024
    return [e for e in items if isinstance(e.get("status"), str) and e["status"] in allowed]


def procedure_performed(items: Iterable[JSON]) -> list[JSON]:
    """isProcedurePerformed / isInterventionPerformed: status completed."""
    return [p for p in items if text_is(p.get("status"), "completed")]


def immunization_administered(items: Iterable[JSON]) -> list[JSON]:
    return [i for i in items if text_is(i.get("status"), "completed")]


def request_ordered(items: Iterable[JSON], edition: Edition) -> list[JSON]:
    """isDiagnosticStudyOrder / isInterventionOrder / isLaboratoryTestOrder / isMedicationOrder /
    isDeviceOrder: status active or completed, an order intent."""
    intents = _order_intents(edition)
    return [
        r
        for r in items
        if r.get("status") in ("active", "completed") and r.get("intent") in intents
    ]


def medication_active(items: Iterable[JSON], edition: Edition) -> list[JSON]:
    intents = _order_intents(edition)
    return [r for r in items if r.get("status") == "active" and r.get("intent") in intents]


def medication_dispensed(items: Iterable[JSON]) -> list[JSON]:
    return [m for m in items if m.get("status") in ("completed", "in-progress", "on-hold")]


def verified(conditions: Iterable[JSON]) -> list[JSON]:
    """Status.verified (2025): no verification status, or confirmed/unconfirmed/provisional/
    differential. The 2024 measures check `isVerified` the same way where they do at all."""
    kept = []
    for c in conditions:
        status = c.get("verificationStatus")
        if status is None:
            kept.append(c)
            continue
        if any(
            concept_is(status, CONDITION_VER, code)
            for code in ("confirmed", "unconfirmed", "provisional", "differential")
        ):
            kept.append(c)
    return kept


# ---- QICoreCommon: intervals -------------------------------------------------------------------


def _birth_plus(chart: Chart, quantity: Any) -> Point | None:
    birth = chart.birth_date
    if birth is None or not isinstance(quantity, dict):
        return None
    value = quantity.get("value")
    unit = str(quantity.get("code") or quantity.get("unit") or "")
    if not isinstance(value, int | float):
        return None
    start = Point.of_day(birth)
    n = int(value)
    if unit in ("a", "year", "years"):
        return shift_point(start, years=n)
    if unit in ("mo", "month", "months"):
        return shift_point(start, months=n)
    if unit in ("wk", "week", "weeks"):
        return shift_point(start, days=7 * n)
    if unit in ("d", "day", "days"):
        return shift_point(start, days=n)
    return None


def choice_interval(resource: JSON, stem: str, chart: Chart | None = None) -> Span | None:
    """`<stem>.toInterval()` for a choice element (effective[x], performed[x], onset[x], ...).

    dateTime/instant/date -> [t, t]; Period -> FHIRHelpers.ToInterval; Age -> the year of life.
    """
    for suffix in ("DateTime", "Instant", "Date", ""):
        value = resource.get(stem + suffix)
        if isinstance(value, str):
            p = parse_point(value)
            return Span.at(p) if p else None
    period = resource.get(stem + "Period")
    if period is not None:
        return fhir_period(period)
    if chart is not None:
        age = resource.get(stem + "Age")
        if age is not None:
            start = _birth_plus(chart, age)
            if start is None:
                return None
            end = shift_point(start, years=1)
            return Span(start, Point(end.lo - timedelta(milliseconds=1), end.hi))
        rng = resource.get(stem + "Range")
        if isinstance(rng, dict):
            low = _birth_plus(chart, rng.get("low"))
            high = _birth_plus(chart, rng.get("high"))
            if low is None and high is None:
                return None
            if high is not None:
                high = shift_point(high, years=1)
                high = Point(high.lo - timedelta(milliseconds=1), high.hi)
            return Span.closed(low, high)
    return None


def latest(span: Span | None) -> Point | None:
    """QICoreCommon.latest: the end when the interval has one, else the start."""
    if span is None:
        return None
    if isinstance(span.end, Point):
        return span.end
    return span.start if isinstance(span.start, Point) else None


def earliest(span: Span | None) -> Point | None:
    if span is None:
        return None
    if isinstance(span.start, Point):
        return span.start
    return span.end if isinstance(span.end, Point) else None


def abatement_interval(condition: JSON, chart: Chart) -> Span | None:
    """abatementInterval(): a dateTime -> [t, t]; a Period -> [start, end) (end exclusive)."""
    period = condition.get("abatementPeriod")
    if isinstance(period, dict):
        low = parse_point(period.get("start"))
        high = parse_point(period.get("end"))
        if high is not None:  # half-open: the end is the instant before
            high = Point(high.lo - timedelta(milliseconds=1), high.hi - timedelta(milliseconds=1))
        return Span(low if low else UNKNOWN, high if high else UNKNOWN)
    return choice_interval(condition, "abatement", chart)


def prevalence_interval(condition: JSON, chart: Chart) -> Span | None:
    """prevalenceInterval(): onset start to abatement end.

    Active/recurrence/relapse: Interval[onset, abatement end] (closed: no abatement = ongoing).
    Otherwise Interval[onset, abatement end]; with no abatement date the end is unknown.
    A missing onset is a closed null start: the beginning of time.
    """
    onset = choice_interval(condition, "onset", chart)
    start = onset.start_point() if onset is not None else None
    abatement = abatement_interval(condition, chart)
    end = abatement.end_point() if abatement is not None else None
    clinical = condition.get("clinicalStatus")
    active = any(
        concept_is(clinical, CONDITION_CLINICAL, code)
        for code in ("active", "recurrence", "relapse")
    )
    low = start if start is not None else UNBOUNDED
    if active:
        return Span(low, end if end is not None else UNBOUNDED)
    return Span(low, end if end is not None else UNKNOWN)


# ---- CumulativeMedicationDuration ----------------------------------------------------------------

_PER_DAY = {
    "h": 24.0,
    "min": 24 * 60.0,
    "s": 24 * 3600.0,
    "d": 1.0,
    "wk": 1 / 7,
    "mo": 1 / 30,
    "a": 1 / 365,
}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _days_of(quantity: Any) -> float | None:
    if not isinstance(quantity, dict):
        return None
    value = _number(quantity.get("value"))
    unit = str(quantity.get("code") or quantity.get("unit") or "d")
    if value is None:
        return None
    factor = {"d": 1.0, "day": 1.0, "days": 1.0, "wk": 7.0, "week": 7.0, "mo": 30.0, "a": 365.0}
    return value * factor.get(unit, 1.0)


def _obj(value: Any) -> JSON:
    return value if isinstance(value, dict) else {}


def _single(value: Any) -> JSON:
    """CQL `singleton from`: the one element of a list, else nothing."""
    return _obj(value[0]) if isinstance(value, list) and len(value) == 1 else {}


def medication_request_period(request: JSON) -> Span | None:
    """medicationRequestPeriod(): the days a prescription covers (CumulativeMedicationDuration).

    Start: the dosage's boundsPeriod start, else authoredOn, else the validity period's start.
    Length: expectedSupplyDuration in days, else quantity / (dose x doses per day), times
    (1 + refills); else up to the boundsPeriod's end.
    """
    dosage = _single(request.get("dosageInstruction"))
    rate = _single(dosage.get("doseAndRate"))
    repeat = _obj(_obj(dosage.get("timing")).get("repeat"))
    frequency = _number(repeat.get("frequencyMax")) or _number(repeat.get("frequency"))
    period_value = _number(repeat.get("period"))
    period_unit = repeat.get("periodUnit")
    doses_per_day: float | None = None
    if frequency is not None and period_value and isinstance(period_unit, str):
        per = _PER_DAY.get(period_unit)
        if per is not None:
            doses_per_day = frequency / period_value * per
    if doses_per_day is None and isinstance(repeat.get("timeOfDay"), list) and repeat["timeOfDay"]:
        doses_per_day = float(len(repeat["timeOfDay"]))
    if doses_per_day is None:
        doses_per_day = 1.0
    dose = _number(_obj(_obj(rate.get("doseRange")).get("high")).get("value"))
    if dose is None:
        dose = _number(_obj(rate.get("doseQuantity")).get("value"))
    bounds = _obj(repeat.get("boundsPeriod"))
    dispense = _obj(request.get("dispenseRequest"))
    days_supply = _days_of(dispense.get("expectedSupplyDuration"))
    quantity = _number(_obj(dispense.get("quantity")).get("value"))
    refills = _number(dispense.get("numberOfRepeatsAllowed")) or 0.0
    start_day: date | None = None
    for candidate in (
        bounds.get("start"),
        request.get("authoredOn"),
        _obj(dispense.get("validityPeriod")).get("start"),
    ):
        p = parse_point(candidate)
        if p is not None:
            start_day = p.day_lo
            break
    if start_day is None:
        return None
    total: float | None = days_supply
    if total is None and quantity is not None and dose:
        total = quantity / (dose * doses_per_day)
    if total is not None:
        total *= 1 + refills
        end_day = start_day + timedelta(days=int(total - 1)) if total >= 1 else start_day
        return Span.days(start_day, end_day)
    bound_end = parse_point(bounds.get("end"))
    if bound_end is not None:
        return Span.days(start_day, bound_end.day_lo)
    return None


__all__ = [
    "Edition",
    "abatement_interval",
    "assessment_performed",
    "choice_interval",
    "diagnostic_study_performed",
    "earliest",
    "encounter_performed",
    "has_category",
    "immunization_administered",
    "lab_performed",
    "latest",
    "medication_active",
    "medication_dispensed",
    "medication_request_period",
    "observation_done",
    "physical_exam_performed",
    "prevalence_interval",
    "procedure_performed",
    "request_ordered",
    "smoking_status_done",
    "symptom",
    "verified",
]
