"""The batch pipeline end to end: real sandbox over loopback HTTP, real store, real process pool."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pymupdf
from workers_support import CLINIC_DAY, Setup

from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.store import AuditAction, AuditFilter, JobState
from healthprep_desktop.store import PatientState as Stored
from healthprep_desktop.workers.batch import BatchJob, BatchSummary
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.events import (
    Event,
    JobPhase,
    JobProgress,
    PatientEvent,
    PatientState,
)
from healthprep_desktop.workers.job import JobSpec


def _spec(setup: Setup, **kw: Any) -> JobSpec:
    base: dict[str, Any] = {
        "tenant_id": setup.scope.id,
        "connection_id": str(setup.connection_id),
    }
    if "patient_ids" not in kw and "all_patients" not in kw:
        base["clinic_date"] = CLINIC_DAY
    base.update(kw)
    return JobSpec(**base)


def _job(setup: Setup, conn: FhirConnection, cpu: CpuPool, spec: JobSpec, **kw: Any) -> BatchJob:
    return BatchJob(
        setup.store,
        spec,
        connection=conn,
        connection_id=setup.connection_id,
        cpu=cpu,
        tz=setup.demo.clinic.time_zone,
        **kw,
    )


def _statuses(setup: Setup, summary: BatchSummary) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for pid, sheet_id in summary.sheet_ids.items():
        info = setup.scope.sheets.info(sheet_id)
        assert info is not None
        out[pid] = {r["screening_id"]: r["status"] for r in info.results["results"]}
    return out


async def test_clinic_day_prepares_every_scheduled_patient(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    events: list[Event] = []
    summary = await _job(setup, connection, cpu_pool, _spec(setup), listener=events.append).run()
    scheduled = {
        a["participant"][0]["actor"]["reference"].split("/")[1]
        for a in setup.demo.clinic.schedule(CLINIC_DAY)
        for _ in [0]
    }
    assert summary.phase is JobPhase.FINISHED
    assert summary.failed == 0 and summary.done == summary.total == len(scheduled) > 5
    assert set(summary.sheet_ids) == scheduled
    # Each sheet is a real PDF naming its screenings; the stored results explain each status.
    sheet = setup.scope.sheets.get(next(iter(summary.sheet_ids.values())))
    assert sheet is not None
    with pymupdf.open(stream=sheet.pdf, filetype="pdf") as doc:
        text = "".join(page.get_text() for page in doc)
    assert "Quality checklist" in text and "Page 1 of" in text
    assert "Tetanus booster" in text  # every adult has a row for it
    assert all(r["explanation"] for r in sheet.info.results["results"])
    # Progress: every patient reached DONE once; the last progress event says finished.
    done = Counter(
        e.patient_id for e in events if isinstance(e, PatientEvent) and e.state is PatientState.DONE
    )
    assert set(done) == scheduled and set(done.values()) == {1}
    last = [e for e in events if isinstance(e, JobProgress)][-1]
    assert last.phase is JobPhase.FINISHED and last.done == len(scheduled)
    # Audit holds references, not content: fetch, screen and sheet per patient.
    entries = setup.scope.audit_entries(AuditFilter())
    actions = Counter(e.action for e in entries)
    assert actions[AuditAction.GENERATE_SHEET] == len(scheduled)
    assert actions[AuditAction.SCREEN] == len(scheduled)
    assert setup.store.audit.verify().ok


async def test_rerun_skips_unchanged_patients_and_rescreens_a_changed_one(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    pids = setup.demo.clinic.patient_ids()[:6]
    first = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=tuple(pids))).run()
    assert first.done == 6
    second = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=tuple(pids))).run()
    assert (second.done, second.skipped) == (0, 6)
    assert second.sheet_ids == first.sheet_ids  # the stored sheets stand
    # A new result arrives for one patient: only that chart is screened again.
    org = setup.demo.server.org()  # type: ignore[union-attr]
    org.store.put(
        {
            "resourceType": "Observation",
            "id": "new-bp-reading",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "vital-signs",
                        }
                    ]
                }
            ],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "subject": {"reference": f"Patient/{pids[2]}"},
            "effectiveDateTime": "2026-11-20",
            "valueQuantity": {"value": 128, "unit": "mm[Hg]"},
        }
    )
    third = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=tuple(pids))).run()
    assert (third.done, third.skipped) == (1, 5)
    assert third.sheet_ids[pids[2]] != first.sheet_ids[pids[2]]
    forced = await _job(
        setup, connection, cpu_pool, _spec(setup, patient_ids=tuple(pids), force=True)
    ).run()
    assert (forced.done, forced.skipped) == (6, 0)


async def test_one_bad_patient_never_stops_the_batch(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    pids = (*setup.demo.clinic.patient_ids()[:3], "no-such-patient")
    summary = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=pids)).run()
    assert summary.done == 3 and summary.failed == 1
    assert "no such patient" in summary.failures["no-such-patient"]
    stored = setup.scope.jobs.patient(summary.job_id, "no-such-patient")
    assert stored is not None and stored.state is Stored.FAILED and stored.reason


async def test_pause_resume_and_cancel_then_resume_the_stored_job(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    setup.demo.server.set_faults(latency_ms=60)  # type: ignore[union-attr]
    pids = tuple(setup.demo.clinic.patient_ids()[:16])
    progress: list[JobProgress] = []

    def listen(event: Event) -> None:
        if isinstance(event, JobProgress):
            progress.append(event)

    job = _job(
        setup, connection, cpu_pool, _spec(setup, patient_ids=pids), listener=listen, concurrency=2
    )
    task = asyncio.create_task(job.run())
    while not progress or progress[-1].done < 2:
        await asyncio.sleep(0.02)
    job.pause()
    while progress[-1].in_flight:  # patients already under way finish; no new one starts
        await asyncio.sleep(0.02)
    paused_at = progress[-1].done
    await asyncio.sleep(0.8)
    assert progress[-1].done == paused_at  # nothing new starts while paused
    assert progress[-1].phase is JobPhase.PAUSED
    job.resume()
    while progress[-1].done < paused_at + 2:
        await asyncio.sleep(0.02)
    job.cancel()
    summary = await task
    assert summary.phase is JobPhase.CANCELLED
    assert 0 < summary.done < 16
    stored_job = setup.scope.jobs.get(summary.job_id)
    assert stored_job is not None and stored_job.state is JobState.CANCELLED
    # The stored job resumes: the rest are prepared, nobody twice.
    setup.demo.server.set_faults(latency_ms=0)  # type: ignore[union-attr]
    resumed = await BatchJob(
        setup.store,
        _spec(setup, patient_ids=pids),
        connection=connection,
        job_id=summary.job_id,
        cpu=cpu_pool,
    ).run()
    assert resumed.phase is JobPhase.FINISHED
    assert resumed.done == 16 and resumed.failed == 0
    sheets = Counter(s.patient_id for s in setup.scope.sheets.all(job_id=summary.job_id))
    assert set(sheets) == set(pids) and set(sheets.values()) == {1}


async def test_authorization_lost_mid_run_pauses_for_reconnect_then_continues(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    server = setup.demo.server
    assert server is not None
    server.set_faults(latency_ms=40)
    pids = tuple(setup.demo.clinic.patient_ids()[:12])
    phases: list[JobPhase] = []
    progress: list[JobProgress] = []

    def listen(event: Event) -> None:
        if isinstance(event, JobProgress):
            progress.append(event)
            if not phases or phases[-1] is not event.phase:
                phases.append(event.phase)

    job = _job(
        setup, connection, cpu_pool, _spec(setup, patient_ids=pids), listener=listen, concurrency=2
    )
    task = asyncio.create_task(job.run())
    while not progress or progress[-1].done < 3:
        await asyncio.sleep(0.02)
    # The EHR revokes everything: access tokens fail, and so does the refresh.
    server.revoke_refresh_tokens()
    server.revoke_access_tokens()
    while not job.waiting_for_reconnect:
        await asyncio.sleep(0.02)
    assert phases[-1] is JobPhase.RECONNECT
    assert not connection.status.is_connected
    done_before = progress[-1].done
    await asyncio.sleep(0.5)
    assert progress[-1].done <= done_before + 2  # at most the ones already past fetching
    await setup.demo.login(connection)  # the user signs in again
    job.reconnected()
    summary = await task
    assert summary.phase is JobPhase.FINISHED
    assert summary.done == 12 and summary.failed == 0


async def test_fault_injection_gives_the_same_results_as_a_clean_run(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    server = setup.demo.server
    assert server is not None
    pids = tuple(setup.demo.clinic.patient_ids()[:20])
    clean = await _job(
        setup, connection, cpu_pool, _spec(setup, patient_ids=pids, force=True)
    ).run()
    server.set_faults(seed=3, error_rate=0.10, malformed_fraction=0.01)
    server.set_faults(rate_limit=40.0, rate_burst=2)  # answers 429 to what exceeds it
    server.config.tokens.access_token_lifetime = 60.0
    await setup.demo.login(connection)  # a token that expires within the run on the clock below
    server.clock.advance(55)  # ... in 5 seconds, forcing refreshes mid-run
    faulty = await _job(
        setup, connection, cpu_pool, _spec(setup, patient_ids=pids, force=True)
    ).run()
    assert faulty.failed == 0, faulty.failures
    stats = connection.client.stats
    assert stats.server_errors > 0 and stats.retries > 0
    got, want = _statuses(setup, faulty), _statuses(setup, clean)
    differences = {
        (pid, sid): (got[pid].get(sid), status)
        for pid, by_screening in want.items()
        for sid, status in by_screening.items()
        if got.get(pid, {}).get(sid) != status
    }
    assert not differences


async def test_the_clinics_library_edits_shape_the_sheets_and_rescreen(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    from healthprep_desktop.workers.library_overrides import OVERRIDES_SETTING

    pids = tuple(setup.demo.clinic.patient_ids()[:3])
    first = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=pids)).run()
    assert all("hiv" in by_id for by_id in _statuses(setup, first).values())
    # An admin turns HIV screening off for this clinic: the definitions changed, so every
    # patient is screened again (no skip) and the sheets no longer carry the row.
    setup.scope.settings.set_raw(OVERRIDES_SETTING, {"disabled": ["hiv"]})
    second = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=pids)).run()
    assert (second.done, second.skipped) == (3, 0)
    assert all("hiv" not in by_id for by_id in _statuses(setup, second).values())
    assert connection.status.last_sync is not None


async def test_how_many_run_at_once_does_not_defeat_the_rerun_skip(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    pids = tuple(setup.demo.clinic.patient_ids()[:4])
    first = _job(setup, connection, cpu_pool, _spec(setup, patient_ids=pids), concurrency=2)
    assert (await first.run()).done == 4
    again = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=pids)).run()
    assert (again.done, again.skipped) == (0, 4)


async def test_a_users_entry_changes_the_next_sheet_without_a_server_change(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    from healthprep_desktop.store import EntryKind

    pids = tuple(setup.demo.clinic.patient_ids()[:4])
    first = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=pids)).run()
    statuses = _statuses(setup, first)
    # A patient with a screening that asks for action at the visit.
    pid, sid = next(
        (p, s)
        for p, by_id in statuses.items()
        for s, st in by_id.items()
        if st in ("due", "overdue")
    )
    setup.scope.entries.put(pid, sid, EntryKind.DECLINED, entered_by="jdoe")
    second = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=pids)).run()
    assert (second.done, second.skipped) == (1, 3)  # only the patient with the entry
    info = setup.scope.sheets.info(second.sheet_ids[pid])
    assert info is not None
    (row,) = [r for r in info.results["results"] if r["screening_id"] == sid]
    assert row["status"] == "declined"
    assert row["entry"].startswith("declined: entered by jdoe on ")
    # Removing the entry brings the screening back as it was.
    (entry,) = setup.scope.entries.all(patient_id=pid)
    setup.scope.entries.remove(entry.id)
    third = await _job(setup, connection, cpu_pool, _spec(setup, patient_ids=pids)).run()
    assert _statuses(setup, third)[pid][sid] == statuses[pid][sid]
