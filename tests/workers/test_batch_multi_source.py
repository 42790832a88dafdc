"""Several FHIR sources in the batch (issue 16), end to end: the demo clinic, a hospital and a
registry served by the real sandbox over loopback HTTP, the real store, the real process pool.

Acceptance: a screening done only at the hospital is Complete with the hospital as its source;
the same fact in two sources counts once; a failing source still yields the sheet, with a
warning; unlinking removes the other source's evidence at the next batch; no false auto-link.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pymupdf
import pytest
from workers_support import CLINIC_DAY

from healthprep_desktop.fhir.session import FhirConnection
from healthprep_desktop.sandbox.clinic.shared_patients import (
    HOSPITAL_ID,
    HOSPITAL_NAME,
    REGISTRY_NAME,
    SharedPatients,
    TruthPair,
)
from healthprep_desktop.sources.matching import match_patient
from healthprep_desktop.sources.merge import SourceFailure
from healthprep_desktop.sources.model import LinkState, Outcome
from healthprep_desktop.sources.normalise import demographics
from healthprep_desktop.sources.quality import SourceIndex
from healthprep_desktop.store import AuditFilter, Store, TenantScope
from healthprep_desktop.workers.batch import BatchJob, BatchSummary
from healthprep_desktop.workers.connections import open_connection
from healthprep_desktop.workers.cpu import CpuPool
from healthprep_desktop.workers.demo import DemoClinic
from healthprep_desktop.workers.job import JobSpec
from healthprep_desktop.workers.multi_source_demo import (
    SharedOrgs,
    ensure_demo_sources,
    sign_in_demo_sources,
)


@dataclass
class Multi:
    store: Store
    scope: TenantScope
    connection_id: int
    source_ids: list[int]
    demo: DemoClinic
    shared: SharedPatients


@pytest.fixture
def multi_demo() -> Iterator[tuple[DemoClinic, SharedOrgs]]:
    orgs = SharedOrgs()
    # Seed 3 gives two clinic patients whose only colonoscopy is at the hospital.
    with DemoClinic(patients=60, seed=3, clinic_day=CLINIC_DAY, extra_orgs=orgs) as demo:
        yield demo, orgs


@pytest.fixture
async def multi(multi_demo: tuple[DemoClinic, SharedOrgs]) -> AsyncIterator[Multi]:
    demo, orgs = multi_demo
    assert orgs.shared is not None
    store = Store.open()
    tenant = store.create_tenant("Test clinic")
    connection_id = demo.ensure_connection(store, tenant.id)
    source_ids = ensure_demo_sources(demo, store, tenant.id)
    await sign_in_demo_sources(demo, store, tenant.id, source_ids)
    try:
        yield Multi(store, store.tenant(tenant.id), connection_id, source_ids, demo, orgs.shared)
    finally:
        store.close()


@pytest.fixture
async def primary(multi: Multi) -> AsyncIterator[FhirConnection]:
    conn = open_connection(multi.store, multi.scope.id, multi.connection_id)
    await multi.demo.login(conn)
    try:
        yield conn
    finally:
        await conn.aclose()


async def _run(m: Multi, conn: FhirConnection, cpu: CpuPool, **spec: Any) -> BatchSummary:
    if "patient_ids" not in spec:
        spec["clinic_date"] = CLINIC_DAY
    job = BatchJob(
        m.store,
        JobSpec(tenant_id=m.scope.id, connection_id=str(m.connection_id), **spec),
        connection=conn,
        connection_id=m.connection_id,
        cpu=cpu,
        tz=m.demo.clinic.time_zone if m.demo.clinic else None,
    )
    summary = await job.run()
    assert summary.failed == 0, summary.failures
    return summary


def _sheet(m: Multi, summary: BatchSummary, pid: str) -> tuple[dict[str, Any], str]:
    sheet = m.scope.sheets.get(summary.sheet_ids[pid])
    assert sheet is not None
    with pymupdf.open(stream=sheet.pdf, filetype="pdf") as doc:
        text = " ".join(page.get_text() for page in doc)
    return sheet.info.results, " ".join(text.split())


def _result(envelope: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(r for r in envelope["results"] if r["screening_id"].startswith(prefix))


def _auto_linkable(m: Multi, pids: list[str]) -> list[str]:
    hospital = next(o for o in m.shared.organizations if o.source_id == HOSPITAL_ID)
    index = SourceIndex(hospital.patients)
    found = []
    for pid in pids:
        patient = next(p for p in m.shared.clinic_patients if p["id"] == pid)
        local = demographics(patient)
        matches = match_patient(local, index.candidates(local), HOSPITAL_ID)
        if any(c.outcome is Outcome.AUTO_LINK for c in matches):
            found.append(pid)
    return found


async def test_hospital_colonoscopy_counts_until_the_patient_is_unlinked(
    multi: Multi, primary: FhirConnection, cpu_pool: CpuPool
) -> None:
    pid = _auto_linkable(multi, sorted(multi.shared.hospital_colonoscopies))[0]
    summary = await _run(multi, primary, cpu_pool, patient_ids=(pid,))
    envelope, text = _sheet(multi, summary, pid)
    colorectal = _result(envelope, "colorectal")
    assert colorectal["status"] == "complete"
    outside = [e for e in colorectal["evidence"] if e["source"] == HOSPITAL_NAME]
    assert outside and outside[0]["reference"].startswith("Procedure/stmarys.")
    assert colorectal["explanation"].endswith(f"\u00b7 {HOSPITAL_NAME}")
    # Every evidence item says where it came from; the sheet names the hospital.
    assert all(e.get("source") for r in envelope["results"] for e in r["evidence"])
    assert HOSPITAL_NAME in text and "St Mary's Hospital (read" in text
    # The link is stored (and is the true one), and audited.
    linked = multi.scope.links.linked(pid)
    hospital_links = [d for d in linked if d.source_id == HOSPITAL_ID]
    assert len(hospital_links) == 1 and hospital_links[0].decided_by == "auto"
    assert TruthPair(HOSPITAL_ID, pid, hospital_links[0].remote_id) in multi.shared.truth
    audited = multi.scope.audit_entries(AuditFilter(patient_id=pid))
    assert any(e.action == "patient_link" and e.detail == "stmarys: linked (auto)" for e in audited)
    assert any(e.action == "fetch" and e.detail.startswith("source stmarys: ") for e in audited)

    # A person says it is not the same patient: the next batch screens without the hospital.
    multi.scope.links.unlink(hospital_links[0], by="tester")
    again = await _run(multi, primary, cpu_pool, patient_ids=(pid,))
    assert again.done == 1 and again.skipped == 0  # the merged chart changed: screened again
    envelope, text = _sheet(multi, again, pid)
    colorectal = _result(envelope, "colorectal")
    assert colorectal["status"] != "complete" and not colorectal["evidence"]
    assert not any(e["source"] == HOSPITAL_NAME for r in envelope["results"] for e in r["evidence"])
    assert multi.scope.links.linked(pid) == [
        d for d in multi.scope.links.linked(pid) if d.source_id != HOSPITAL_ID
    ]
    # ... and it is never proposed again.
    assert all(m.local_id != pid for m in multi.scope.links.waiting() if m.source_id == HOSPITAL_ID)


async def test_the_same_fact_in_two_sources_counts_once(
    multi: Multi, primary: FhirConnection, cpu_pool: CpuPool
) -> None:
    assert multi.demo.clinic is not None and multi.demo.server is not None
    remote_of = {p.clinic_id: p.remote_id for p in multi.shared.truth if p.source_id == HOSPITAL_ID}
    pid, shot = "", None
    for candidate in _auto_linkable(multi, sorted(remote_of)):
        chart = multi.demo.clinic.patient_resources(candidate)
        shot = next((r for r in chart if r["resourceType"] == "Immunization"), None)
        if shot is not None:
            pid = candidate
            break
    assert shot is not None
    # The hospital holds the same immunization (same vaccine, same day) under its own ids.
    twin = copy.deepcopy(shot)
    twin["id"] = "dup-1"
    twin["patient"] = {"reference": f"Patient/{remote_of[pid]}"}
    multi.demo.server.app.orgs[HOSPITAL_ID].store.put(twin)

    summary = await _run(multi, primary, cpu_pool, patient_ids=(pid,))
    envelope, _text = _sheet(multi, summary, pid)
    evidence = [e for r in envelope["results"] for e in r["evidence"]]
    assert not any(e["reference"] == "Immunization/stmarys.dup-1" for e in evidence)
    mine = [e for e in evidence if e["reference"] == f"Immunization/{shot['id']}"]
    assert mine, "the clinic's own immunization is the evidence"
    # (The registry may hold it too: the clinic reports the doses it gives.)
    assert all(e["source"] != HOSPITAL_NAME and HOSPITAL_NAME in e["also_in"] for e in mine)


async def test_a_failing_source_still_yields_the_sheet_with_a_warning(
    multi: Multi, primary: FhirConnection, cpu_pool: CpuPool
) -> None:
    registry = multi.scope.connections.by_name(REGISTRY_NAME)
    assert registry is not None
    # Nothing listens there (and the changed address clears the registry's sign-in).
    multi.scope.connections.update(registry.id, base_url="http://127.0.0.1:9/fhir")
    pid = sorted(p.clinic_id for p in multi.shared.truth if p.source_id == "iis")[0]
    summary = await _run(multi, primary, cpu_pool, patient_ids=(pid,))
    assert summary.done == 1
    envelope, text = _sheet(multi, summary, pid)
    warning = f"{REGISTRY_NAME} unavailable: immunizations may be incomplete."
    assert warning in envelope["warnings"]
    assert f"{REGISTRY_NAME} unavailable" in text
    assert any("failed" in n for n in summary.notices)


async def test_a_source_whose_settings_cannot_be_used_is_named_not_fatal(
    multi: Multi, primary: FhirConnection, cpu_pool: CpuPool
) -> None:
    hospital = multi.scope.connections.by_name(HOSPITAL_NAME)
    assert hospital is not None
    multi.scope.connections.update(
        hospital.id, config={**hospital.config, "auth_method": "no-such-method"}
    )
    pid = sorted(multi.shared.hospital_colonoscopies)[0]
    summary = await _run(multi, primary, cpu_pool, patient_ids=(pid,))
    envelope, _text = _sheet(multi, summary, pid)
    warning = f"{HOSPITAL_NAME} unavailable: outside records may be incomplete."
    assert warning in envelope["warnings"]
    assert any(n.startswith(f"{HOSPITAL_NAME} was not read") for n in summary.notices)
    assert _result(envelope, "colorectal")["status"] != "complete"


async def test_the_clinic_day_links_only_true_pairs(
    multi: Multi, primary: FhirConnection, cpu_pool: CpuPool
) -> None:
    summary = await _run(multi, primary, cpu_pool)
    assert summary.done == summary.total > 10
    decisions = multi.scope.links.current()
    autos = {
        TruthPair(d.source_id, d.local_id, d.remote_id)
        for d in decisions
        if d.decided_by == "auto" and d.state is LinkState.LINKED
    }
    assert autos, "the day's patients are found in the other sources"
    assert autos <= multi.shared.truth  # no false auto-link
    assert not autos & multi.shared.lookalikes
    sources = {d.source_id for d in decisions}
    assert sources == {"stmarys", "iis"}
    # Registry immunizations reach the sheets, named as the registry's.
    evidence = [
        e
        for pid in summary.sheet_ids
        for r in _sheet(multi, summary, pid)[0]["results"]
        for e in r["evidence"]
    ]
    assert REGISTRY_NAME in {e["source"] for e in evidence}
    # The doses the clinic reported come back from the registry: each counts once, as the
    # clinic's, with the registry named as also holding it.
    reported = [e for e in evidence if REGISTRY_NAME in e.get("also_in", ())]
    assert reported and all(e["source"] != REGISTRY_NAME for e in reported)
    assert not any(
        "-r" in e["reference"] and e["reference"].startswith("Immunization/iis.") for e in evidence
    )


async def test_an_offline_rescreen_keeps_the_hospitals_evidence(
    multi: Multi, primary: FhirConnection, cpu_pool: CpuPool
) -> None:
    """A correction re-screens from the stored charts: the hospital's chart is stored too, so
    the colonoscopy done there still counts (and a later unlink drops it offline as well)."""
    from healthprep_desktop.workers.rescreen_stored import rescreen_from_store

    pid = _auto_linkable(multi, sorted(multi.shared.hospital_colonoscopies))[0]
    summary = await _run(multi, primary, cpu_pool, patient_ids=(pid,))
    assert _result(_sheet(multi, summary, pid)[0], "colorectal")["status"] == "complete"
    (link,) = [d for d in multi.scope.links.linked(pid) if d.source_id == HOSPITAL_ID]
    hospital_connection = multi.scope.connections.by_name(HOSPITAL_NAME)
    assert hospital_connection is not None
    assert multi.scope.records.get(hospital_connection.id, link.remote_id) is not None

    again = rescreen_from_store(multi.store, multi.scope.id, pid, CLINIC_DAY)
    sheet = multi.scope.sheets.get(again.sheet_id)
    assert sheet is not None
    colorectal = _result(sheet.info.results, "colorectal")
    assert colorectal["status"] == "complete"
    assert any(e["source"] == HOSPITAL_NAME for e in colorectal["evidence"])

    multi.scope.links.unlink(link, by="tester")
    unlinked = rescreen_from_store(multi.store, multi.scope.id, pid, CLINIC_DAY)
    sheet = multi.scope.sheets.get(unlinked.sheet_id)
    assert sheet is not None
    assert _result(sheet.info.results, "colorectal")["status"] != "complete"


@pytest.mark.parametrize("profile", ["oracle-like", "us-core", "epic-like"])
async def test_matching_finds_the_patient_on_strict_servers(multi: Multi, profile: str) -> None:
    """Servers that refuse a birth date alone (and phone, or family+given) still find the
    patient: the birth date goes with a name part (US Core birthdate+name, Epic
    name+birthdate), and a refused shape is remembered, not asked again."""
    from healthprep_desktop.workers.batch_sources import SourceReader, open_secondary_sources
    from healthprep_desktop.workers.db import StoreExecutor

    assert multi.demo.server is not None
    opened, _skipped = open_secondary_sources(multi.store, multi.scope.id, multi.connection_id)
    hospital = next(s for s in opened if s.source.id == HOSPITAL_ID)
    truth = {p.clinic_id: p.remote_id for p in multi.shared.truth if p.source_id == HOSPITAL_ID}
    clinic = {p["id"]: demographics(p) for p in multi.shared.clinic_patients}
    linkable = [pid for pid in _auto_linkable(multi, sorted(truth)) if clinic[pid].phones]
    db = StoreExecutor()
    reader = SourceReader([hospital], db, "Clinic")
    multi.demo.server.config.profile = profile
    try:
        for pid in linkable[:3]:
            found = await reader._candidates(hospital, clinic[pid], set())
            autos = [c.remote_id for c in found if c.outcome is Outcome.AUTO_LINK]
            assert autos == [truth[pid]], (profile, pid)
        # The shapes this server refuses, asked directly: remembered after the first 400.
        local = clinic[linkable[0]]
        assert local.birth_date is not None
        strays = [{"birthdate": local.birth_date.isoformat()}, {"phone": sorted(local.phones)[0]}]
        await reader._search(hospital, strays)
        before = hospital.connection.client.stats.requests
        await reader._search(hospital, strays)
        again = hospital.connection.client.stats.requests - before
    finally:
        multi.demo.server.config.profile = "generic"
        db.shutdown()
        for source in opened:
            await source.connection.aclose()
    assert frozenset({"birthdate"}) in hospital.refused
    assert again == 2 - len(hospital.refused & {frozenset({"birthdate"}), frozenset({"phone"})})


async def test_a_registry_is_asked_for_immunizations_only(multi: Multi) -> None:
    """On a server without $everything (US Core-like), a registry chart costs the Patient read
    and one Immunization search, not a search per clinical type."""
    from healthprep_desktop.sandbox.clinic.shared_patients import REGISTRY_ID
    from healthprep_desktop.workers.batch_sources import SourceReader, open_secondary_sources
    from healthprep_desktop.workers.db import StoreExecutor

    assert multi.demo.server is not None
    opened, _skipped = open_secondary_sources(multi.store, multi.scope.id, multi.connection_id)
    registry = next(s for s in opened if s.source.id == REGISTRY_ID)
    truth = {p.clinic_id: p.remote_id for p in multi.shared.truth if p.source_id == REGISTRY_ID}
    held = next(o for o in multi.shared.organizations if o.source_id == REGISTRY_ID)
    index = SourceIndex(held.patients)
    clinic_people = {p["id"]: demographics(p) for p in multi.shared.clinic_patients}
    pid = next(
        pid
        for pid in sorted(truth)
        if any(
            c.outcome is Outcome.AUTO_LINK and c.remote_id == truth[pid]
            for c in match_patient(
                clinic_people[pid], index.candidates(clinic_people[pid]), REGISTRY_ID
            )
        )
        and any(r["patient"]["reference"].endswith(truth[pid]) for r in held.resources)
    )
    db = StoreExecutor()
    reader = SourceReader([registry], db, "Clinic")
    multi.demo.server.config.profile = "us-core"
    try:
        await registry.capabilities()  # read once per job, not per chart
        before = registry.connection.client.stats.requests
        found = await reader._one(
            multi.scope, registry, clinic_people[pid], pid, [], time.monotonic() + 60
        )
        asked = registry.connection.client.stats.requests - before
    finally:
        multi.demo.server.config.profile = "generic"
        db.shutdown()
        for source in opened:
            await source.connection.aclose()
    assert found is not None and not isinstance(found, SourceFailure)
    assert found.patient_id == truth[pid]
    assert found.resources and {r["resourceType"] for r in found.resources} == {"Immunization"}
    # Matching searches (identifier/birth date first, the rest only without an auto-link) plus
    # the chart: the Patient and its Immunizations.
    assert asked <= 5, asked
