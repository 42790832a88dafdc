"""Small, forgiving readers of FHIR R4 JSON for the prep sheet (names, codes, dates, values).

They never raise on odd shapes: a missing or malformed field reads as empty.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Any

from healthprep_desktop.screening.record import JSON
from healthprep_desktop.screening.sheet_model import DASH


def parse_date(value: Any) -> date | None:
    """The calendar date of a FHIR date/dateTime/instant as written (its own time zone)."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        year = int(value[0:4])
        month = int(value[5:7]) if len(value) >= 7 else 1
        day = int(value[8:10]) if len(value) >= 10 else 1
        return date(year, month, day)
    except ValueError:
        return None


def fmt_date(value: date | None) -> str:
    return value.isoformat() if value else DASH


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return DASH
    text = value.strftime("%Y-%m-%d %H:%M")
    if value.tzinfo is not None:
        text += f" {value.tzname() or value.strftime('%z')}"
    return text


def concept_text(concept: Any) -> str:
    """A CodeableConcept's text, else its first display, else its first code."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("display"):
            return str(coding["display"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            return str(coding["code"])
    return ""


def concept_codes(concepts: Any) -> set[str]:
    """Lower-cased codes and displays of one concept or a list of them."""
    found: set[str] = set()
    items = concepts if isinstance(concepts, list) else [concepts]
    for concept in items:
        if not isinstance(concept, dict):
            continue
        if concept.get("text"):
            found.add(str(concept["text"]).lower())
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict):
                for key in ("code", "display"):
                    if coding.get(key):
                        found.add(str(coding[key]).lower())
    return found


def status_of(resource: JSON) -> str:
    return str(resource.get("status") or "").lower()


_VOID = {"entered-in-error", "cancelled", "canceled", "revoked"}


def is_valid(resource: JSON) -> bool:
    return status_of(resource) not in _VOID


def reference_display(ref: Any) -> str:
    if isinstance(ref, dict):
        return str(ref.get("display") or "")
    return ""


def human_name(patient: JSON) -> str:
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    if not names:
        return "(name not on record)"
    chosen = next(
        (n for use in ("official", "usual") for n in names if n.get("use") == use), names[0]
    )
    family = str(chosen.get("family") or "")
    given = " ".join(str(g) for g in chosen.get("given") or [])
    if family and given:
        return f"{family}, {given}"
    return family or given or str(chosen.get("text") or "(name not on record)")


def mrn(patient: JSON) -> str:
    identifiers = [i for i in patient.get("identifier") or [] if isinstance(i, dict)]
    for ident in identifiers:
        codes = concept_codes(ident.get("type"))
        if "mr" in codes and ident.get("value"):
            return str(ident["value"])
    for ident in identifiers:
        if "mrn" in str(ident.get("system") or "").lower() and ident.get("value"):
            return str(ident["value"])
    for ident in identifiers:
        if ident.get("value"):
            return str(ident["value"])
    return ""


_SEX = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}
_BIRTH_SEX = {"F": "Female", "M": "Male", "UNK": "Unknown", "OTH": "Other"}


def sex(patient: JSON) -> str:
    gender = str(patient.get("gender") or "").lower()
    if gender in _SEX:
        return _SEX[gender]
    for ext in patient.get("extension") or []:
        if isinstance(ext, dict) and str(ext.get("url", "")).endswith("us-core-birthsex"):
            return _BIRTH_SEX.get(str(ext.get("valueCode")), "")
    return ""


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def months_before(day: date, months: int) -> date:
    total = day.year * 12 + (day.month - 1) - months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))
