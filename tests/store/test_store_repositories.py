"""Behaviour of the tenant repositories the pipeline, sheet viewer and write-back rely on."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from healthprep_desktop.screening.record import TextMethod
from healthprep_desktop.store import (
    AuditAction,
    AuditEvent,
    DuplicateKeyError,
    JobState,
    LedgerState,
    PatientState,
    RecordNotFoundError,
    Store,
    TenantNotFoundError,
    TenantScope,
)

DAY = date(2025, 2, 3)


@pytest.fixture
def clinic(store: Store) -> TenantScope:
    return store.tenant(store.create_tenant("Main Street").id)


def test_unknown_tenant(store: Store) -> None:
    with pytest.raises(TenantNotFoundError):
        store.tenant("nope")


def test_connections(clinic: TenantScope) -> None:
    b = clinic.connections.add("Sandbox", "sandbox", "http://127.0.0.1/fhir", priority=200)
    a = clinic.connections.add("Epic", "epic", "https://ehr/fhir", config={"scopes": ["a"]})
    assert [c.name for c in clinic.connections.all()] == ["Epic", "Sandbox"]  # by priority
    updated = clinic.connections.update(b.id, enabled=False, config={"port": 8765})
    assert updated is not None and not updated.enabled and updated.config == {"port": 8765}
    assert [c.id for c in clinic.connections.all(enabled_only=True)] == [a.id]
    clinic.secrets.put(a.id, "client_secret", "s1")
    clinic.secrets.put(a.id, "refresh_token", "r1")
    clinic.secrets.put(a.id, "refresh_token", "r2")
    assert clinic.secrets.names(a.id) == ["client_secret", "refresh_token"]
    assert clinic.secrets.get(a.id, "refresh_token") == "r2"
    assert clinic.connections.remove(a.id)
    assert clinic.secrets.names(a.id) == []  # cascaded
    with pytest.raises(RecordNotFoundError):
        clinic.secrets.put(a.id, "refresh_token", "r3")


def test_job_lifecycle(clinic: TenantScope) -> None:
    job = clinic.jobs.create(DAY, params={"concurrency": 4}, patient_ids=["p2", "p1", "p3"])
    assert job.state is JobState.PENDING and job.clinic_day == DAY
    assert [p.patient_id for p in clinic.jobs.patients(job.id)] == ["p2", "p1", "p3"]
    clinic.jobs.add_patients(job.id, ["p1", "p4"])  # p1 already there: kept, not duplicated
    assert [p.patient_id for p in clinic.jobs.patients(job.id)] == ["p2", "p1", "p3", "p4"]
    clinic.jobs.set_state(job.id, JobState.RUNNING)
    clinic.jobs.start_patient(job.id, "p1")
    failed = clinic.jobs.finish_patient(job.id, "p1", PatientState.FAILED, reason="HTTP 503")
    assert (failed.state, failed.reason, failed.attempts) == (PatientState.FAILED, "HTTP 503", 1)
    clinic.jobs.start_patient(job.id, "p1")
    done = clinic.jobs.finish_patient(
        job.id, "p1", PatientState.DONE, hashes={"record": "ab", "sheet": "cd"}
    )
    assert (done.state, done.reason, done.attempts) == (PatientState.DONE, None, 2)
    assert done.hashes == {"record": "ab", "sheet": "cd"}
    counts = clinic.jobs.counts(job.id)
    assert counts[PatientState.DONE] == 1 and counts[PatientState.PENDING] == 3
    assert [p.patient_id for p in clinic.jobs.patients(job.id, state=PatientState.PENDING)] == [
        "p2",
        "p3",
        "p4",
    ]
    with pytest.raises(RecordNotFoundError):
        clinic.jobs.start_patient(job.id, "p9")
    later = clinic.jobs.create(DAY)
    assert [j.id for j in clinic.jobs.all(clinic_day=DAY)] == [later.id, job.id]
    assert clinic.jobs.delete(job.id)
    assert clinic.jobs.patients(job.id) == []


def test_sheets(clinic: TenantScope) -> None:
    first = clinic.sheets.save("p1", DAY, b"%PDF-1", [{"screening_id": "x"}], job_id=None)
    second = clinic.sheets.save("p1", DAY, b"%PDF-2", [{"screening_id": "y"}])
    latest = clinic.sheets.latest("p1", DAY)
    assert latest is not None and latest.pdf == b"%PDF-2" and latest.info == second
    assert [s.id for s in clinic.sheets.all(clinic_day=DAY)] == [first.id, second.id]
    assert clinic.sheets.latest("p1", date(2025, 2, 4)) is None
    got = clinic.sheets.get(first.id)
    assert got is not None and got.info.results == [{"screening_id": "x"}]


def test_text_cache_satisfies_the_protocol(clinic: TenantScope) -> None:
    cache = clinic.text_cache
    assert cache.get("abc") is None
    cache.put("abc", "Colonoscopy report", TextMethod.OCR)
    assert cache.get("abc") == "Colonoscopy report"
    assert cache.get_method("abc") == "ocr"
    cache.put("abc", "Colonoscopy report (text layer)", TextMethod.TEXT_LAYER)
    assert cache.get("abc") == "Colonoscopy report (text layer)"
    assert cache.get_method("abc") == "text-layer"


def test_document_reader_uses_the_cache(clinic: TenantScope) -> None:
    documents = pytest.importorskip("healthprep_desktop.screening.documents")
    data = b"FIT test negative."
    first = documents.extract_text(
        "DocumentReference/1", "Lab", DAY, "text/plain", data, cache=clinic.text_cache
    )
    assert clinic.text_cache.get(first.content_hash) == first.text
    # A second read is served from the cache: change the cached text to prove it.
    clinic.text_cache.put(first.content_hash, "cached copy", first.method)
    again = documents.extract_text(
        "DocumentReference/1", "Lab", DAY, "text/plain", data, cache=clinic.text_cache
    )
    assert again.text == "cached copy" and again.method == first.method


def test_writeback_ledger(clinic: TenantScope) -> None:
    claim = clinic.ledger.claim("job1:p1", "p1")
    assert claim.state is LedgerState.PENDING and claim.resource_id is None
    with pytest.raises(DuplicateKeyError):
        clinic.ledger.claim("job1:p1", "p1")
    posted = clinic.ledger.complete("job1:p1", "DocumentReference/9")
    assert (posted.state, posted.resource_id) == (LedgerState.POSTED, "DocumentReference/9")
    assert not clinic.ledger.release("job1:p1")  # posted entries stay
    clinic.ledger.claim("job1:p2", "p2")
    assert clinic.ledger.release("job1:p2")
    assert clinic.ledger.get("job1:p2") is None
    with pytest.raises(RecordNotFoundError):
        clinic.ledger.complete("never-claimed", "DocumentReference/1")


def test_dismissals(clinic: TenantScope) -> None:
    first = clinic.dismissals.dismiss(
        "p1", "colorectal", "DocumentReference/7", reason="wrong patient", dismissed_by="nurse.a"
    )
    again = clinic.dismissals.dismiss(
        "p1", "colorectal", "DocumentReference/7", reason="old scan", dismissed_by="dr.b"
    )
    assert again.id == first.id and (again.reason, again.dismissed_by) == ("old scan", "dr.b")
    clinic.dismissals.dismiss(
        "p1", "colorectal", "DocumentReference/8", reason="x", dismissed_by="u"
    )
    assert clinic.dismissals.dismissed_references("p1", "colorectal") == {
        "DocumentReference/7",
        "DocumentReference/8",
    }
    assert clinic.dismissals.undo(first.id)
    assert clinic.dismissals.dismissed_references("p1", "colorectal") == {"DocumentReference/8"}


def test_store_is_safe_from_many_threads(store: Store, clinic: TenantScope) -> None:
    errors: list[BaseException] = []
    job = clinic.jobs.create(DAY, patient_ids=[f"p{i}" for i in range(80)])

    def worker(n: int) -> None:
        try:
            for i in range(10):
                patient = f"p{n * 10 + i}"
                clinic.jobs.start_patient(job.id, patient)
                clinic.text_cache.put(f"h{n}-{i}", "text", "plain")
                clinic.sheets.save(patient, DAY, b"%PDF", [])
                clinic.jobs.finish_patient(job.id, patient, PatientState.DONE)
                store.audit.append(AuditEvent(AuditAction.GENERATE_SHEET, patient_id=patient))
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert clinic.jobs.counts(job.id)[PatientState.DONE] == 80
    assert len(clinic.text_cache) == 80 and len(clinic.sheets.all()) == 80
    result = store.audit.verify()
    assert result.ok and result.entries == 81  # 80 sheets + the tenant's creation


def test_nested_failure_undoes_only_itself(store: Store, clinic: TenantScope) -> None:
    with store.transaction():
        clinic.ledger.claim("k1", "p1")
        # The inner transaction fails after a write (the job is not ours) and the caller
        # carries on: only the inner write is undone.
        with pytest.raises(RecordNotFoundError), store.transaction():
            clinic.ledger.claim("k2", "p1")
            clinic.jobs.add_patients(999_999, ["p1"])
    assert clinic.ledger.get("k1") is not None
    assert clinic.ledger.get("k2") is None
