"""BulkExportRepository on real SQLCipher, and the fhir/bulk saver built on it."""

from __future__ import annotations

import pytest

from healthprep_desktop.fhir.bulk import ExportManifest, ExportRequest, FileState, SavedExport
from healthprep_desktop.fhir.bulk_store import StoreExportSaver
from healthprep_desktop.store import Store

MANIFEST = ExportManifest.from_json(
    {
        "transactionTime": "2026-12-01T10:00:00Z",
        "request": "https://ehr.example/fhir/Group/g/$export",
        "requiresAccessToken": True,
        "output": [{"type": "Patient", "url": "https://ehr.example/files/1.ndjson", "count": 2}],
    }
)


def test_repository_finds_the_unfinished_export_of_a_request(store: Store) -> None:
    scope = store.tenant(store.create_tenant("A").id)
    repo = scope.bulk_exports
    first = repo.create(1, '{"g":1}', state="kicked_off", status_url="https://s/1")
    repo.create(2, '{"g":1}', state="kicked_off", status_url="https://s/2")  # other connection
    found = repo.active(1, '{"g":1}')
    assert found is not None and found.id == first and found.status_url == "https://s/1"
    repo.update(first, state="downloaded", downloaded={"u": {"done": True}}, manifest={"a": 1})
    assert repo.active(1, '{"g":1}') is None
    row = repo.get(first)
    assert row is not None and row.downloaded == {"u": {"done": True}} and row.manifest == {"a": 1}
    assert [r.id for r in repo.list(1, state="downloaded")] == [first]
    with pytest.raises(ValueError, match="cannot change"):
        repo.update(first, connection_id=3)
    other = store.tenant(store.create_tenant("B").id).bulk_exports
    assert other.get(first) is None and other.list(1) == []  # tenant-scoped
    assert repo.delete(first) and repo.get(first) is None


def test_store_saver_round_trips_a_saved_export(store: Store) -> None:
    scope = store.tenant(store.create_tenant("A").id)
    saver = StoreExportSaver(scope, 7)
    request = ExportRequest(group_id="g", types=("Patient",))
    saved = saver.save(SavedExport(request, "kicked_off", "https://s/1", folder="/tmp/x"))
    assert saved.id is not None
    saved = saver.save(
        SavedExport(
            request,
            "complete",
            "https://s/1",
            MANIFEST,
            {"https://ehr.example/files/1.ndjson": FileState("0000-Patient.ndjson")},
            "/tmp/x",
            id=saved.id,
        )
    )
    assert saver.active(request) == saved
    assert saver.active(request.with_since("2026-01-01T00:00:00Z")) is None
    assert saver.last_transaction_time(request) is None
    saver.save(SavedExport(request, "downloaded", "https://s/1", MANIFEST, id=saved.id))
    rerun = request.with_since("2026-12-01T10:00:00Z")
    assert saver.last_transaction_time(rerun) == "2026-12-01T10:00:00Z"
    assert saver.active(request) is None
