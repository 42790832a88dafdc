"""One export: stored results of a clinic day or of the panel, as CSV, JSON Lines or Parquet,
identified or de-identified, with the optional summary and completeness tables.

Everything is done in one pass over the patients: each patient's envelope and stored chart are
read once, turned into rows as the writer asks for them, and counted for the summary and the
completeness report on the way. Those two are small aggregates written after the rows.

Files (``prefix`` is "deidentified-" for a de-identified export, so both can share a folder):
``<prefix>results.<ext>``, ``<prefix>summary-status.<ext>``, ``<prefix>summary-measures.<ext>``,
``<prefix>completeness.<ext>`` and, de-identified, ``deidentification.json`` (what was done).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from healthprep_desktop.exports import columns
from healthprep_desktop.exports.chart_facts import chart_facts
from healthprep_desktop.exports.completeness import Completeness
from healthprep_desktop.exports.deidentify import Deidentifier, clinic_key
from healthprep_desktop.exports.result_rows import (
    PatientResults,
    day_results,
    panel_results,
    result_rows,
)
from healthprep_desktop.exports.summary import MeasureLine, MeasureTotals, StatusCounter
from healthprep_desktop.exports.writers import Format, write_table
from healthprep_desktop.store import AuditAction, Outcome, TenantScope
from healthprep_desktop.workers.private_files import make_private_dir, write_private_json

DEID_PREFIX = "deidentified-"
REPORT_NAME = "deidentification.json"
UNKNOWN_SOURCE = "unknown source"


@dataclass(frozen=True, slots=True)
class ExportRequest:
    fmt: Format
    out: Path
    day: date | None = None  # a clinic day's newest sheets ...
    connection_id: int | None = None  # ... or this connection's stored panel
    deidentify: bool = False
    summary: bool = False
    completeness: bool = False

    def __post_init__(self) -> None:
        if (self.day is None) == (self.connection_id is None):
            raise ValueError("an export is of one clinic day or of one connection's panel")

    @property
    def what(self) -> str:
        """What is exported, without PHI (for the audit log and messages)."""
        if self.day is not None:
            return f"clinic day {self.day.isoformat()}"
        return f"panel of connection {self.connection_id}"


@dataclass(frozen=True, slots=True)
class ExportResult:
    files: list[Path]
    patients: int
    rows: int
    counts: dict[str, int] = field(default_factory=dict)  # file name -> rows


def run_export(
    scope: TenantScope,
    request: ExportRequest,
    *,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the export's files into ``request.out`` (made 0700 when new) and audit it."""
    make_private_dir(request.out)
    names = {c.id: c.name for c in scope.connections.all()}
    status, measures, completeness = StatusCounter(), MeasureTotals(), Completeness()
    deid = Deidentifier(clinic_key(scope)) if request.deidentify else None
    seen = 0

    def rows() -> Iterator[columns.Row]:
        nonlocal seen
        for patient in _source(scope, request):
            seen += 1
            if patient.connection_id is None and len(names) == 1:
                # A sheet made outside a batch job names no connection; a clinic with a single
                # connection has only one place its chart can have come from.
                patient = replace(patient, connection_id=next(iter(names)))
            chart = _chart(scope, patient)
            default = names.get(patient.connection_id or 0) or UNKNOWN_SOURCE
            status.add(patient.envelope)
            measures.add(patient.measures)
            if request.completeness:
                completeness.add(chart, default)
            for row in result_rows(patient, chart_facts(chart), default):
                yield deid.row(row) if deid else row
            if progress is not None:
                progress(seen)

    try:
        files, counts = _write(request, rows(), status, measures, completeness, deid)
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the export's own error is the one to report
            scope.audit(
                AuditAction.EXPORT,
                outcome=Outcome.FAILURE,
                detail=f"{request.what}: failed after {seen} patients ({type(exc).__name__})",
            )
        raise
    total = counts[files[0].name]
    scope.audit(
        AuditAction.EXPORT,
        detail=(
            f"{request.what}: {total} result rows for {seen} patients as {request.fmt.value}"
            f"{', de-identified (Safe Harbor)' if deid else ''}"
            f"{', with summary' if request.summary else ''}"
            f"{', with completeness' if request.completeness else ''}"
        ),
    )
    return ExportResult(files=files, patients=seen, rows=total, counts=counts)


def _write(
    request: ExportRequest,
    rows: Iterator[columns.Row],
    status: StatusCounter,
    measures: MeasureTotals,
    completeness: Completeness,
    deid: Deidentifier | None,
) -> tuple[list[Path], dict[str, int]]:
    """The results file first (its pass fills the counters), then the small tables."""
    prefix = DEID_PREFIX if deid else ""
    table = columns.DEIDENTIFIED_RESULTS if deid else columns.RESULTS
    counts: dict[str, int] = {}
    path, total = write_table(rows, table, request.fmt, request.out, prefix=prefix)
    files = [path]
    counts[path.name] = total
    if request.summary:
        path, n = write_table(
            _status_rows(status), columns.STATUS_SUMMARY, request.fmt, request.out, prefix=prefix
        )
        files.append(path)
        counts[path.name] = n
        lines = [line for year in measures.years() for line in measures.lines(year)]
        path, n = write_table(
            (_measure_row(line) for line in lines),
            columns.MEASURE_SUMMARY,
            request.fmt,
            request.out,
            prefix=prefix,
        )
        files.append(path)
        counts[path.name] = n
    if request.completeness:
        table = columns.DEIDENTIFIED_COMPLETENESS if deid else columns.COMPLETENESS
        path, n = write_table(
            completeness.rows(years_only=deid is not None),
            table,
            request.fmt,
            request.out,
            prefix=prefix,
        )
        files.append(path)
        counts[path.name] = n
    if deid is not None:
        # The clinic day is a visit date of every patient in it: the report names its year only.
        what = f"a clinic day in {request.day.year}" if request.day else request.what
        report = {**deid.report(), "exported": what, "files": counts}
        write_private_json(request.out / REPORT_NAME, report)
        files.append(request.out / REPORT_NAME)
    return files, counts


def _source(scope: TenantScope, request: ExportRequest) -> Iterator[PatientResults]:
    if request.day is not None:
        return day_results(scope, request.day)
    assert request.connection_id is not None  # __post_init__
    return panel_results(scope, request.connection_id)


def _chart(scope: TenantScope, patient: PatientResults) -> dict[str, object] | None:
    if patient.connection_id is None:
        return None
    stored = scope.records.get(patient.connection_id, patient.patient_id)
    return stored.record if stored is not None else None


def _status_rows(counter: StatusCounter) -> Iterator[columns.Row]:
    for screening, by_status in counter.counts().items():
        for status, patients in by_status.items():
            yield {"screening_id": screening, "status": status, "patients": patients}


def _measure_row(line: MeasureLine) -> columns.Row:
    row: columns.Row = {
        "cms": line.cms,
        "title": line.title,
        "year": line.year,
        "group": line.group,
        "performance_rate": line.performance_rate,
    }
    for column in columns.MEASURE_SUMMARY.columns[4:-1]:
        row[column.name] = line.populations.get(column.name.replace("_", "-"), 0)
    return row


__all__ = ["DEID_PREFIX", "REPORT_NAME", "ExportRequest", "ExportResult", "run_export"]
