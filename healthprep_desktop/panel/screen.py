"""One panel patient through the screening engine and measure mode, in a pool worker.

The same engine the batch runs (``evaluate`` then ``refine``, with the clinic's library, options,
dismissals and entries), without rendering a sheet: a panel wants statuses, not PDFs. Measure
mode runs for the current and the previous calendar year so a coordinator can compare.
Resources are validated with the R4B models here, as the per-patient fetch validates them, so
both paths screen the same chart; the work is CPU-bound and this runs in the process pool.
Document attachments are not read for the panel (coded data only): see docs/panel.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from healthprep_desktop.fhir.parsing import check_resource
from healthprep_desktop.screening.library import Library, library_from_json
from healthprep_desktop.screening.measures import MeasurementPeriod
from healthprep_desktop.screening.measures.base import MeasureContext
from healthprep_desktop.screening.measures.chart import Chart
from healthprep_desktop.screening.measures.populations import counts
from healthprep_desktop.screening.measures.registry import MEASURES
from healthprep_desktop.screening.measures.report import measure_defs
from healthprep_desktop.screening.model import ScreeningResult
from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.screening.visit_status import UserEntry, refine
from healthprep_desktop.store.repos.panel_results import MeasureCounts
from healthprep_desktop.workers.cpu import status_counts

JSON = dict[str, Any]
PANEL_FORMAT = 1


@dataclass(frozen=True, slots=True)
class PanelTask:
    patient: JSON
    resources: list[JSON]
    as_of: date
    years: tuple[int, ...]  # measurement periods (calendar years)
    library_json: str | None = None
    library_hash: str = "default"
    due_soon_days: int | None = None
    dismissed: tuple[tuple[str, str], ...] = ()
    entries: tuple[UserEntry, ...] = ()
    tz: str | None = None
    # Bulk files arrive unchecked; the per-patient fetch has validated its resources already.
    validate: bool = True


@dataclass(frozen=True, slots=True)
class PanelOutput:
    patient_id: str
    envelope: JSON  # {"format", "as_of", "summary", "results", "warnings"}: a sheet's results
    measures: MeasureCounts
    invalid: int  # resources dropped as invalid
    seconds: float
    measure_errors: dict[str, str] = field(default_factory=dict)  # "2026 CMS125" -> no PHI


def _library(task: PanelTask) -> Library:
    return library_from_json(task.library_json, task.library_hash)


def _group_ids(cms: str) -> list[str]:
    groups = measure_defs().get(cms)
    if groups is None:
        return []
    return [g.id for g in groups.groups]


class _PanelChart(Chart):
    """The measure chart, shared by both measurement years: a retrieve does not depend on the
    period, so each (type, value sets) is worked out once per patient instead of once per
    measure and year (about a third of measure mode's time)."""

    def __init__(self, patient: JSON, resources: list[JSON]) -> None:
        super().__init__(patient, resources)
        self._retrieved: dict[tuple[str, tuple[str, ...]], list[JSON]] = {}

    def retrieve(self, resource_type: str, *oids: str) -> list[JSON]:
        key = (resource_type, oids)
        found = self._retrieved.get(key)
        if found is None:
            found = self._retrieved[key] = super().retrieve(resource_type, *oids)
        return list(found)  # callers may sort or filter their copy


def panel_measures(
    patient: JSON, resources: list[JSON], years: tuple[int, ...]
) -> tuple[MeasureCounts, dict[str, str]]:
    """Population counts per year, CMS id and group: what ``evaluate_measures`` computes for
    each year (tests/panel compare the two), with one chart for every year."""
    chart = _PanelChart(patient, resources)
    measures: MeasureCounts = {}
    errors: dict[str, str] = {}
    for year in years:
        period = MeasurementPeriod.calendar_year(year)
        per_cms: dict[str, dict[str, dict[str, int]]] = {}
        for cms, spec in MEASURES.items():
            try:
                outcomes = spec.evaluate(MeasureContext(chart, period, spec.edition))
            except Exception as exc:  # a malformed resource must not sink the other measures
                errors[f"{year} {cms}"] = f"{type(exc).__name__} while evaluating {cms}"
                continue
            ids = _group_ids(cms) or [f"group-{i + 1}" for i in range(len(outcomes))]
            per_cms[cms] = {
                gid: counts(outcome) for gid, outcome in zip(ids, outcomes, strict=False)
            }
        measures[str(year)] = per_cms
    return measures, errors


def result_json(result: ScreeningResult) -> JSON:
    """``ScreeningResult.to_json()`` without ``asdict``'s deep copies (a sixth of a panel
    patient's time); tests/panel check that both give the same."""
    data: JSON = {f.name: getattr(result, f.name) for f in fields(result)}
    data["status"] = result.status.value
    for key in ("last_done", "next_due"):
        value = data[key]
        data[key] = value.isoformat() if value else None
    data["evidence"] = [
        {
            **{f.name: getattr(e, f.name) for f in fields(e)},
            "kind": e.kind.value,
            "date": e.date.isoformat() if e.date else None,
        }
        for e in result.evidence
    ]
    data["dismissed"] = list(result.dismissed)
    data["flags"] = list(result.flags)
    return data


def screen_panel_patient(task: PanelTask) -> PanelOutput:
    started = time.perf_counter()
    kept: list[JSON] = []
    warnings: list[str] = []
    for resource in task.resources:
        problem = check_resource(resource) if task.validate else None
        if problem is None:
            kept.append(resource)
        else:
            warnings.append(problem.describe())
    record = PatientRecord(patient=task.patient, resources=kept)
    library = _library(task)
    from healthprep_desktop.screening.engine import evaluate

    results = evaluate(
        record,
        task.as_of,
        library,
        due_soon_days=task.due_soon_days,
        dismissed=task.dismissed,
        tz=task.tz,
    )
    results = refine(
        results,
        record,
        task.as_of,
        library,
        entries=task.entries,
        due_soon_days=task.due_soon_days,
    )
    measures, errors = panel_measures(task.patient, kept, task.years)
    envelope: JSON = {
        "format": PANEL_FORMAT,
        "as_of": task.as_of.isoformat(),
        "summary": status_counts(results),
        "results": [result_json(r) for r in results],
        "warnings": warnings,
    }
    return PanelOutput(
        patient_id=str(task.patient.get("id") or ""),
        envelope=envelope,
        measures=measures,
        invalid=len(warnings),
        seconds=time.perf_counter() - started,
        measure_errors=errors,
    )


def measure_ids() -> list[str]:
    return sorted(MEASURES)


__all__ = ["PANEL_FORMAT", "PanelOutput", "PanelTask", "measure_ids", "screen_panel_patient"]
