"""Write-back with an encounter: where the EHR preset files notes only against an encounter
(Epic), the batch finds the visit's Encounter (the one made for its Appointment, else the
patient's encounter that clinic day, in the clinic's zone) and sends it as
DocumentReference.context.encounter; without one the sheet is kept, marked "not posted: no
encounter for this visit yet", and a later run posts it exactly once. A generic server gets no
encounter. Real sandbox over loopback HTTP, real store and pool."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from workers_support import CLINIC_DAY, Setup

from healthprep_desktop.fhir.config import Vendor
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.visit_encounter import VisitKey, find_visit_encounter
from healthprep_desktop.sandbox.config import FaultConfig
from healthprep_desktop.workers.batch import BatchJob, BatchSummary
from healthprep_desktop.workers.connections import open_connection
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.demo import DemoClinic
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.writeback_step import WRITEBACK_KEY

NO_ENCOUNTER_NOTE = "not posted: no encounter for this visit yet"


@pytest.fixture
def demo() -> Iterator[DemoClinic]:
    """Three visits booked on the clinic day; no patient has an encounter on it."""
    clinic = DemoClinic(
        patients=40, seed=7, clinic_day=CLINIC_DAY, faults=FaultConfig(), schedule_size=3
    )
    with clinic:
        yield clinic


async def _as_vendor(setup: Setup, vendor: Vendor) -> FhirConnection:
    setup.scope.connections.update(setup.connection_id, vendor=vendor.value)
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id)
    assert conn.config.vendor is vendor
    await setup.demo.login(conn)
    return conn


@pytest.fixture
async def epic(setup: Setup) -> AsyncIterator[FhirConnection]:
    conn = await _as_vendor(setup, Vendor.EPIC)
    try:
        yield conn
    finally:
        await conn.aclose()


def _org(demo: DemoClinic) -> Any:
    assert demo.server is not None
    return demo.server.org()


def _schedule(demo: DemoClinic) -> dict[str, dict[str, Any]]:
    """Patient id -> the Appointment booked for them on the clinic day."""
    org = _org(demo)
    org.ensure_day(CLINIC_DAY)
    out: dict[str, dict[str, Any]] = {}
    for stored in org.store.all_of("Appointment"):
        appt = stored.json()
        if not str(appt.get("start", "")).startswith(CLINIC_DAY.isoformat()):
            continue
        for participant in appt["participant"]:
            ref = participant["actor"]["reference"]
            if ref.startswith("Patient/"):
                out[ref.split("/", 1)[1]] = appt
    return out


def _add_encounter(
    demo: DemoClinic,
    eid: str,
    patient_id: str,
    start: str | None,
    *,
    appointment: str | None = None,
    status: str = "arrived",
) -> None:
    enc: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": eid,
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{patient_id}"},
    }
    if start is not None:
        enc["period"] = {"start": start}
    if appointment is not None:
        enc["appointment"] = [{"reference": f"Appointment/{appointment}"}]
    _org(demo).store.put(enc)


def _posted(demo: DemoClinic) -> dict[str, list[dict[str, Any]]]:
    """Patient id -> the prep sheets the app posted for them."""
    out: dict[str, list[dict[str, Any]]] = {}
    for stored in _org(demo).store.all_of("DocumentReference"):
        doc = stored.json()
        if "prep sheet" in json.dumps(doc).lower():
            out.setdefault(doc["subject"]["reference"].split("/")[-1], []).append(doc)
    return out


def _encounter_of(doc: dict[str, Any]) -> str | None:
    refs = (doc.get("context") or {}).get("encounter") or []
    return refs[0]["reference"] if refs else None


async def _run_day(setup: Setup, conn: FhirConnection, cpu: CpuPool) -> BatchSummary:
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
    )
    return await job.run()


async def test_epic_posts_against_the_visit_encounter_and_waits_for_a_missing_one(
    setup: Setup, epic: FhirConnection, cpu_pool: CpuPool
) -> None:
    booked = _schedule(setup.demo)
    assert len(booked) == 3
    linked, same_day, waiting = sorted(booked)
    # The encounter made for the Appointment wins over another one that day, even when it
    # carries no period yet; a same-day encounter of the patient serves when none is linked.
    _add_encounter(setup.demo, "enc-other", linked, f"{CLINIC_DAY}T15:00:00-06:00")
    _add_encounter(setup.demo, "enc-linked", linked, None, appointment=booked[linked]["id"])
    _add_encounter(setup.demo, "enc-day", same_day, f"{CLINIC_DAY}T10:00:00-06:00")
    # Cancelled, and on the day before: neither is this visit's encounter.
    _add_encounter(
        setup.demo, "enc-void", waiting, f"{CLINIC_DAY}T09:00:00-06:00", status="cancelled"
    )
    _add_encounter(setup.demo, "enc-before", waiting, "2026-11-30T09:00:00-06:00")

    first = await _run_day(setup, epic, cpu_pool)
    assert first.failed == 0 and first.written_back == 2, first
    posted = _posted(setup.demo)
    assert set(posted) == {linked, same_day}
    assert [_encounter_of(d) for d in posted[linked]] == ["Encounter/enc-linked"]
    assert [_encounter_of(d) for d in posted[same_day]] == ["Encounter/enc-day"]
    # Epic takes text/plain clinical notes.
    attachment = posted[linked][0]["content"][0]["attachment"]
    assert attachment["contentType"].startswith("text/plain")
    # The sheet without an encounter is kept and says why it was not posted.
    assert first.not_posted == {waiting: "no encounter for this visit yet"}
    sheet = setup.scope.sheets.latest(waiting, CLINIC_DAY)
    assert sheet is not None and sheet.pdf.startswith(b"%PDF")
    assert sheet.info.results[WRITEBACK_KEY]["note"] == NO_ENCOUNTER_NOTE

    # The EHR opens the visit's encounter; the next run posts that sheet, once.
    _add_encounter(setup.demo, "enc-late", waiting, f"{CLINIC_DAY}T08:45:00-06:00")
    second = await _run_day(setup, epic, cpu_pool)
    assert second.failed == 0 and not second.not_posted, second
    assert second.written_back == 1
    posted = _posted(setup.demo)
    assert [_encounter_of(d) for d in posted[waiting]] == ["Encounter/enc-late"]
    assert {p: len(d) for p, d in posted.items()} == dict.fromkeys(booked, 1)
    sheet = setup.scope.sheets.latest(waiting, CLINIC_DAY)
    assert sheet is not None and sheet.info.results[WRITEBACK_KEY]["state"] == "posted"

    third = await _run_day(setup, epic, cpu_pool)
    assert third.written_back == 0 and not third.not_posted
    assert {p: len(d) for p, d in _posted(setup.demo).items()} == dict.fromkeys(booked, 1)


async def test_a_generic_server_gets_the_sheet_without_an_encounter(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    booked = _schedule(setup.demo)
    first = sorted(booked)[0]
    _add_encounter(setup.demo, "enc-1", first, None, appointment=booked[first]["id"])
    summary = await _run_day(setup, connection, cpu_pool)
    assert summary.failed == 0 and summary.written_back == 3 and not summary.not_posted
    posted = _posted(setup.demo)
    assert set(posted) == set(booked)
    assert all(_encounter_of(d) is None for docs in posted.values() for d in docs)


async def test_the_clinic_day_is_read_in_the_clinic_zone(
    setup: Setup, connection: FhirConnection
) -> None:
    """An evening encounter is on its local day (in UTC it is the next day's), and one written
    in UTC is read in the clinic's zone, whatever day the server matched it to."""
    pid = setup.demo.clinic.patient_ids()[0]
    _add_encounter(setup.demo, "enc-evening", pid, f"{CLINIC_DAY}T21:30:00-06:00")
    _add_encounter(setup.demo, "enc-utc", pid, "2026-12-02T03:00:00Z")  # 1 Dec, 21:00 Chicago
    client = connection.client
    tz = setup.demo.clinic.time_zone

    async def found(day: int) -> str | None:
        return await find_visit_encounter(client, pid, VisitKey(CLINIC_DAY.replace(day=day), tz=tz))

    assert await found(1) == "enc-evening"
    assert await found(2) is None
    assert await found(30) is None
