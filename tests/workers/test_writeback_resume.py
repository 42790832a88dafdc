"""`--resume` of the SAME job posts what a first pass kept back for later: a sheet marked
"not posted: no encounter for this visit yet" (retry) is posted, exactly once, once the EHR has
opened the visit's encounter. Before the fix only "pending" and "failed" sheets were picked up
on resume, so such a sheet waited for a brand-new job. Real sandbox over loopback HTTP, real
encrypted store, real process pool."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from workers_support import CLINIC_DAY, Setup

from healthprep_desktop.fhir.config import Vendor
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import config_for_store
from healthprep_desktop.sandbox.config import FaultConfig
from healthprep_desktop.store import PatientState as Stored
from healthprep_desktop.workers.batch import BatchJob, BatchSummary
from healthprep_desktop.workers.connections import connection_config, open_connection
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.demo import DemoClinic
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.job_steps import pending_writebacks
from healthprep_desktop.workers.writeback_step import WRITEBACK_KEY, scope_allows_write

WRITE = "user/DocumentReference.write"


@pytest.fixture
def demo() -> Iterator[DemoClinic]:
    """Two visits booked on the clinic day; no patient has an encounter on it yet."""
    clinic = DemoClinic(
        patients=40, seed=7, clinic_day=CLINIC_DAY, faults=FaultConfig(), schedule_size=2
    )
    with clinic:
        yield clinic


@pytest.fixture
async def epic(setup: Setup) -> AsyncIterator[FhirConnection]:
    """Epic files notes only against an encounter."""
    setup.scope.connections.update(setup.connection_id, vendor=Vendor.EPIC.value)
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id)
    await setup.demo.login(conn)
    try:
        yield conn
    finally:
        await conn.aclose()


def _org(demo: DemoClinic) -> Any:
    assert demo.server is not None
    return demo.server.org()


def _booked(demo: DemoClinic) -> list[str]:
    org = _org(demo)
    org.ensure_day(CLINIC_DAY)
    out: set[str] = set()
    for stored in org.store.all_of("Appointment"):
        appt = stored.json()
        if str(appt.get("start", "")).startswith(CLINIC_DAY.isoformat()):
            for participant in appt["participant"]:
                ref = participant["actor"]["reference"]
                if ref.startswith("Patient/"):
                    out.add(ref.split("/", 1)[1])
    return sorted(out)


def _open_encounter(demo: DemoClinic, patient_id: str) -> None:
    _org(demo).store.put(
        {
            "resourceType": "Encounter",
            "id": f"enc-{patient_id}",
            "status": "arrived",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {"start": f"{CLINIC_DAY}T09:00:00-06:00"},
        }
    )


def _posted(demo: DemoClinic) -> dict[str, int]:
    out: dict[str, int] = {}
    for stored in _org(demo).store.all_of("DocumentReference"):
        doc = stored.json()
        if "prep sheet" in json.dumps(doc).lower():
            pid = doc["subject"]["reference"].split("/")[-1]
            out[pid] = out.get(pid, 0) + 1
    return out


async def _run(
    setup: Setup, conn: FhirConnection, cpu: CpuPool, job_id: int | None = None
) -> BatchSummary:
    spec = JobSpec(
        tenant_id=setup.scope.id,
        connection_id=str(setup.connection_id),
        clinic_date=CLINIC_DAY,
        write_back=True,
    )
    job = BatchJob(
        setup.store,
        spec,
        connection=conn,
        connection_id=setup.connection_id,
        cpu=cpu,
        tz=setup.demo.clinic.time_zone,
        job_id=job_id,
    )
    return await job.run()


async def test_resuming_the_same_job_posts_a_sheet_that_waited_for_its_encounter(
    setup: Setup, epic: FhirConnection, cpu_pool: CpuPool
) -> None:
    first_pid, waiting = _booked(setup.demo)
    _open_encounter(setup.demo, first_pid)

    first = await _run(setup, epic, cpu_pool)
    assert first.failed == 0 and first.written_back == 1, first
    assert first.not_posted == {waiting: "no encounter for this visit yet"}
    assert _posted(setup.demo) == {first_pid: 1}
    sheet = setup.scope.sheets.latest(waiting, CLINIC_DAY)
    assert sheet is not None and sheet.info.results[WRITEBACK_KEY]["retry"] is True
    # The patient is done in the job: a resume does not redo it, only its write-back.
    states = {p.patient_id: p.state for p in setup.scope.jobs.patients(first.job_id)}
    assert states == {first_pid: Stored.DONE, waiting: Stored.DONE}
    assert pending_writebacks(setup.scope, first.job_id) == [(waiting, sheet.info.id)]

    # The EHR opens the visit; `batch --resume <job>` posts the kept sheet.
    _open_encounter(setup.demo, waiting)
    resumed = await _run(setup, epic, cpu_pool, job_id=first.job_id)
    assert resumed.job_id == first.job_id
    assert resumed.failed == 0 and not resumed.not_posted, resumed
    assert resumed.written_back == 1
    assert _posted(setup.demo) == {first_pid: 1, waiting: 1}
    sheet = setup.scope.sheets.latest(waiting, CLINIC_DAY)
    assert sheet is not None and sheet.info.results[WRITEBACK_KEY]["state"] == "posted"

    # Nothing is left to post; a second resume posts nothing twice.
    assert pending_writebacks(setup.scope, first.job_id) == []
    again = await _run(setup, epic, cpu_pool, job_id=first.job_id)
    assert again.written_back == 0 and not again.not_posted
    assert _posted(setup.demo) == {first_pid: 1, waiting: 1}


async def test_signing_in_again_with_write_permission_then_resuming_posts_every_kept_sheet(
    setup: Setup, cpu_pool: CpuPool
) -> None:
    """The fix the run offers for a sign-in without write permission: sign in again for the
    missing scope, then resume the same job; every stored sheet is posted once."""
    config = connection_config(setup.store, setup.scope.id, setup.connection_id)
    narrowed = dataclasses.replace(config, scopes=tuple(s for s in config.scopes if s != WRITE))
    setup.scope.connections.update(setup.connection_id, config=config_for_store(narrowed))
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id)
    try:
        await setup.demo.login(conn)
        first = await _run(setup, conn, cpu_pool)
    finally:
        await conn.aclose()
    booked = _booked(setup.demo)
    assert first.failed == 0 and set(first.not_posted) == set(booked) and first.notices
    assert not _posted(setup.demo)
    assert len(pending_writebacks(setup.scope, first.job_id)) == len(booked)

    # Sign in again, this time granted DocumentReference write, and resume.
    setup.scope.connections.update(setup.connection_id, config=config_for_store(config))
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id)
    try:
        tokens = await setup.demo.login(conn)
        assert scope_allows_write(tokens.scope)
        resumed = await _run(setup, conn, cpu_pool, job_id=first.job_id)
    finally:
        await conn.aclose()
    assert resumed.failed == 0 and not resumed.not_posted and not resumed.notices, resumed
    assert resumed.written_back == len(booked)
    assert _posted(setup.demo) == dict.fromkeys(booked, 1)
