"""Batch steps that run on the store thread: the clinic's options, opening a job (one running
batch per connection and clinic day), the per-patient commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from healthprep_desktop.screening.visit_status import UserEntry
from healthprep_desktop.settings import (
    CONCURRENCY,
    CONSULTS_MONTHS,
    DOCUMENTS_MONTHS,
    DUE_SOON_DAYS,
    HOSPITAL_MONTHS,
    IMAGING_MONTHS,
    LABS_MONTHS,
    OCR_ENABLED,
    OCR_PAGE_CAP,
    TIME_ZONE,
    Scope,
    Setting,
    Settings,
)
from healthprep_desktop.store import AuditAction, Job, Store, TenantScope
from healthprep_desktop.store import PatientState as StoredState
from healthprep_desktop.store.repos.jobs import JobBusyError
from healthprep_desktop.store.repos.ledger import ClaimOwner
from healthprep_desktop.workers.library_overrides import custom_library_json
from healthprep_desktop.workers.writeback_step import WRITEBACK_KEY


def job_options(settings: Settings, scope: TenantScope) -> dict[str, Any]:
    """The clinic's settings that shape a sheet (part of the rerun hash)."""
    items: dict[str, Setting[Any]] = {
        "due_soon_days": DUE_SOON_DAYS,
        "labs_months": LABS_MONTHS,
        "imaging_months": IMAGING_MONTHS,
        "consults_months": CONSULTS_MONTHS,
        "hospital_months": HOSPITAL_MONTHS,
        "documents_months": DOCUMENTS_MONTHS,
        "ocr_enabled": OCR_ENABLED,
        "ocr_page_cap": OCR_PAGE_CAP,
        "concurrency": CONCURRENCY,
        # Which day each event falls on: a new zone re-screens (part of the rerun hash).
        "time_zone": TIME_ZONE,
    }
    options: dict[str, Any] = {
        key: settings.get(item, scope_for(item, scope)) for key, item in items.items()
    }
    # The clinic's edits to the screening library (None: the shipped library as it is).
    options["library_json"] = custom_library_json(scope)
    return options


def clinic_time_zone(store: Store, tenant_id: str) -> str:
    """The clinic's time zone setting (an IANA name; default: this workstation's zone)."""
    return Settings(store).get(TIME_ZONE, store.tenant(tenant_id))


def refuse_if_busy(
    scope: TenantScope, connection_id: int | None, clinic_day: date, owner: ClaimOwner
) -> None:
    """JobBusyError when another live process runs a batch for this connection and day."""
    busy = scope.jobs.blocking(connection_id, clinic_day, owner)
    if busy is not None:
        raise JobBusyError(*busy)


def open_job(
    store: Store,
    scope: TenantScope,
    clinic_day: date,
    owner: ClaimOwner,
    *,
    job_id: int | None = None,
    connection_id: int | None = None,
    params: dict[str, Any] | None = None,
    patient_ids: Sequence[str] = (),
) -> Job:
    """Create (or, with ``job_id``, resume) a job and take it for ``owner`` in one transaction;
    JobBusyError (nothing created) if another live process runs this connection and day."""
    with store.transaction():
        if job_id is None:
            refuse_if_busy(scope, connection_id, clinic_day, owner)
            job_id = scope.jobs.create(
                clinic_day, connection_id=connection_id, params=params, patient_ids=patient_ids
            ).id
        return scope.jobs.acquire(job_id, owner)


def pending_writebacks(scope: TenantScope, job_id: int) -> list[tuple[str, int]]:
    """Done patients of the job whose stored sheet is still to be posted: (patient id, sheet
    id), in schedule order. That is a sheet whose post was never tried or was interrupted
    (``pending``), failed after its retries (``failed``), or was not posted for a reason that
    may have gone since (``retry``: no encounter for the visit yet, a sign-in without write
    permission). A resumed job posts these; its done patients are not prepared again."""
    sheets: dict[str, tuple[int, Any]] = {}
    for info in scope.sheets.all(job_id=job_id):
        sheets[info.patient_id] = (info.id, info.results)  # newest last
    out: list[tuple[str, int]] = []
    for patient in scope.jobs.patients(job_id, state=StoredState.DONE):
        found = sheets.get(patient.patient_id)
        if found is None or not isinstance(found[1], dict):
            continue
        mark = found[1].get(WRITEBACK_KEY)
        if not isinstance(mark, dict):
            continue
        if mark.get("state") in ("pending", "failed") or (
            mark.get("state") == "not_posted" and mark.get("retry") is True
        ):
            out.append((patient.patient_id, found[0]))
    return out


def commit_patient(
    store: Store,
    scope: TenantScope,
    job_id: int,
    patient_id: str,
    clinic_day: date,
    pdf: bytes,
    envelope: dict[str, Any],
    hashes: dict[str, str],
    ehr_user: str | None = None,
) -> int:
    """Sheet, patient state and audit entry land together or not at all."""
    with store.transaction():
        info = scope.sheets.save(patient_id, clinic_day, pdf, envelope, job_id=job_id)
        scope.jobs.finish_patient(job_id, patient_id, StoredState.DONE, hashes=hashes)
        scope.audit(
            AuditAction.GENERATE_SHEET,
            patient_id=patient_id,
            resource_ids=(f"sheet/{info.id}",),
            detail=f"job {job_id}",
            ehr_user=ehr_user,
        )
    return info.id


def scope_for(item: Any, scope: TenantScope) -> TenantScope | None:
    return scope if item.scope is Scope.TENANT else None


def user_entries(scope: TenantScope, patient_id: str) -> list[UserEntry]:
    """The patient's screening entries, for the engine (which knows nothing of the store)."""
    return [
        UserEntry(
            screening_id=e.screening_id,
            kind=e.kind.value,
            entered_by=e.entered_by,
            entered_at=e.entered_at,
            on_date=e.on_date,
            until_date=e.until_date,
            note=e.note,
        )
        for e in scope.entries.all(patient_id=patient_id)
    ]


def dismissed_pairs(scope: TenantScope, patient_id: str) -> list[tuple[str, str]]:
    return [
        (d.screening_id, d.evidence_reference) for d in scope.dismissals.all(patient_id=patient_id)
    ]
