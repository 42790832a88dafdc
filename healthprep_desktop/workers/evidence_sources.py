"""Provenance for the sheet, the results JSON and the viewer: which source each evidence came from.

Built in the batch from a merged chart (sources.merge) and sent with the screening task to the
process pool, where it labels the results before the sheet is drawn:
- the checklist's evidence line of a screening decided by an outside record ends with the
  source: "Colonoscopy on 2024-12-01 · St Mary's Hospital";
- every evidence item in the stored results (and so in ``--json`` and the viewer) carries
  ``source`` (and ``also_in`` when another source held the same fact);
- the footer lists the sources read and their freshness, in the clinic's time zone;
- a fact two sources hold with different values on one day (a conflict) is shown with both: the
  line of the value used ends "· St Mary's Hospital had 8.1 %", and the evidence item carries
  ``conflicts`` (the priority source's value is the one screened).
Only the secondary sources' references travel (a chart's own evidence is the primary's), so the
task stays small. No Qt, no store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from healthprep_desktop.clinic_zone import clinic_zone
from healthprep_desktop.screening.model import ScreeningResult
from healthprep_desktop.sources.merge import Conflict, MergedChart, source_of
from healthprep_desktop.sources.model import Source

SEPARATOR = " \u00b7 "  # " · "


@dataclass(frozen=True, slots=True)
class EvidenceSources:
    primary: str  # the clinic's EHR, as the sheet names it
    secondary: dict[str, str]  # evidence reference ("Procedure/stmarys.p1") -> source name
    also_in: dict[str, tuple[str, ...]] = field(default_factory=dict)  # same fact elsewhere
    read: tuple[tuple[str, datetime | None], ...] = ()  # (source name, read at), primary first
    # evidence reference of the value used -> "St Mary's Hospital had 8.1 %" per other value
    conflicts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def source_of(self, reference: str) -> str:
        return self.secondary.get(reference, self.primary)

    def footer(self, tz: str | None) -> str:
        """ "Demo clinic (sandbox) + St Mary's Hospital (read 07:55) + ..." in the clinic's zone."""
        zone = clinic_zone(tz)
        parts = []
        for index, (name, when) in enumerate(self.read):
            if index == 0 or when is None:
                parts.append(name)  # the primary's time is the footer's "Data fetched ..."
            else:
                parts.append(f"{name} (read {when.astimezone(zone):%H:%M})")
        return " + ".join(parts) or self.primary


def evidence_sources(merged: MergedChart, primary: Source) -> EvidenceSources:
    secondary = {
        ref: p.source_name for ref, p in merged.provenance.items() if p.source_id != primary.id
    }
    also_in = {ref: p.also_in for ref, p in merged.provenance.items() if p.also_in}
    read = tuple((s.name, merged.read_at.get(s.id)) for s in merged.sources_read)
    names = {s.id: s.name for s in merged.sources_read}
    conflicts = {
        f"{c.used.get('resourceType')}/{c.used.get('id')}": _conflict_lines(c, names, primary)
        for c in merged.conflicts
    }
    return EvidenceSources(primary.name, secondary, also_in, read, conflicts)


def value_text(resource: dict[str, Any]) -> str:
    """A resource's value as a person reads it: "8.1 %", "positive", "yes"; "" when none."""
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        unit = str(quantity.get("unit") or quantity.get("code") or "")
        return (
            f"{quantity['value']:g} {unit}".strip()
            if isinstance(quantity["value"], int | float)
            else str(quantity["value"])
        )
    concept = resource.get("valueCodeableConcept")
    if isinstance(concept, dict):
        codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
        return str(concept.get("text") or next((c.get("display") for c in codings), "") or "")
    for key in ("valueString", "valueInteger", "valueDateTime"):
        if key in resource:
            return str(resource[key])
    if "valueBoolean" in resource:
        return "yes" if resource["valueBoolean"] else "no"
    return ""


def _conflict_lines(conflict: Conflict, names: dict[str, str], primary: Source) -> tuple[str, ...]:
    lines = []
    for other in conflict.others:
        source = source_of(other)
        name = names.get(source or "", primary.name if source in (None, primary.id) else source)
        value = value_text(other) or "a different value"
        lines.append(f"{name} had {value}")
    return tuple(lines)


def label_results(
    results: Sequence[ScreeningResult], sources: EvidenceSources
) -> list[ScreeningResult]:
    """Each result whose deciding evidence is an outside record names that source; evidence
    another source contradicts says what that source had."""
    out = []
    for result in (_with_conflicts(r, sources) for r in results):
        outside = [
            e
            for e in result.evidence
            if e.reference in sources.secondary and e.reference not in result.dismissed
        ]
        if not outside:
            out.append(result)
            continue
        deciding = next((e for e in outside if e.date == result.last_done), outside[0])
        name = sources.secondary[deciding.reference]
        if name in result.explanation:
            out.append(result)
            continue
        out.append(
            dataclasses.replace(result, explanation=f"{result.explanation}{SEPARATOR}{name}")
        )
    return out


def _with_conflicts(result: ScreeningResult, sources: EvidenceSources) -> ScreeningResult:
    if not sources.conflicts:
        return result
    notes = [
        line
        for e in result.evidence
        if e.reference not in result.dismissed
        for line in sources.conflicts.get(e.reference, ())
        if line not in result.explanation
    ]
    if not notes:
        return result
    return dataclasses.replace(
        result, explanation=result.explanation + "".join(SEPARATOR + n for n in notes)
    )


def label_results_json(results_json: list[dict[str, Any]], sources: EvidenceSources) -> None:
    """Every evidence item gets its ``source`` (and ``also_in``), in place."""
    for result in results_json:
        for item in result.get("evidence") or []:
            reference = str(item.get("reference", ""))
            item["source"] = sources.source_of(reference)
            also = sources.also_in.get(reference)
            if also:
                item["also_in"] = list(also)
            conflicts = sources.conflicts.get(reference)
            if conflicts:
                item["conflicts"] = list(conflicts)
