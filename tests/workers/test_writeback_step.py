"""Write-back is its own step after the sheet is stored: a refused post or a sign-in without
permission to file documents never costs the prepared sheet, and every audit entry the batch
writes for a fetch, screen or write-back names the EHR user. Real sandbox, store and pool."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from workers_support import CLINIC_DAY, Setup

from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.fhir.store_adapters import StoreTokenStore, config_for_store
from healthprep_desktop.store import AuditAction, AuditFilter
from healthprep_desktop.store import PatientState as Stored
from healthprep_desktop.workers.batch import BatchJob
from healthprep_desktop.workers.connections import connection_config, open_connection
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.demo import DemoClinic
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.writeback_step import (
    NO_SCOPE_REASON,
    REFUSED_REASON,
    WRITEBACK_KEY,
    scope_allows_write,
)

WRITE = "user/DocumentReference.write"


def _spec(setup: Setup, pids: list[str]) -> JobSpec:
    return JobSpec(
        tenant_id=setup.scope.id,
        connection_id=str(setup.connection_id),
        patient_ids=tuple(pids),
        as_of=CLINIC_DAY,
        write_back=True,
    )


def _job(setup: Setup, conn: FhirConnection, cpu: CpuPool, pids: list[str]) -> BatchJob:
    return BatchJob(
        setup.store,
        _spec(setup, pids),
        connection=conn,
        connection_id=setup.connection_id,
        cpu=cpu,
        tz=setup.demo.clinic.time_zone,
    )


def _posted(demo: DemoClinic) -> Counter[str]:
    assert demo.server is not None
    out: Counter[str] = Counter()
    for stored in demo.server.org().store.all_of("DocumentReference"):
        doc = stored.json()
        if "prep sheet" in json.dumps(doc).lower():
            out[doc["subject"]["reference"].split("/")[-1]] += 1
    return out


@pytest.fixture
async def read_only(setup: Setup) -> AsyncIterator[FhirConnection]:
    """A sign-in granted reading only (no DocumentReference write)."""
    config = connection_config(setup.store, setup.scope.id, setup.connection_id)
    narrowed = dataclasses.replace(config, scopes=tuple(s for s in config.scopes if s != WRITE))
    setup.scope.connections.update(setup.connection_id, config=config_for_store(narrowed))
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id)
    tokens = await setup.demo.login(conn)
    assert tokens.scope and not scope_allows_write(tokens.scope)
    try:
        yield conn
    finally:
        await conn.aclose()


def test_the_write_scope_is_read_from_v1_and_v2_grants() -> None:
    assert scope_allows_write("openid user/DocumentReference.write")
    assert scope_allows_write("system/*.*")
    assert scope_allows_write("user/DocumentReference.cruds")
    assert scope_allows_write("patient/DocumentReference.c")
    assert not scope_allows_write("user/DocumentReference.read user/*.rs")
    assert not scope_allows_write("user/Observation.write launch")


async def test_the_sheet_is_stored_before_it_is_posted_and_entries_name_the_ehr_user(
    setup: Setup, connection: FhirConnection, cpu_pool: CpuPool
) -> None:
    pids = setup.demo.clinic.patient_ids()[:4]
    summary = await _job(setup, connection, cpu_pool, pids).run()
    assert summary.failed == 0 and summary.written_back == len(pids)
    assert _posted(setup.demo) == dict.fromkeys(pids, 1)
    entries = setup.scope.audit_entries(AuditFilter())
    for pid in pids:
        mine = [e for e in entries if e.patient_id == pid]
        actions = [e.action for e in mine]
        stored = actions.index(AuditAction.GENERATE_SHEET.value)
        posted = actions.index(AuditAction.WRITE_BACK.value)
        assert stored < posted, actions
        sheet = setup.scope.sheets.info(summary.sheet_ids[pid])
        assert sheet is not None
        mark = sheet.results[WRITEBACK_KEY]
        assert mark["state"] == "posted" and mark["document"]
    used_token = {
        AuditAction.FETCH.value,
        AuditAction.SCREEN.value,
        AuditAction.WRITE_BACK.value,
        AuditAction.GENERATE_SHEET.value,
    }
    batch_entries = [e for e in entries if e.action in used_token]
    assert len(batch_entries) >= 4 * len(pids)
    users = {e.ehr_user for e in batch_entries}
    assert None not in users and len(users) == 1, users


async def test_a_sign_in_without_write_permission_stores_every_sheet_and_posts_none(
    setup: Setup, read_only: FhirConnection, cpu_pool: CpuPool
) -> None:
    pids = setup.demo.clinic.patient_ids()[:4]
    summary = await _job(setup, read_only, cpu_pool, pids).run()
    assert summary.failed == 0 and summary.done == len(pids)
    (notice,) = summary.notices
    assert "new sign-in" in notice and notice.count(". ") == 0
    assert not _posted(setup.demo)
    assert set(summary.not_posted) == set(pids)
    for pid in pids:
        sheet = setup.scope.sheets.info(summary.sheet_ids[pid])
        assert sheet is not None
        assert sheet.results[WRITEBACK_KEY]["note"] == f"not posted: {NO_SCOPE_REASON}"
    states = {p.state for p in setup.scope.jobs.patients(summary.job_id)}
    assert states == {Stored.DONE}


async def test_a_refused_post_never_discards_the_sheet(
    setup: Setup, read_only: FhirConnection, cpu_pool: CpuPool
) -> None:
    # The stored grant claims write permission the server does not honour: every post is
    # answered 403, as an EHR does when the user's role may not file notes.
    store_tokens = StoreTokenStore(setup.store)
    name = read_only.config.name
    tokens = store_tokens.load(setup.scope.id, name)
    assert tokens is not None
    claimed = dataclasses.replace(tokens, scope=f"{tokens.scope} {WRITE}")
    store_tokens.save(setup.scope.id, name, claimed)
    conn = open_connection(setup.store, setup.scope.id, setup.connection_id)
    try:
        pids = setup.demo.clinic.patient_ids()[:3]
        summary = await _job(setup, conn, cpu_pool, pids).run()
    finally:
        await conn.aclose()
    assert summary.failed == 0 and summary.done == len(pids) and not summary.notices
    assert not _posted(setup.demo)
    assert summary.not_posted == dict.fromkeys(pids, REFUSED_REASON)
    for pid in pids:
        sheet = setup.scope.sheets.latest(pid, CLINIC_DAY)
        assert sheet is not None and sheet.pdf.startswith(b"%PDF")
        assert sheet.info.results[WRITEBACK_KEY]["state"] == "not_posted"
    refused = [
        e
        for e in setup.scope.audit_entries(AuditFilter())
        if e.action == AuditAction.WRITE_BACK.value
    ]
    assert len(refused) == len(pids) and all(e.outcome == "failure" for e in refused)
    assert all(e.ehr_user for e in refused)
