"""Re-screen one patient from the chart already on this computer: no EHR, no network.

A user's correction (a dismissed document match, a screening done elsewhere / declined /
postponed) changes the screening but not the chart. The batch keeps each patient's last fetched
chart (``scope.records``) and the documents' extracted text (``scope.text_cache``), so the sheet
can be screened and rendered again at once, offline, with the clinic's library and options
and the patient's dismissals and entries, exactly as the batch does it (``cpu.prepare_patient``).

Blocking (screening and rendering one sheet takes a fraction of a second): the window calls
``rescreen_from_store`` in a thread. The new sheet replaces the day's latest; the previous one
stays in the store. Audited like the batch (screen + generate_sheet, references only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from healthprep_desktop.screening.record import PatientRecord
from healthprep_desktop.settings import Settings
from healthprep_desktop.store import AuditAction, Store, TenantScope
from healthprep_desktop.store.repos.patient_records import StoredRecord
from healthprep_desktop.workers.batch_sheet import SHEET_FORMAT
from healthprep_desktop.workers.batch_support import RunContext
from healthprep_desktop.workers.chart import document_from_prior
from healthprep_desktop.workers.cpu import PrepareTask, prepare_patient
from healthprep_desktop.workers.job_steps import dismissed_pairs, job_options, user_entries
from healthprep_desktop.workers.rescreen_sources import secondary_ids, with_stored_sources


@dataclass(frozen=True, slots=True)
class Rescreened:
    sheet_id: int
    summary: dict[str, int]
    missing_documents: int  # documents whose text is no longer in the cache (left out)


class NoStoredChart(ValueError):
    """The patient's chart was never fetched on this computer: Prepare fetches it."""


def latest_chart(scope: TenantScope, patient_id: str) -> StoredRecord | None:
    """The patient's newest chart from the clinic's own EHR connections (a secondary source's
    charts are kept under that organization's ids: never taken for the clinic's patient)."""
    outside = secondary_ids(scope)
    found = [
        stored
        for connection in scope.connections.all()
        if connection.id not in outside
        and (stored := scope.records.get(connection.id, patient_id)) is not None
    ]
    return max(found, key=lambda s: s.fetched_at) if found else None


def record_from_store(scope: TenantScope, stored: StoredRecord) -> tuple[PatientRecord, int]:
    """The PatientRecord the batch screened, rebuilt from the stored chart and text cache."""
    documents = []
    missing = 0
    for prior in stored.record.get("documents") or []:
        if not isinstance(prior, dict) or not prior.get("content_hash"):
            continue
        text = scope.text_cache.get(str(prior["content_hash"]))
        if text is None:
            missing += 1
            continue
        documents.append(document_from_prior(prior, text))
    record = PatientRecord(
        patient=dict(stored.record.get("patient") or {}),
        resources=list(stored.record.get("resources") or []),
        documents=documents,
        fetched_at=datetime.fromisoformat(stored.fetched_at),
    )
    if missing:
        record.warnings.append(f"{missing} documents were not re-read (text not on this computer)")
    return record, missing


def rescreen_from_store(
    store: Store,
    tenant_id: str,
    patient_id: str,
    clinic_day: date,
    *,
    ehr_user: str | None = None,
) -> Rescreened:
    """Screen and render the patient's sheet again from the stored chart; store and audit it."""
    scope = store.tenant(tenant_id)
    stored = latest_chart(scope, patient_id)
    if stored is None:
        raise NoStoredChart(
            "This patient's chart is not on this computer yet: prepare the day to fetch it."
        )
    record, missing = record_from_store(scope, stored)
    # The linked sources' charts as the batch last read them (issue 16): same merged chart.
    record, sources = with_stored_sources(scope, stored.connection_id, patient_id, record)
    ctx = RunContext(scope=scope, params={}, options=job_options(Settings(store), scope))
    task = PrepareTask(
        record=record,
        as_of=clinic_day,
        generated_at=datetime.now(UTC),
        library_json=ctx.library_json,
        library_hash=ctx.library_hash,
        due_soon_days=ctx.options.get("due_soon_days"),
        dismissed=tuple(sorted(dismissed_pairs(scope, patient_id))),
        entries=tuple(user_entries(scope, patient_id)),
        clinic_name=scope.tenant.name,
        cutoffs=ctx.cutoffs,
        tz=ctx.options.get("time_zone"),
        sources=sources,
    )
    output = prepare_patient(task)
    # No "hashes": the next Prepare screens this patient again with the full visit details
    # (appointment) instead of keeping this sheet.
    envelope: dict[str, Any] = {
        "format": SHEET_FORMAT,
        "as_of": clinic_day.isoformat(),
        "summary": output.summary,
        "results": output.results_json,
        "warnings": list(record.warnings),
        "text": output.text,
        "rescreened": "correction",
    }
    with store.transaction():
        info = scope.sheets.save(patient_id, clinic_day, output.pdf, envelope)
        scope.audit(
            AuditAction.SCREEN,
            patient_id=patient_id,
            detail=f"re-screened after a correction: {len(output.results)} screenings",
            ehr_user=ehr_user,
        )
        scope.audit(
            AuditAction.GENERATE_SHEET,
            patient_id=patient_id,
            resource_ids=(f"sheet/{info.id}",),
            detail="re-screened after a correction",
            ehr_user=ehr_user,
        )
    return Rescreened(info.id, dict(output.summary), missing)
