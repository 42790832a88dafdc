"""What an export needs from a stored chart: the patient's demographics and each resource's
source.

The chart is the one ``scope.records`` keeps per connection and patient (``{"patient": {...},
"resources": [...], "documents": [...]}``). A multi-source chart carries its source on every
resource (sources/merge.py: a meta.tag in SOURCE_TAG_SYSTEM whose display is the source's name,
and meta.source ``#<source id>``); a single-source chart has none, and the connection's name
stands in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from healthprep_desktop.sources.model import SOURCE_TAG_SYSTEM

JSON = dict[str, Any]
MRN_TYPE_CODE = "MR"  # identifier.type coding in http://terminology.hl7.org/CodeSystem/v2-0203


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """The Patient's identifying and analysis fields (every one may be absent)."""

    name: str | None = None
    mrn: str | None = None
    birth_date: date | None = None
    sex: str | None = None  # administrative gender: female, male, other, unknown
    postal_code: str | None = None
    phone: str | None = None

    def age_on(self, day: date | None) -> int | None:
        if self.birth_date is None or day is None or day < self.birth_date:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)


@dataclass(frozen=True, slots=True)
class ChartFacts:
    patient: PatientFacts = field(default_factory=PatientFacts)
    # "Procedure/abc" -> source name, only for resources that carry a source tag.
    sources: dict[str, str] = field(default_factory=dict)

    def source_of(self, references: list[str], default: str) -> str:
        """The sources of the evidence behind a result, "; "-joined, else ``default``."""
        found = sorted({self.sources[r] for r in references if r in self.sources})
        return "; ".join(found) if found else default


def chart_facts(record: JSON | None) -> ChartFacts:
    if not isinstance(record, dict):
        return ChartFacts()
    patient = record.get("patient")
    sources: dict[str, str] = {}
    for resource in chart_resources(record):
        name = resource_source(resource)
        if name:
            sources[f"{resource.get('resourceType')}/{resource.get('id')}"] = name
    return ChartFacts(patient_facts(patient if isinstance(patient, dict) else {}), sources)


def chart_resources(record: JSON) -> Iterator[JSON]:
    for resource in record.get("resources") or []:
        if isinstance(resource, dict):
            yield resource


def resource_source(resource: JSON) -> str | None:
    """The source name (or id) a merged resource was tagged with; None when untagged."""
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if isinstance(tag, dict) and tag.get("system") == SOURCE_TAG_SYSTEM:
            return str(tag.get("display") or tag.get("code") or "") or None
    source = (resource.get("meta") or {}).get("source")
    if isinstance(source, str) and source.startswith("#") and len(source) > 1:
        return source[1:]
    return None


def patient_facts(patient: JSON) -> PatientFacts:
    return PatientFacts(
        name=_name(patient),
        mrn=_mrn(patient),
        birth_date=_date(patient.get("birthDate")),
        sex=patient.get("gender") if isinstance(patient.get("gender"), str) else None,
        postal_code=_postal_code(patient),
        phone=_phone(patient),
    )


def _name(patient: JSON) -> str | None:
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if chosen is None:
        return None
    if isinstance(chosen.get("text"), str) and chosen["text"].strip():
        return str(chosen["text"]).strip()
    parts = [*(str(g) for g in chosen.get("given") or []), str(chosen.get("family") or "")]
    text = " ".join(p for p in parts if p).strip()
    return text or None


def _mrn(patient: JSON) -> str | None:
    for ident in patient.get("identifier") or []:
        if not isinstance(ident, dict) or not ident.get("value"):
            continue
        codings = ((ident.get("type") or {}).get("coding")) or []
        if any(isinstance(c, dict) and c.get("code") == MRN_TYPE_CODE for c in codings):
            return str(ident["value"])
    return None


def _postal_code(patient: JSON) -> str | None:
    addresses = [a for a in patient.get("address") or [] if isinstance(a, dict)]
    home = next(
        (a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else None
    )
    code = (home or {}).get("postalCode")
    return str(code).strip() or None if code else None


def _phone(patient: JSON) -> str | None:
    for telecom in patient.get("telecom") or []:
        if isinstance(telecom, dict) and telecom.get("system") == "phone" and telecom.get("value"):
            return str(telecom["value"])
    return None


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


__all__ = [
    "ChartFacts",
    "PatientFacts",
    "chart_facts",
    "chart_resources",
    "patient_facts",
    "resource_source",
]
