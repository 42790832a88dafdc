"""Opening a batch job (a new one from its spec, or a stored one to resume) and closing it.

A new job is refused before the schedule is read when another live process runs a batch for
the same connection and clinic day, and again atomically when it is created (job_steps.open_job).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from healthprep_desktop.clinic_zone import clinic_zone
from healthprep_desktop.fhir.preflight import preflight
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.store import JobState, Store, TenantScope
from healthprep_desktop.store import PatientState as StoredState
from healthprep_desktop.store.repos.ledger import ClaimOwner
from healthprep_desktop.workers.batch_fetch import resolve_patients
from healthprep_desktop.workers.batch_progress import JobEvents
from healthprep_desktop.workers.batch_support import BatchSummary, visit_json
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.events import JobPhase, PatientState, ProgressTracker
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.job_steps import open_job, refuse_if_busy

EVENT_CHUNK = 50  # events emitted back to back before yielding to the event loop


@dataclass
class OpenedJob:
    scope: TenantScope
    job_id: int
    spec: JobSpec
    connection_id: int | None
    patients: list[str]  # the job's patients not done yet, in schedule order
    params: dict[str, Any]


async def open_batch(
    store: Store,
    db: StoreExecutor,
    events: JobEvents,
    owner: ClaimOwner,
    connection: FhirConnection,
    *,
    spec: JobSpec | None,
    job_id: int | None,
    connection_id: int | None,
    tz: str | None,
    check_first: bool,
    taken: Callable[[int], None],
) -> OpenedJob:
    """Create the job (reading the day's schedule) or take a stored one over for ``owner``
    (``taken`` is told its id at once); the events get the job's tracker and summary, and the
    done patients are reported."""
    if job_id is None:
        assert spec is not None
        scope = await db.call(store.tenant, spec.tenant_id)
        today = datetime.now(clinic_zone(tz)).date()
        clinic_day = spec.clinic_date or spec.as_of or today
        events.tracker = ProgressTracker(job_id="new")
        events.summary = BatchSummary(job_id=0, clinic_day=clinic_day)
        # Refuse before reading the schedule; open_job checks again, atomically.
        await db.call(refuse_if_busy, scope, connection_id, clinic_day, owner)
        if check_first:
            events.set_phase(JobPhase.SCHEDULE, "checking the connection")
            await preflight(connection, clinic_day=spec.clinic_date, all_patients=spec.all_patients)
        events.set_phase(JobPhase.SCHEDULE, "reading the schedule")
        visits, patient_ids = await resolve_patients(connection, spec, tz)
        params: dict[str, Any] = {
            "spec": spec.to_json(),
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "visits": {v.patient_id: visit_json(v) for v in visits},
        }
        job = await db.call(
            open_job,
            store,
            scope,
            clinic_day,
            owner,
            connection_id=connection_id,
            params=params,
            patient_ids=patient_ids,
        )
        taken(job.id)
    else:
        tenant_id = spec.tenant_id if spec else None
        if tenant_id is None:
            raise ValueError("resuming a job needs the tenant: pass its JobSpec")
        scope = await db.call(store.tenant, tenant_id)
        found = await db.call(scope.jobs.get, job_id)
        if found is None:
            raise ValueError(f"there is no job {job_id} in this clinic")
        job = await db.call(open_job, store, scope, found.clinic_day, owner, job_id=found.id)
        taken(job.id)
        params = job.params
        spec = JobSpec.from_json(params["spec"])
        if connection_id is None:
            connection_id = job.connection_id
    stored = await db.call(scope.jobs.patients, job.id)
    events.job_id = job.id
    events.summary = summary = BatchSummary(job_id=job.id, clinic_day=job.clinic_day)
    events.tracker = ProgressTracker(job_id=str(job.id), total=len(stored))
    already = [p for p in stored if p.state is StoredState.DONE]
    events.tracker.done = len(already)
    summary.total = len(stored)
    summary.done = len(already)
    for n, p in enumerate(already, start=1):
        events.patient(p.patient_id, PatientState.DONE)
        if n % EVENT_CHUNK == 0:
            await asyncio.sleep(0)  # a listener may redraw per event: let the loop breathe
    return OpenedJob(
        scope=scope,
        job_id=job.id,
        spec=spec,
        connection_id=connection_id,
        patients=[p.patient_id for p in stored if p.state is not StoredState.DONE],
        params=params,
    )


async def close_batch(
    db: StoreExecutor,
    scope: TenantScope,
    job_id: int,
    events: JobEvents,
    connection: FhirConnection,
) -> None:
    """The job's end state: resumable when patients are left, failed when none succeeded."""
    summary = events.summary
    assert summary is not None
    counts = await db.call(scope.jobs.counts, job_id)
    unfinished = counts[StoredState.PENDING] + counts[StoredState.RUNNING]
    waiting = events.phase is JobPhase.RECONNECT
    if unfinished:
        # Stopped early (cancelled, or nobody signed in again): the job stays resumable.
        state = JobState.CANCELLED
        phase = JobPhase.RECONNECT if waiting else JobPhase.CANCELLED
    elif counts[StoredState.FAILED] and not counts[StoredState.DONE]:
        state, phase = JobState.FAILED, JobPhase.FINISHED
    else:
        state, phase = JobState.DONE, JobPhase.FINISHED
    await db.call(scope.jobs.set_state, job_id, state)
    if summary.done or summary.skipped:
        connection.status_tracker.mark_synced()
    summary.requests = connection.client.stats.requests
    events.set_phase(phase)
