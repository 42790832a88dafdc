"""Individual MeasureReports (FHIR R4) from measure outcomes, one per patient and measure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from healthprep_desktop.paths import resources_dir
from healthprep_desktop.screening.measures.base import GroupOutcome, MeasurementPeriod
from healthprep_desktop.screening.measures.populations import counts

POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"


@dataclass(frozen=True, slots=True)
class PopulationDef:
    id: str | None
    code: str
    criteria: str


@dataclass(frozen=True, slots=True)
class GroupDef:
    id: str
    basis: str  # "boolean" or a resource type (episode-based)
    populations: tuple[PopulationDef, ...]
    stratifiers: tuple[tuple[str | None, str], ...]  # (id, criteria)


@dataclass(frozen=True, slots=True)
class MeasureDef:
    cms: str
    url: str
    version: str | None
    title: str
    source: str
    groups: tuple[GroupDef, ...]


@cache
def measure_defs() -> dict[str, MeasureDef]:
    """The Measure resources' shape (resources/measures/measures.json, from ../shared)."""
    raw = json.loads((resources_dir() / "measures" / "measures.json").read_text(encoding="utf-8"))
    out: dict[str, MeasureDef] = {}
    for cms, m in raw.items():
        out[cms] = MeasureDef(
            cms=cms,
            url=m["url"],
            version=m.get("version"),
            title=m.get("title") or cms,
            source=m.get("source", ""),
            groups=tuple(
                GroupDef(
                    id=g["id"],
                    basis=g.get("basis", "boolean"),
                    populations=tuple(
                        PopulationDef(p.get("id"), p["code"], p["criteria"])
                        for p in g["populations"]
                    ),
                    stratifiers=tuple(
                        (s.get("id"), s["criteria"]) for s in g.get("stratifiers", [])
                    ),
                )
                for g in m["groups"]
            ),
        )
    return out


def _concept(code: str) -> dict[str, Any]:
    return {"coding": [{"system": POPULATION_SYSTEM, "code": code}]}


def _stratifier(
    sid: str | None, criteria: str, outcome: GroupOutcome, tally: dict[str, int], group: GroupDef
) -> dict[str, Any]:
    """One stratifier of an individual report: the patient's stratum ("true" when the
    patient belongs to it) with the group's populations counted inside it."""
    inside = bool(outcome.strata.get(criteria))
    stratum = {
        "value": {"text": "true" if inside else "false"},
        "population": [
            {"code": _concept(pop.code), "count": tally[pop.code] if inside else 0}
            for pop in group.populations
        ],
    }
    entry: dict[str, Any] = {"code": [{"text": criteria}], "stratum": [stratum]}
    if sid:
        entry["id"] = sid
    return entry


def measure_report(
    cms: str,
    patient_id: str,
    period: MeasurementPeriod,
    outcomes: list[GroupOutcome],
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One individual MeasureReport for a patient."""
    definition = measure_defs()[cms]
    if len(outcomes) != len(definition.groups):
        raise ValueError(f"{cms}: {len(outcomes)} outcomes for {len(definition.groups)} groups")
    groups = []
    evaluated: list[str] = []
    for group, outcome in zip(definition.groups, outcomes, strict=True):
        tally = counts(outcome)
        populations = []
        for pop in group.populations:
            entry: dict[str, Any] = {"code": _concept(pop.code), "count": tally[pop.code]}
            if pop.id:
                entry["id"] = pop.id
            populations.append(entry)
        data: dict[str, Any] = {"id": group.id, "population": populations}
        if group.stratifiers:
            data["stratifier"] = [
                _stratifier(sid, criteria, outcome, tally, group)
                for sid, criteria in group.stratifiers
            ]
        denominator = (
            tally["denominator"] - tally["denominator-exclusion"] - tally["denominator-exception"]
        )
        if group.basis == "boolean" and denominator > 0:
            data["measureScore"] = {
                "value": (tally["numerator"] - tally["numerator-exclusion"]) / denominator
            }
        groups.append(data)
        for refs in outcome.evidence.values():
            evaluated.extend(r for r in refs if r not in evaluated)
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": f"{cms.lower()}-{patient_id}"[:64],
        "status": "complete",
        "type": "individual",
        "measure": definition.url,
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": stamp,
        "period": {"start": period.first_day.isoformat(), "end": period.last_day.isoformat()},
        "group": groups,
    }
    if evaluated:
        report["evaluatedResource"] = [{"reference": r} for r in evaluated]
    return report


__all__ = ["GroupDef", "MeasureDef", "PopulationDef", "measure_defs", "measure_report"]
