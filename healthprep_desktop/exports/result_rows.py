"""Where exported results come from (a clinic day's newest sheets, or the stored panel) and how
one patient's envelope becomes rows: one per screening (columns.RESULTS).

Both sources are generators: the panel is paged from the store (``scope.panel.iter``), so only
one patient's envelope and chart are in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from healthprep_desktop.exports.chart_facts import ChartFacts
from healthprep_desktop.exports.columns import Row
from healthprep_desktop.store import TenantScope
from healthprep_desktop.store.repos.panel_results import MeasureCounts


@dataclass(frozen=True, slots=True)
class PatientResults:
    """One patient's stored screening envelope (``{"as_of", "summary", "results": [...]}``)."""

    patient_id: str
    connection_id: int | None
    envelope: dict[str, Any]
    measures: MeasureCounts = field(default_factory=dict)


def day_results(scope: TenantScope, day: date) -> Iterator[PatientResults]:
    """The newest sheet per patient of the clinic day (a rerun leaves older sheets behind), in
    patient-id order. A day is at most a few hundred sheets, listed once without their PDFs."""
    newest: dict[str, int] = {}
    for listed in scope.sheets.all(clinic_day=day):
        newest[listed.patient_id] = max(newest.get(listed.patient_id, 0), listed.id)
    jobs: dict[int, int | None] = {}
    for patient_id in sorted(newest):
        info = scope.sheets.info(newest[patient_id])
        if info is None:  # deleted meanwhile
            continue
        connection_id = None
        if info.job_id is not None:
            if info.job_id not in jobs:
                job = scope.jobs.get(info.job_id)
                jobs[info.job_id] = job.connection_id if job else None
            connection_id = jobs[info.job_id]
        envelope = info.results if isinstance(info.results, dict) else {}
        yield PatientResults(patient_id, connection_id, envelope)


def panel_results(scope: TenantScope, connection_id: int) -> Iterator[PatientResults]:
    for stored in scope.panel.iter(connection_id):
        envelope = stored.results if isinstance(stored.results, dict) else {}
        yield PatientResults(stored.patient_id, connection_id, envelope, stored.measures)


def result_rows(patient: PatientResults, facts: ChartFacts, default_source: str) -> Iterator[Row]:
    """One identified row per screening of the patient's envelope."""
    person = facts.patient
    as_of = _date(patient.envelope.get("as_of"))
    common: Row = {
        "patient_id": patient.patient_id,
        "mrn": person.mrn,
        "name": person.name,
        "birth_date": person.birth_date,
        "phone": person.phone,
        "age": person.age_on(as_of or date.today()),
        "sex": person.sex,
        "postal_code": person.postal_code,
        "as_of": as_of,
    }
    items = patient.envelope.get("results")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        references = [
            str(e.get("reference"))
            for e in item.get("evidence") or []
            if isinstance(e, dict) and e.get("reference")
        ]
        yield {
            **common,
            "screening_id": item.get("screening_id"),
            "screening": item.get("name"),
            "status": item.get("status"),
            "reason": item.get("reason"),
            "last_done": _date(item.get("last_done")),
            "next_due": _date(item.get("next_due")),
            "flags": [str(f) for f in item.get("flags") or []],
            "source": _evidence_source(item, facts, references, default_source),
        }


def _evidence_source(
    item: dict[str, Any], facts: ChartFacts, references: list[str], default: str
) -> str:
    # Evidence may name its source itself (multi-source results); else the chart's tags say.
    named = sorted(
        {
            str(e["source"])
            for e in item.get("evidence") or []
            if isinstance(e, dict) and isinstance(e.get("source"), str) and e["source"]
        }
    )
    return "; ".join(named) if named else facts.source_of(references, default)


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


__all__ = ["PatientResults", "day_results", "panel_results", "result_rows"]
