"""Measure mode after a batch: individual MeasureReports for every patient of the job.

Reads each patient's chart as the batch stored it (the same fetch the prep sheet used), runs
every CMS measure for a calendar-year measurement period and writes
``DIR/<patient id>/<CMS id>.json``. Files and folders are private to the user (they hold patient
references); the audit entry holds counts and references, no PHI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from healthprep_desktop.screening.measures import MeasurementPeriod, evaluate_measures
from healthprep_desktop.screening.measures.report import measure_report
from healthprep_desktop.store import AuditAction, TenantScope
from healthprep_desktop.workers.private_files import make_private_dir, write_private_json


@dataclass(slots=True)
class MeasureRun:
    patients: int = 0
    reports: int = 0
    missing_charts: list[str] = field(default_factory=list)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # patient -> CMS -> text
    in_population: dict[str, int] = field(default_factory=dict)  # CMS -> patients in IPP
    seconds: float = 0.0


def _safe_name(patient_id: str) -> str:
    # FHIR ids are [A-Za-z0-9-.]; anything else (or a dot-only name) must not walk the tree.
    cleaned = "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in patient_id)
    return cleaned if cleaned.strip(".") else "_"


def write_measure_reports(
    scope: TenantScope,
    connection_id: int,
    patient_ids: list[str],
    year: int,
    out: Path,
) -> MeasureRun:
    period = MeasurementPeriod.calendar_year(year)
    run = MeasureRun()
    started = time.perf_counter()
    make_private_dir(out)
    for patient_id in patient_ids:
        stored = scope.records.get(connection_id, patient_id)
        if stored is None:
            run.missing_charts.append(patient_id)
            continue
        chart = stored.record
        result = evaluate_measures(chart.get("patient") or {}, chart.get("resources") or [], period)
        run.patients += 1
        if result.errors:
            run.errors[patient_id] = dict(result.errors)
        folder = out / _safe_name(patient_id)
        make_private_dir(folder)
        for cms, outcomes in result.outcomes.items():
            report = measure_report(cms, patient_id, period, outcomes)
            write_private_json(folder / f"{cms}.json", report, indent=1, sort_keys=False)
            run.reports += 1
            if any(p["count"] for g in report["group"] for p in g["population"][:1]):
                run.in_population[cms] = run.in_population.get(cms, 0) + 1
    run.seconds = time.perf_counter() - started
    scope.audit(
        AuditAction.EXPORT,
        resource_ids=tuple(f"Patient/{p}" for p in patient_ids if p not in run.missing_charts),
        detail=f"measure mode {year}: {run.reports} MeasureReports for {run.patients} patients",
    )
    return run


def describe(run: MeasureRun, out: Path) -> list[str]:
    lines = [
        f"Wrote {run.reports} MeasureReports for {run.patients} patients to {out} "
        f"in {run.seconds:.2f} s"
    ]
    if run.in_population:
        counts = ", ".join(f"{cms} {n}" for cms, n in sorted(run.in_population.items()))
        lines.append(f"Patients in the initial population: {counts}")
    if run.missing_charts:
        lines.append(f"No fetched chart for {len(run.missing_charts)} patient(s): not reported")
    for patient_id, errors in sorted(run.errors.items()):
        for cms, text in sorted(errors.items()):
            lines.append(f"  {patient_id} {cms}: could not be computed ({text})")
    return lines


__all__ = ["MeasureRun", "describe", "write_measure_reports"]
