"""Declined / Medical reason from the chart: the measures' denominator exceptions, on the sheet.

A screening that is due is not simply "Due" when the chart documents why it was not done: a
procedure marked not-done, an observation cancelled, an order marked do-not-perform, an
immunization not given, each with a coded reason. The measures read these as exceptions
(CMS2, CMS22, CMS69, CMS347: "Medical Reason" and "Patient Declined" value sets); the sheet
reads them for every screening, matched on the screening's own value sets, in the year before
the visit, and says which, when and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from healthprep_desktop.screening.measures.chart import (
    JSON,
    Chart,
    codings,
    do_not_perform,
    not_done_value_sets,
    reference_of,
    text_is,
    value_set_keys,
)
from healthprep_desktop.screening.measures.cqltime import parse_point
from healthprep_desktop.screening.model import Status

MEDICAL_REASON = "2.16.840.1.113883.3.526.3.1007"
PATIENT_DECLINED = "2.16.840.1.113883.3.526.3.1582"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
# Immunization.statusReason codes (R4 value set "Immunization Status Reason Codes").
_ACT_DECLINED = frozenset({"PATOBJ", "RELIG", "PHILISOP"})
_ACT_MEDICAL = frozenset({"MEDPREC", "IMMUNE", "OSTOCK", "VACEFF", "VACSAF"})
_SNOMED_DECLINED = frozenset(
    {
        "105480006",  # refusal of treatment by patient
        "183944003",  # procedure refused
        "183945002",  # procedure refused for religious reason
        "413310006",  # patient non-compliant - refused access to services
    }
)
_REASON_EXTENSIONS = (
    "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneReason",
    "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-doNotPerformReason",
)
_DATE_FIELDS = (
    "authoredOn",
    "performedDateTime",
    "effectiveDateTime",
    "occurrenceDateTime",
    "recorded",
    "issued",
)


@dataclass(frozen=True, slots=True)
class DocumentedReason:
    status: Status  # DECLINED or MEDICAL_REASON
    reference: str
    day: date
    reason: str  # the reason's display, else its code

    def text(self, name: str) -> str:
        what = "Declined" if self.status is Status.DECLINED else "Not done for a medical reason"
        return f"{what} on {self.day.isoformat()} ({self.reason}); {name} not done"


def _negated(resource: JSON) -> bool:
    rtype = resource.get("resourceType")
    if rtype in ("Procedure", "Immunization", "Communication"):
        return text_is(resource.get("status"), "not-done")
    if rtype == "Observation":
        return text_is(resource.get("status"), "cancelled")
    if rtype in ("ServiceRequest", "MedicationRequest", "DeviceRequest"):
        return do_not_perform(resource)
    return False


def _reason_concepts(resource: JSON) -> Iterator[Any]:
    yield resource.get("statusReason")
    yield from resource.get("reasonCode") or ()
    for ext in resource.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") in _REASON_EXTENSIONS:
            yield ext.get("valueCodeableConcept")


def _display(concept: Any) -> str:
    if isinstance(concept, dict):
        if concept.get("text"):
            return str(concept["text"])
        for coding in concept.get("coding") or ():
            if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
                return str(coding.get("display") or coding.get("code"))
    return "reason recorded"


def classify(resource: JSON) -> tuple[Status, str] | None:
    """DECLINED or MEDICAL_REASON with the reason's words, from the coded reasons."""
    declined_keys = value_set_keys((PATIENT_DECLINED,))
    medical_keys = value_set_keys((MEDICAL_REASON,))
    for concept in _reason_concepts(resource):
        keys = set(codings(concept))
        if not keys:
            continue
        codes = {code for _, code in keys}
        if keys & declined_keys or codes & _ACT_DECLINED or codes & _SNOMED_DECLINED:
            return Status.DECLINED, _display(concept)
        if keys & medical_keys or codes & _ACT_MEDICAL:
            return Status.MEDICAL_REASON, _display(concept)
    return None


def _day(resource: JSON) -> date | None:
    for name in _DATE_FIELDS:
        point = parse_point(resource.get(name))
        if point is not None:
            return point.day_lo
    for name in ("performedPeriod", "effectivePeriod"):
        period = resource.get(name)
        if isinstance(period, dict):
            point = parse_point(period.get("start")) or parse_point(period.get("end"))
            if point is not None:
                return point.day_lo
    return None


def documented_reason(
    chart: Chart,
    keys: frozenset[tuple[str, str]],
    set_ids: frozenset[str],
    first_day: date,
    last_day: date,
) -> DocumentedReason | None:
    """The latest negated resource for one of these codes (or naming one of these value sets)
    with a declined or medical reason, dated in [first_day, last_day]."""
    best: DocumentedReason | None = None
    for rtype in ("Procedure", "Observation", "ServiceRequest", "MedicationRequest",
                  "DeviceRequest", "Immunization", "Communication"):  # fmt: skip
        for resource in chart.all_of(rtype):
            if not _negated(resource):
                continue
            own = chart.code_keys(resource)
            named = set().union(*(not_done_value_sets(c) for c in chart.primary_code(resource)))
            if own.isdisjoint(keys) and named.isdisjoint(set_ids):
                continue
            day = _day(resource)
            if day is None or not first_day <= day <= last_day:
                continue
            found = classify(resource)
            if found is None:
                continue
            candidate = DocumentedReason(found[0], reference_of(resource), day, found[1])
            if best is None or candidate.day > best.day:
                best = candidate
    return best


__all__ = ["DocumentedReason", "classify", "documented_reason"]
