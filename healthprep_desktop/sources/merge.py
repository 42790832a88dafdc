"""One chart from several sources: tag, re-key, de-duplicate, keep conflicts, record provenance.

Rules (the issue's, made precise):
- Every resource is tagged with its source (meta.tag in SOURCE_TAG_SYSTEM, code = source id; and
  meta.source = the source's id as a URI fragment) and gets a provenance record.
- A secondary source's ids are prefixed "<source id>." so they cannot collide with the primary's,
  its references are re-written the same way, and references to its own Patient point to the
  clinic's patient instead (the engine screens one Patient).
- Two resources from DIFFERENT sources are the same fact when they have the same resource type,
  share a code (any system|code), fall on the same day (the date as written, first 10 chars) and
  carry the same value (quantity value and unit, coded value, text, components). The copy from
  the higher-priority source (lower `priority`) is kept; the other counts once, as "also in".
- Same type, shared code, same day but a DIFFERENT value is a conflict: both are kept and
  visible; the priority source's copy is used for screening, the other carries the conflict
  extension and is left out of `screened`.
- Within one source nothing is merged: two HbA1c draws on one day in one EHR are two results.
Secondary sources' Patient resources are dropped (their demographics belong to matching).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from healthprep_desktop.sources.model import (
    CONFLICT_EXTENSION_URL,
    JSON,
    SOURCE_TAG_SYSTEM,
    Provenance,
    Source,
    SourceKind,
)
from healthprep_desktop.sources.normalise import birth_date as full_date

# Where a resource type keeps its concept, when not in "code".
_CODE_FIELD = {
    "Immunization": "vaccineCode",
    "DocumentReference": "type",
    "Encounter": "type",
    "MedicationRequest": "medicationCodeableConcept",
    "MedicationStatement": "medicationCodeableConcept",
}
# Clinical date fields, most specific first; (field, sub-field) for periods.
_DATE_FIELDS: tuple[tuple[str, str | None], ...] = (
    ("effectiveDateTime", None),
    ("effectiveInstant", None),
    ("effectivePeriod", "start"),
    ("performedDateTime", None),
    ("performedPeriod", "start"),
    ("occurrenceDateTime", None),
    ("onsetDateTime", None),
    ("recordedDate", None),
    ("authoredOn", None),
    ("period", "start"),
    ("date", None),
    ("issued", None),
    ("created", None),
)


@dataclass(frozen=True, slots=True)
class SourceChart:
    """What one source returned for the patient: its Patient id there and its resources."""

    source: Source
    patient_id: str
    resources: Sequence[JSON]
    read_at: datetime | None = None  # when the chart was fetched (the sheet's freshness line)


@dataclass(frozen=True, slots=True)
class SourceFailure:
    """A linked source that could not be read this time; the patient is prepared without it.

    `detail` is for the log only (never a token or patient content); the sheet shows warning().
    """

    source: Source
    detail: str = ""

    def warning(self) -> str:
        missing = "immunizations" if self.source.kind == SourceKind.REGISTRY else "outside records"
        return f"{self.source.name} unavailable: {missing} may be incomplete."


@dataclass(frozen=True, slots=True)
class Conflict:
    """Same fact, different values: `used` (priority source) is screened, `others` are shown."""

    used: JSON
    others: tuple[JSON, ...]


@dataclass(slots=True)
class MergedChart:
    screened: list[JSON]  # what the screening engine reads
    conflicts: list[Conflict]  # shown on the sheet and in the viewer
    provenance: dict[str, Provenance]  # "Type/id" (merged ids) -> where it came from
    duplicates_dropped: int = 0
    sources_read: list[Source] = field(default_factory=list)
    read_at: dict[str, datetime] = field(default_factory=dict)  # source id -> fetched at
    failures: list[SourceFailure] = field(default_factory=list)

    def warnings(self) -> list[str]:
        """One sentence per failed source, for the sheet ("Registry unavailable: ...")."""
        return [f.warning() for f in self.failures]

    def footer(self) -> list[str]:
        """The sources read and their freshness, primary first, for the sheet's footer."""
        lines = []
        for source in self.sources_read:
            when = self.read_at.get(source.id)
            lines.append(f"{source.name}, read {when:%Y-%m-%d %H:%M}" if when else source.name)
        return lines

    def visible(self) -> list[JSON]:
        """Everything a person should see: screened resources plus conflicting copies."""
        return self.screened + [r for c in self.conflicts for r in c.others]

    def origin(self, resource: JSON) -> Provenance | None:
        return self.provenance.get(f"{resource.get('resourceType')}/{resource.get('id')}")


def source_of(resource: JSON) -> str | None:
    """The source id a merged resource was tagged with, or None."""
    for tag in (resource.get("meta") or {}).get("tag") or []:
        if isinstance(tag, dict) and tag.get("system") == SOURCE_TAG_SYSTEM:
            code = tag.get("code")
            return str(code) if code else None
    return None


def clinical_day(resource: JSON) -> date | None:
    for name, part in _DATE_FIELDS:
        value = resource.get(name)
        if part is not None:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and len(value) >= 10:
            found = full_date(value[:10])
            if found is not None:
                return found
    return None


def _codings(concept: Any) -> frozenset[tuple[str, str]]:
    if not isinstance(concept, dict):
        return frozenset()
    return frozenset(
        (str(c.get("system", "")), str(c["code"]))
        for c in concept.get("coding") or []
        if isinstance(c, dict) and c.get("code")
    )


def concept_codes(resource: JSON) -> frozenset[tuple[str, str]]:
    return _codings(resource.get(_CODE_FIELD.get(str(resource.get("resourceType")), "code")))


def _value_of(holder: JSON) -> object:
    quantity = holder.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        unit = str(quantity.get("code") or quantity.get("unit") or "").casefold()
        return ("q", round(float(quantity["value"]), 6), unit)
    if "valueCodeableConcept" in holder:
        return ("c", _codings(holder["valueCodeableConcept"]))
    for key in ("valueString", "valueBoolean", "valueInteger", "valueDateTime"):
        if key in holder:
            return (key, holder[key])
    return None


def value_key(resource: JSON) -> object:
    """The value two copies of one fact must share; None for value-less resources."""
    components = tuple(
        sorted(
            (sorted(_codings(c.get("code"))), repr(_value_of(c)))
            for c in resource.get("component") or []
            if isinstance(c, dict)
        )
    )
    return (_value_of(resource), components)


def _rekey(value: Any, prefix: str, own_patient: str, clinic_patient: str) -> Any:
    """Re-write relative references of a secondary source's resource (a deep copy)."""
    if isinstance(value, list):
        return [_rekey(v, prefix, own_patient, clinic_patient) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _rekey(v, prefix, own_patient, clinic_patient) for k, v in value.items()}
    reference = value.get("reference")
    if isinstance(reference, str) and reference.count("/") == 1 and "://" not in reference:
        kind, rid = reference.split("/")
        if kind == "Patient" and rid == own_patient:
            out["reference"] = f"Patient/{clinic_patient}"
        else:
            out["reference"] = f"{kind}/{prefix}{rid}"
    return out


def tag(resource: JSON, source: Source) -> JSON:
    """A copy of `resource` carrying its source in meta.tag and meta.source."""
    tagged = copy.deepcopy(resource)
    meta = tagged.setdefault("meta", {})
    tags = [
        t
        for t in meta.get("tag") or []
        if not (isinstance(t, dict) and t.get("system") == SOURCE_TAG_SYSTEM)
    ]
    tags.append({"system": SOURCE_TAG_SYSTEM, "code": source.id, "display": source.name})
    meta["tag"] = tags
    meta["source"] = f"#{source.id}"
    return tagged


@dataclass(slots=True)
class _Kept:
    resource: JSON
    source: Source
    codes: frozenset[tuple[str, str]]
    value: object
    also_in: list[str] = field(default_factory=list)
    conflicting: list[JSON] = field(default_factory=list)


def _prepared(chart: SourceChart, clinic_patient: str) -> list[JSON]:
    source = chart.source
    out: list[JSON] = []
    for resource in chart.resources:
        if source.primary:
            out.append(tag(resource, source))
            continue
        if resource.get("resourceType") == "Patient":
            continue
        prefix = f"{source.id}."
        rekeyed = _rekey(resource, prefix, chart.patient_id, clinic_patient)
        rekeyed["id"] = f"{prefix}{resource.get('id', '')}"[:64]
        out.append(tag(rekeyed, source))
    return out


def merge_charts(
    charts: Sequence[SourceChart], failures: Sequence[SourceFailure] = ()
) -> MergedChart:
    """Merge the primary chart with linked secondary charts (see the module's rules).

    `failures` are linked sources that could not be read: named in warnings(), never fatal.
    """
    primaries = [c for c in charts if c.source.primary]
    if len(primaries) != 1:
        raise ValueError("merge_charts needs exactly one primary source's chart")
    clinic_patient = primaries[0].patient_id
    ordered = sorted(charts, key=lambda c: (not c.source.primary, c.source.priority, c.source.id))
    screened: list[JSON] = []
    provenance: dict[str, Provenance] = {}
    kept_by_day: dict[tuple[str, date], list[_Kept]] = {}
    all_kept: list[_Kept] = []
    dropped = 0
    for chart in ordered:
        for resource in _prepared(chart, clinic_patient):
            day = clinical_day(resource)
            codes = concept_codes(resource)
            kind = str(resource.get("resourceType"))
            candidate = _Kept(resource, chart.source, codes, value_key(resource))
            if day is None or not codes:
                screened.append(resource)
                all_kept.append(candidate)
                continue
            same_day = kept_by_day.setdefault((kind, day), [])
            twin = next(
                (k for k in same_day if k.source.id != chart.source.id and k.codes & codes),
                None,
            )
            if twin is not None and twin.value == candidate.value:
                twin.also_in.append(chart.source.name)
                dropped += 1
                continue
            if twin is not None:
                twin.conflicting.append(resource)
                continue
            same_day.append(candidate)
            screened.append(resource)
            all_kept.append(candidate)
    conflicts: list[Conflict] = []
    for kept in all_kept:
        day = clinical_day(kept.resource)
        key = f"{kept.resource.get('resourceType')}/{kept.resource.get('id')}"
        provenance[key] = Provenance(
            kept.source.id, kept.source.name, day, tuple(dict.fromkeys(kept.also_in))
        )
        if kept.conflicting:
            others = []
            for other in kept.conflicting:
                marked = dict(other)
                marked["extension"] = [
                    *(other.get("extension") or []),
                    {"url": CONFLICT_EXTENSION_URL, "valueString": key},
                ]
                others.append(marked)
                other_source = source_of(other) or ""
                name = next((c.source.name for c in charts if c.source.id == other_source), "")
                provenance[f"{other.get('resourceType')}/{other.get('id')}"] = Provenance(
                    other_source, name, day
                )
            conflicts.append(Conflict(kept.resource, tuple(others)))
    return MergedChart(
        screened=screened,
        conflicts=conflicts,
        provenance=provenance,
        duplicates_dropped=dropped,
        sources_read=[c.source for c in ordered],
        read_at={c.source.id: c.read_at for c in ordered if c.read_at is not None},
        failures=list(failures),
    )
