"""A rerun asks the server once which patients changed (issue 18): by `_lastUpdated` searches on
the generic profile, by the panel Group's `$export?_since=` on us-core. Only the changed
patients are fetched; the others' stored charts are used with no request, and every screening
result equals a full rerun's. Real sandbox over loopback HTTP, real store, real process pool."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from workers_support import CLINIC_DAY, Setup

from healthprep_desktop.cli import main
from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import config_for_store, config_from_store
from healthprep_desktop.sandbox import OrgConfig, SandboxConfig, SandboxServer, demo_clients
from healthprep_desktop.sandbox.bulk import touch_patients
from healthprep_desktop.sandbox.clinic import SyntheticClinic
from healthprep_desktop.sandbox.config import FaultConfig
from healthprep_desktop.sandbox.profiles import apply_profile
from healthprep_desktop.store import AuditAction, AuditFilter, Store
from healthprep_desktop.workers.batch import BatchJob, BatchSummary
from healthprep_desktop.workers.batch_fetch import UNCHANGED, ChartFetcher, DayChanges
from healthprep_desktop.workers.batch_support import RunContext
from healthprep_desktop.workers.chart import record_hash
from healthprep_desktop.workers.connections import open_connection
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.db import StoreExecutor
from healthprep_desktop.workers.demo import DEMO_TENANT, DemoClinic
from healthprep_desktop.workers.job import JobSpec

# The EHR's data was last written well before the first run (as in a clinic): otherwise the
# rerun's window (the first fetch minus SINCE_SKEW) would hold the whole load and every
# patient would look changed.
_LOADED = (datetime.now(UTC) - timedelta(hours=2)).isoformat().replace("+00:00", "Z")


class _LoadedEarlier:
    """The synthetic clinic, every resource stamped as last updated two hours ago."""

    def __init__(self, clinic: SyntheticClinic) -> None:
        self.clinic = clinic

    def resources(self) -> Iterable[dict[str, Any]]:
        for resource in self.clinic.resources():
            yield {**resource, "meta": {**(resource.get("meta") or {}), "lastUpdated": _LOADED}}

    def schedule(self, day: date) -> list[dict[str, Any]]:
        return self.clinic.schedule(day)


@pytest.fixture(params=["generic", "us-core"])
def rerun_setup(request: pytest.FixtureRequest) -> Iterator[Setup]:
    profile = str(request.param)
    demo = DemoClinic(patients=24, seed=7, clinic_day=CLINIC_DAY, faults=FaultConfig())
    assert demo.clinic is not None
    config = SandboxConfig(
        orgs=[
            OrgConfig(
                "demo", name=DEMO_TENANT, clients=demo_clients(),
                source=_LoadedEarlier(demo.clinic),
            )
        ],
        auto_approve=True,
        faults=FaultConfig(),
    )  # fmt: skip
    demo.server = SandboxServer(apply_profile(config, profile))
    demo.server.config.bulk.retry_after = 0  # poll the export at once
    store = Store.open()
    with demo:
        tenant = store.create_tenant("Test clinic")
        scope = store.tenant(tenant.id)
        connection_id = demo.ensure_connection(store, tenant.id)
        if profile != "generic":  # searches cannot list changes: the panel's Group can
            row = scope.connections.get(connection_id)
            assert row is not None
            grouped = config_from_store(row).with_changes(panel_group_id="panel")
            scope.connections.update(connection_id, config=config_for_store(grouped))
        try:
            yield Setup(store, scope, connection_id, demo)
        finally:
            store.close()


@pytest.fixture
async def rerun_connection(rerun_setup: Setup) -> AsyncIterator[FhirConnection]:
    setup = rerun_setup
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id, keep_invalid=True)
    await setup.demo.login(conn)
    try:
        yield conn
    finally:
        await conn.aclose()


async def _run(
    setup: Setup,
    conn: FhirConnection,
    cpu: CpuPool,
    *,
    force: bool = False,
    patient_ids: tuple[str, ...] = (),
) -> tuple[BatchSummary, int]:
    spec = JobSpec(
        tenant_id=setup.scope.id,
        connection_id=str(setup.connection_id),
        clinic_date=None if patient_ids else CLINIC_DAY,
        patient_ids=patient_ids,
        force=force,
    )
    assert setup.demo.clinic is not None
    before = conn.client.stats.requests
    summary = await BatchJob(
        setup.store, spec, connection=conn, connection_id=setup.connection_id, cpu=cpu,
        tz=setup.demo.clinic.time_zone,
    ).run()  # fmt: skip
    assert summary.failed == 0
    return summary, conn.client.stats.requests - before


def _results(setup: Setup, summary: BatchSummary) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pid, sheet_id in summary.sheet_ids.items():
        info = setup.scope.sheets.info(sheet_id)
        assert info is not None
        out[pid] = info.results["results"]
    return out


def _fetch_details(setup: Setup, since: datetime) -> dict[str, str]:
    entries = setup.scope.audit_entries(
        AuditFilter(since=since, actions=frozenset({AuditAction.FETCH.value}))
    )
    return {str(e.patient_id): str(e.detail) for e in entries}


def _names(url: str, patient_id: str) -> bool:
    return re.search(rf"[=/]{re.escape(patient_id)}(?:[&/?]|$)", url) is not None


def _record_hashes(setup: Setup, patient_ids: Iterable[str]) -> dict[str, str]:
    hashes = {}
    for pid in patient_ids:
        stored = setup.scope.records.get(setup.connection_id, pid)
        assert stored is not None
        hashes[pid] = stored.record_hash
    return hashes


async def test_a_rerun_fetches_only_the_patients_that_changed(
    rerun_setup: Setup, rerun_connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    setup, conn = rerun_setup, rerun_connection
    first, first_requests = await _run(setup, conn, cpu_pool)
    patients = sorted(first.sheet_ids)
    assert len(patients) >= 6
    first_results = _results(setup, first)
    first_hashes = _record_hashes(setup, patients)

    server = setup.demo.server
    assert server is not None
    touched = set(patients[1:3])
    assert touch_patients(server.org(), touched) > 0
    # Which URLs the rerun asks for: no request may name an untouched patient.
    urls: list[str] = []

    async def seen(request: httpx.Request) -> None:
        urls.append(str(request.url))

    conn.client.http.event_hooks["request"].append(seen)
    started = datetime.now(UTC)
    rerun, rerun_requests = await _run(setup, conn, cpu_pool)
    conn.client.http.event_hooks["request"].remove(seen)

    details = _fetch_details(setup, started)
    assert set(details) == set(patients)
    for pid in patients:
        if pid in touched:
            assert "unchanged" not in details[pid]
        else:
            assert "unchanged" in details[pid] and "(0 requests)" in details[pid]
            assert not [u for u in urls if _names(u, pid)], "an unchanged patient was fetched"
    assert all(any(_names(u, pid) for u in urls) for pid in touched)
    # The untouched charts, and so their sheets, are the stored ones: same chart hash, and the
    # stored sheet stands (as after the per-patient incremental fetch).
    rerun_hashes = _record_hashes(setup, patients)
    for pid in set(patients) - touched:
        assert rerun_hashes[pid] == first_hashes[pid]
    assert rerun.skipped >= len(patients) - len(touched)
    assert rerun_requests < first_requests / 2, (rerun_requests, first_requests)

    # A full rerun (everything fetched again) screens every patient the same way.
    full, _ = await _run(setup, conn, cpu_pool, force=True)
    assert _results(setup, full) == _results(setup, rerun)
    assert _results(setup, rerun).keys() == first_results.keys()
    assert _record_hashes(setup, patients) == rerun_hashes

    # Two patients: on a server with `$everything` asking each costs less than the question
    # (a search per type), so it is not asked; on us-core (a search per type per patient) it is.
    started = datetime.now(UTC)
    few = (patients[0], patients[3])
    await _run(setup, conn, cpu_pool, patient_ids=few)
    details = _fetch_details(setup, started)
    asked = server.config.profile != "generic"
    assert all(("unchanged" in details[pid]) is asked for pid in few), details


def test_connection_add_keeps_the_panel_group(
    healthprep_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["connection", "add", "--tenant", "Clinic", "--name", "EHR",
           "--base-url", "https://ehr.example.org/fhir", "--auth", "none"]  # fmt: skip
    assert main([*add, "--panel-group", "no id!"]) == 2
    assert "--panel-group takes the Group's FHIR id" in capsys.readouterr().err
    assert main([*add, "--panel-group", "panel-7"]) == 0
    with Store.open() as store:
        (tenant,) = store.tenants()
        row = store.tenant(tenant.id).connections.by_name("EHR")
        assert row is not None
        assert config_from_store(row).panel_group_id == "panel-7"


async def test_a_reused_chart_is_the_one_the_incremental_fetch_gives(
    rerun_setup: Setup, rerun_connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    """Field by field, documents included: what the screening reads must not depend on which
    path the chart took (the sheet would otherwise differ when it is screened again)."""
    setup, conn = rerun_setup, rerun_connection
    first, _ = await _run(setup, conn, cpu_pool)
    patients = sorted(first.sheet_ids)[:4]
    caps = await conn.capabilities()
    db = StoreExecutor()
    try:
        asked = ChartFetcher(conn, db, cpu_pool, 0, None, 60.0, capabilities=caps)
        reusing = ChartFetcher(conn, db, cpu_pool, 0, None, 60.0, capabilities=caps)
        now = datetime.now(UTC)
        reusing.changes = DayChanges(now - timedelta(hours=1), now, frozenset())
        context = RunContext(scope=setup.scope, params={}, options={})
        for pid in patients:
            previous = setup.scope.records.get(setup.connection_id, pid)
            assert previous is not None
            deadline = time.monotonic() + 60
            fetched = await asked.chart(setup.scope, setup.connection_id, pid, previous, deadline)
            reused = await reusing.chart(setup.scope, setup.connection_id, pid, previous, deadline)
            assert reused.fetched.report.strategy == UNCHANGED
            assert fetched.fetched.report.strategy != UNCHANGED
            a, b = fetched.record, reused.record
            assert (a.patient, a.resources, a.source, a.warnings) == (
                b.patient, b.resources, b.source, b.warnings,
            )  # fmt: skip
            a.documents = await asked.documents(context, fetched)
            b.documents = await reusing.documents(context, reused)
            assert a.documents == b.documents
            assert record_hash(a) == record_hash(b) == previous.record_hash
    finally:
        db.shutdown()
