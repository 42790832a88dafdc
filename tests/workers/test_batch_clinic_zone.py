"""A real connection's batch (no demo time zone handed in) reads the clinic day and screens in the
clinic's time zone setting: the sandbox over loopback HTTP serving an imported chart whose EHR
writes instants in UTC, the real encrypted store, the real process pool."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from healthprep_desktop.settings import TIME_ZONE, Settings
from healthprep_desktop.store import Store
from healthprep_desktop.workers.batch import BatchJob
from healthprep_desktop.workers.connections import open_connection
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.demo import DemoClinic
from healthprep_desktop.workers.job import JobSpec

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CLINIC_DAY = date(2022, 6, 30)  # a Thursday


def _bundle(path: Path) -> Path:
    patient = {
        "resourceType": "Patient",
        "id": "zone-1",
        "name": [{"family": "Zone", "given": ["Test"]}],
        "gender": "male",
        "birthDate": "1961-01-15",
    }
    # A negative FIT stool test at 23:30 on 30 June in Chicago, written in UTC by the EHR.
    fit = {
        "resourceType": "Observation",
        "id": "fit-1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "29771-3"}]},
        "subject": {"reference": "Patient/zone-1"},
        "effectiveDateTime": "2021-07-01T04:30:00Z",
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "260385009"}]},
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient}, {"resource": fit}],
    }
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


@pytest.fixture
def imported(tmp_path: Path) -> Iterator[DemoClinic]:
    clinic = DemoClinic(import_paths=[_bundle(tmp_path / "chart.json")], seed=3)
    with clinic:
        yield clinic


@pytest.mark.parametrize(
    ("zone", "last_done", "status"),
    [
        # 23:30 on 30 June in the clinic: a year later, due on the clinic day itself.
        ("America/Chicago", "2021-06-30", "due"),
        # Already 1 July in Berlin: still current on 30 June 2022, due the next day.
        ("Europe/Berlin", "2021-07-01", "due_soon"),
    ],
)
async def test_batch_screens_in_the_clinics_time_zone(
    imported: DemoClinic, cpu_pool: CpuPool, zone: str, last_done: str, status: str
) -> None:
    store = Store.open()
    try:
        tenant = store.create_tenant("Zone clinic")
        scope = store.tenant(tenant.id)
        connection_id = imported.ensure_connection(store, tenant.id)
        Settings(store).set(TIME_ZONE, zone, scope)
        conn = open_connection(store, tenant.id, connection_id, keep_invalid=True)
        await imported.login(conn)
        try:
            spec = JobSpec(
                tenant_id=tenant.id, connection_id=str(connection_id), clinic_date=CLINIC_DAY
            )
            # As the window and the command line build it for a real EHR: no tz= handed in.
            job = BatchJob(store, spec, connection=conn, connection_id=connection_id, cpu=cpu_pool)
            summary = await job.run()
        finally:
            await conn.aclose()
        assert summary.failed == 0 and set(summary.sheet_ids) == {"zone-1"}
        info = scope.sheets.info(summary.sheet_ids["zone-1"])
        assert info is not None
        colorectal = next(
            r for r in info.results["results"] if r["screening_id"] == "colorectal_cancer"
        )
        assert (colorectal["last_done"], colorectal["status"]) == (last_done, status)
    finally:
        store.close()


def test_time_zone_setting_takes_iana_names_only(tmp_path: Path) -> None:
    store = Store.open()
    try:
        scope = store.tenant(store.create_tenant("Zone clinic").id)
        settings = Settings(store)
        assert settings.get(TIME_ZONE, scope) == TIME_ZONE.default  # the workstation's zone
        with pytest.raises(ValueError, match="not a time zone this computer knows"):
            settings.set(TIME_ZONE, "Central Time", scope)
        with pytest.raises(ValueError, match="IANA name"):
            settings.set(TIME_ZONE, "", scope)
        settings.set(TIME_ZONE, "America/Chicago", scope)
        assert scope.settings.get_raw("time_zone") == "America/Chicago"  # the IANA name is kept
    finally:
        store.close()
