"""Re-screening one patient from the chart on this computer (after a user's correction): the
entry is honoured, nothing else is touched, and a patient never fetched gets one plain sentence.
Real encrypted store, real engine and renderer."""

from __future__ import annotations

from datetime import date

import pytest

from healthprep_desktop.store import AuditAction, EntryKind, Store
from healthprep_desktop.workers.rescreen_stored import NoStoredChart, rescreen_from_store

DAY = date(2026, 11, 23)
PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"given": ["Rosa"], "family": "Alvarez"}],
    "gender": "female",
    "birthDate": "1960-04-02",
}


def test_an_entry_changes_the_rescreened_sheet() -> None:
    with Store.open() as store:
        scope = store.tenant(store.create_tenant("Main Street Clinic").id)
        with pytest.raises(NoStoredChart, match="prepare the day"):
            rescreen_from_store(store, scope.id, "p1", DAY)
        connection = scope.connections.add(
            "EHR", "generic", "https://ehr.example.org/fhir", config={}
        )
        scope.records.put(
            connection.id,
            "p1",
            fetched_at="2026-11-22T12:00:00+00:00",
            etags={},
            record={"patient": PATIENT, "resources": [], "documents": []},
            record_hash="h",
        )
        first = rescreen_from_store(store, scope.id, "p1", DAY)
        sheet = scope.sheets.get(first.sheet_id)
        assert sheet is not None and sheet.pdf.startswith(b"%PDF")
        results = {r["screening_id"]: r for r in sheet.info.results["results"]}
        colorectal = next(sid for sid in results if "colorectal" in sid)
        assert results[colorectal]["status"] != "complete"
        scope.entries.put(
            "p1", colorectal, EntryKind.DECLINED, entered_by="rn", on_date=date(2026, 11, 1)
        )
        second = rescreen_from_store(store, scope.id, "p1", DAY, ehr_user="Practitioner/1")
        again = scope.sheets.get(second.sheet_id)
        assert again is not None and second.sheet_id != first.sheet_id
        item = next(r for r in again.info.results["results"] if r["screening_id"] == colorectal)
        assert item["status"] == "declined" and item["entry"].startswith("declined")
        assert [e.patient_id for e in scope.audit_entries() if e.action == AuditAction.SCREEN] == [
            "p1",
            "p1",
        ]
